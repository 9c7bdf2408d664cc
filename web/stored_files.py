"""Answering with a stored file: its bytes streamed from the store, or with MEDIA_REDIRECT a presigned redirect."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request
from werkzeug.wsgi import wrap_file

from core.settings import Settings
from media.storage import BadKey, ObjectMissing, Store, StoreUnavailable, store_for

# A presigned link lives this long: enough to follow the redirect, too short to pass around.
REDIRECT_SECONDS = 300


def send_stored(
    store: Store,
    key: str,
    *,
    mimetype: str,
    redirect_allowed: bool,
    max_age: int,
    download_name: str | None = None,
) -> Any:
    """The object at `key` (checked by the caller: signed token, database row), or 404 when it is gone.

    With `redirect_allowed` and a store that can presign (S3), a 302 to a short-lived URL of the object
    with the same type (and `attachment` with `download_name`); the redirect itself is never cached.
    """
    if redirect_allowed:
        try:
            url = store.presigned_url(key, REDIRECT_SECONDS, content_type=mimetype, download_name=download_name)
        except BadKey:
            abort(404)
        if url is not None:
            response = redirect(url, code=302)
            response.headers["Cache-Control"] = "no-store"
            return response
    try:
        found = store.open(key)
    except (ObjectMissing, BadKey):
        abort(404)
    response = current_app.response_class(
        wrap_file(request.environ, found.stream), mimetype=mimetype, direct_passthrough=True
    )
    response.content_length = found.info.size
    response.last_modified = found.info.modified
    if found.info.etag:
        response.set_etag(found.info.etag)
    if download_name is not None:
        response.headers.set("Content-Disposition", "attachment", filename=download_name)
    response.headers["Cache-Control"] = f"private, max-age={max_age}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request.environ, accept_ranges=True, complete_length=found.info.size)


def redirect_origin(settings: Settings) -> str | None:
    """The origin presigned redirects point at (pages must allow images from it), or None without MEDIA_REDIRECT."""
    if not settings.media_redirect:
        return None
    try:
        url = store_for(settings).presigned_url("origin", REDIRECT_SECONDS)  # made locally: no request is sent
    except StoreUnavailable:  # no credentials yet: /media will answer 503 until there are
        return None
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

"""How big a request body may be: 1 MB unless a route says otherwise, checked before the body is read.

Every route takes at most JSON_MAX_BYTES; a route that takes files declares its own, larger limit with
`@body_limit(uploads_limit(n))` (n files of at most MAX_UPLOAD_BYTES each, and room for the form's
fields). A request that declares a longer body is answered 413 before a byte of it is read; one that
does not declare its length (chunked) is cut off with 413 once it passes the limit (werkzeug counts
what it reads against `request.max_content_length`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request

from media.imaging import MAX_UPLOAD_BYTES

JSON_MAX_BYTES = 1024 * 1024
# A multipart form's fields and its parts' headers, besides the files themselves.
FORM_ROOM_BYTES = 256 * 1024
ATTRIBUTE = "gongzhi_max_body_bytes"

F = TypeVar("F", bound=Callable[..., Any])


def uploads_limit(files: int, per_file: int = MAX_UPLOAD_BYTES) -> int:
    """The body limit of a form with up to `files` files of `per_file` bytes each."""
    return files * per_file + FORM_ROOM_BYTES


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """Let this route take bodies of up to `max_bytes` (put it right under the route decorator)."""

    def mark(view: F) -> F:
        setattr(view, ATTRIBUTE, max_bytes)
        return view

    return mark


def limit_for(endpoint: str | None) -> int:
    view = current_app.view_functions.get(endpoint or "")
    return int(getattr(view, ATTRIBUTE, JSON_MAX_BYTES))


def init_app(app: Flask) -> None:
    # The default for anything that reads a body outside a request's route (and for werkzeug's own
    # checks); each request is given its route's limit below.
    app.config["MAX_CONTENT_LENGTH"] = JSON_MAX_BYTES

    @app.before_request
    def _limit_body() -> None:
        limit = limit_for(request.endpoint)
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            megabytes = max(1, limit // (1024 * 1024))
            abort(413, description=f"请求内容太大：此处最多 {megabytes} MB")

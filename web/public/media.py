"""Processed photos in the store, served by signed, expiring URLs: /media/<token>, ready photos only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort
from itsdangerous import BadSignature
from sqlalchemy import or_, select

from core.glossary import PhotoStatus
from core.media_urls import URL_MAX_AGE_SECONDS
from core.media_urls import serializer as _serializer
from core.models import Photo
from web.context import current_context, current_store, db_session
from web.stored_files import send_stored

blueprint = Blueprint("media", __name__)

TOKEN_MAX = 512


@blueprint.get("/media/<token>")
def photo(token: str) -> Any:
    """The file a signed token names, if it is a ready photo or thumbnail; never an upload."""
    settings = current_context().settings
    if len(token) > TOKEN_MAX:
        abort(404)
    try:
        path = _serializer(settings).loads(token, max_age=URL_MAX_AGE_SECONDS)
    except BadSignature:  # includes an expired signature
        abort(404)
    if not isinstance(path, str) or not path:
        abort(404)
    # Only paths the photo job wrote for a ready photo: an upload still carries its EXIF.
    ready = db_session().scalar(
        select(Photo.id).where(or_(Photo.path == path, Photo.thumb_path == path), Photo.status == PhotoStatus.READY)
    )
    if ready is None:
        abort(404)
    return send_stored(
        current_store(),
        path,
        mimetype="image/jpeg",
        redirect_allowed=settings.media_redirect,
        max_age=URL_MAX_AGE_SECONDS,
    )

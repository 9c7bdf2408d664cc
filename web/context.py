"""The one way a web view reaches this app's AppContext, and its request-scoped database session."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from core.context import AppContext
from media.storage import Store, store_for


def current_context() -> AppContext:
    """The AppContext the app factory stored on the app serving this request (or CLI command)."""
    return current_app.extensions["gongzhi"]


def db_session() -> Session:
    """The request's session, closed when the request ends (reads; writes use a unit of work)."""
    if "db_session" not in g:
        g.db_session = current_context().database.session()
    return g.db_session


def current_store() -> Store:
    """Where this app keeps files (STORAGE_URL, else MEDIA_DIR): uploads, photos, grant files."""
    return store_for(current_context().settings)

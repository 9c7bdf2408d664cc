"""Access to this app's AppContext and a request-scoped database session."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from core.context import AppContext


def app_context() -> AppContext:
    return current_app.extensions["gongzhi"]


def db_session() -> Session:
    """The request's session, closed when the request ends (reads; writes use a unit of work)."""
    if "db_session" not in g:
        g.db_session = app_context().database.session()
    return g.db_session

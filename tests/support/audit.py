"""Reading the access log back in tests: the entries written, oldest first, optionally of one action."""

from __future__ import annotations

from sqlalchemy import select

from core.models import AccessLogEntry

ADDRESS = "10.20.30.40"  # the client address the audit tests send from


def from_address(client, address: str = ADDRESS):
    """`client` with every later request coming from `address` (REMOTE_ADDR, as the app sees it)."""
    client.environ_base["REMOTE_ADDR"] = address
    return client


def entries(app, action: str | None = None) -> list[AccessLogEntry]:
    """Every entry of the access log (of `action` if given), oldest first, as the database holds them."""
    with app.extensions["gongzhi"].database.session() as s:
        query = select(AccessLogEntry).order_by(AccessLogEntry.id)
        if action is not None:
            query = query.where(AccessLogEntry.action == action)
        return list(s.scalars(query))


def last(app, action: str) -> AccessLogEntry:
    """The newest entry of `action`; fails the test if there is none."""
    found = entries(app, action)
    assert found, f"no {action} entry in the access log"
    return found[-1]

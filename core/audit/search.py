"""Searching the access log for the auditor's page (审计日志): filters, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.audit.log import RESULTS
from core.errors import InvalidInput
from core.models import AccessLogEntry

PER_PAGE = 50
# Far past any log kept 180 days of a district's staff; beyond it a page number is refused, not run.
MAX_PAGE = 10_000


@dataclass(frozen=True)
class AuditQuery:
    """What the auditor asked for; every filter optional, each matched exactly (address: its start)."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    result: str | None = None
    address: str | None = None
    page: int = 1

    def filters(self) -> dict[str, str]:
        """The filters set, by name, for the page's links and the search's own entry."""
        named = {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "actor": self.actor,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "result": self.result,
            "address": self.address,
        }
        return {name: value for name, value in named.items() if value}


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first, and whether there are older ones."""

    entries: list[AccessLogEntry]
    page: int
    has_more: bool


def _where(query: AuditQuery) -> Select[tuple[AccessLogEntry]]:
    stmt = select(AccessLogEntry)
    if query.since is not None:
        stmt = stmt.where(AccessLogEntry.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AccessLogEntry.at < query.until)
    if query.actor:
        stmt = stmt.where(AccessLogEntry.actor_name == query.actor)
    if query.action:
        stmt = stmt.where(AccessLogEntry.action == query.action)
    if query.target_type:
        stmt = stmt.where(AccessLogEntry.target_type == query.target_type)
    if query.target_id:
        stmt = stmt.where(AccessLogEntry.target_id == query.target_id)
    if query.result:
        stmt = stmt.where(AccessLogEntry.result == query.result)
    if query.address:
        stmt = stmt.where(AccessLogEntry.address.startswith(query.address, autoescape=True))
    return stmt


def search(session: Session, query: AuditQuery) -> AuditPage:
    """The entries matching `query`, newest first, PER_PAGE at a time.

    Every value is bound as a parameter (the text of a filter never becomes SQL); a result
    outside ok/denied/failed or a page outside 1..MAX_PAGE is InvalidInput.
    """
    if query.result and query.result not in RESULTS:
        raise InvalidInput(f"结果只能是 {'、'.join(RESULTS)}")
    if not 1 <= query.page <= MAX_PAGE:
        raise InvalidInput(f"页码应在 1 到 {MAX_PAGE} 之间")
    if query.since and query.until and query.since >= query.until:
        raise InvalidInput("开始时间应早于结束时间")
    stmt = _where(query).order_by(AccessLogEntry.id.desc())
    rows = list(session.scalars(stmt.offset((query.page - 1) * PER_PAGE).limit(PER_PAGE + 1)))
    return AuditPage(entries=rows[:PER_PAGE], page=query.page, has_more=len(rows) > PER_PAGE)

"""Erasure (PIPL art. 47): a resident's identities and personal data go; their cases stay on record, anonymous."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from core.audit import Actor, record
from core.errors import NotFound
from core.models import (
    Case,
    GrantApplication,
    Notification,
    PrivacyConsent,
    ReportDraft,
    Resident,
    SubscribeConsent,
    case_followers,
)
from core.models.base import utcnow
from core.privacy.anonymise import FINISHED, anonymise_case

ERASED_NAME = "（已注销）"


# The resident's own rows, which go whole: one column per table naming the resident. A table of the
# resident's own rows added later is one more line here.
DROPPED: tuple[ColumnElement[Any], ...] = (
    case_followers.c.resident_id,
    SubscribeConsent.__table__.c.resident_id,
    ReportDraft.__table__.c.resident_id,
    # Their privacy-notice agreements: the record of consent is theirs, and nobody is left to hold to it.
    PrivacyConsent.__table__.c.resident_id,
)


@dataclass(frozen=True)
class Erasure:
    """What an erasure did, in counts (the access log keeps these, never the data)."""

    resident_id: int
    cases: int
    rows_dropped: int
    grant_applications: int
    files: int

    def counts(self) -> dict[str, int]:
        return {
            "cases": self.cases,
            "rows_dropped": self.rows_dropped,
            "grant_applications": self.grant_applications,
            "files": self.files,
        }


def erase_resident(session: Session, resident_id: int, *, now: datetime | None = None) -> Erasure:
    """Erase resident `resident_id` in the caller's transaction, and record it in the access log.

    Openids, unionid, phone, nickname and positions are cleared; follows, subscribe consents, privacy
    consents and the draft are dropped; the texts of what they were told are removed; their cases are detached and
    anonymised (core/privacy/anonymise.py; an open case keeps its place until it is finished); their
    grant applications no longer name them. The row stays, empty and stamped `erased_at`, so history
    pointing at it stays whole and identifies no one. The same WeChat user signing in afterwards is a
    new resident. Raises NotFound for a resident already erased (or none).
    """
    now = now or utcnow()
    resident = session.scalar(
        select(Resident).where(Resident.id == resident_id).with_for_update().execution_options(populate_existing=True)
    )
    if resident is None or resident.erased_at is not None:
        raise NotFound("没有可注销的个人信息")
    files: list[str] = []
    cases = list(session.scalars(select(Case).where(Case.reporter_id == resident.id).order_by(Case.id)))
    for case in cases:
        files += anonymise_case(session, case, now, full=case.status in FINISHED)
    dropped = 0
    for column in DROPPED:
        result = session.execute(delete(column.table).where(column == resident.id))
        dropped += int(getattr(result, "rowcount", 0) or 0)
    session.execute(
        update(Notification)
        .where(Notification.resident_id == resident.id, Notification.content != "")
        .values(content="")
        .execution_options(synchronize_session=False)
    )
    applications = _detach_grants(session, resident.id)
    _clear_identity(resident, now)
    session.flush()
    erasure = Erasure(resident.id, len(cases), dropped, applications, len(files))
    record(session, Actor(resident_id=resident.id), "privacy.erase", "resident", resident.id, detail=erasure.counts())
    return erasure


def _clear_identity(resident: Resident, now: datetime) -> None:
    resident.openid = resident.mini_openid = resident.unionid = None
    resident.nickname = None
    resident.phone = None
    resident.is_follower = False
    resident.followed_at = resident.unfollowed_at = resident.last_message_at = None
    resident.last_lat = resident.last_lng = None
    resident.last_coord_system = None
    resident.last_located_at = None
    resident.erased_at = now


def _detach_grants(session: Session, resident_id: int) -> int:
    """Applications stay on record (public money), without the applicant's link or their team entry."""
    applications = list(session.scalars(select(GrantApplication).where(GrantApplication.applicant_id == resident_id)))
    for application in applications:
        application.applicant_id = None
        application.team = [_without(member, resident_id) for member in application.team or []]
    return len(applications)


def _without(member: dict[str, Any], resident_id: int) -> dict[str, Any]:
    if member.get("resident_id") != resident_id:
        return member
    return {"name": ERASED_NAME, "role": member.get("role", "")}

"""The hostile corpus's world: its residents and private text, and a snapshot of everything stored."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from core.models import (
    Attachment,
    Case,
    CaseEvent,
    CheckIn,
    GrantApplication,
    GrantDisbursement,
    GrantEvent,
    GrantFile,
    GrantMember,
    GrantRound,
    GrantScore,
    Notification,
    OutboxMessage,
    Photo,
    PrivacyConsent,
    ReportDraft,
    Resident,
    StaffUser,
)
from tests.support.storage import keys

TABLES = (
    Case,
    CaseEvent,
    Photo,
    Attachment,
    ReportDraft,
    OutboxMessage,
    CheckIn,
    Notification,
    Resident,
    PrivacyConsent,
)
GRANT_TABLES = (GrantRound, GrantMember, GrantApplication, GrantEvent, GrantScore, GrantDisbursement, GrantFile)
RESIDENT_A = "oHostile_resident_A"
RESIDENT_B = "oHostile_resident_B"


# What the world's cases say: no one but their reporter and staff may ever read it back.
PRIVATE = "三栋四零二室漏水，联系人老王"


@dataclass
class World:
    """What the hostile requests aim at."""

    code: str  # the sign's valid public code
    old_code: str  # its code before a rotation
    case_number: str  # resident A's case
    other_number: str  # a case in another street


def snapshot(app, settings) -> dict[str, object]:
    """Row counts of the tables people write into, staff sign-in state, and the files in the store."""
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        counts: dict[str, object] = {
            m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in TABLES + GRANT_TABLES
        }
        counts["grant_states"] = sorted(
            (a.id, a.status.value, str(a.decision), a.decision_fen, a.approved_fen)
            for a in s.scalars(select(GrantApplication))
        )
        counts["grant_rounds_published"] = sorted(
            (r.id, str(r.decisions_published_at)) for r in s.scalars(select(GrantRound))
        )
        counts["case_states"] = sorted((c.number, c.status.value, c.description) for c in s.scalars(select(Case)))
        counts["staff"] = sorted(
            (u.username, u.token_version, u.password_hash, u.totp_secret) for u in s.scalars(select(StaffUser))
        )
    counts["files"] = keys(settings)
    return counts

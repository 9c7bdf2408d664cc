"""「查看完整号码」: a staff member opens a case's call-back number, and the access log says so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.errors import NotFound
from core.models import Case, StaffUser
from core.services.staff import can_see

ACTION = "phone.reveal"
FIELD = "contact_phone"


@dataclass(frozen=True)
class Reveal:
    """The outcome: `phone` when allowed; `refused` names why not ("forbidden" or "rate_limited")."""

    phone: str | None = None
    refused: str | None = None


def reveal_contact_phone(
    session: Session, staff: StaffUser, number: str, *, address: str | None, count_reveal: Callable[[], bool]
) -> Reveal:
    """The case's full call-back number for `staff`, with an access-log row either way; the caller commits.

    Someone who cannot see the case (`can_see`) gets nothing and a `denied` row, as does one past
    their hourly reveals (`count_reveal()`, asked only once everything else allows it, is False).
    A case that does not exist, or left no number, is NotFound and nothing is recorded.
    """
    case = session.scalar(select(Case).where(Case.number == number))
    if case is None:
        raise NotFound(f"案件 {number} 不存在")
    actor = audit.Actor.of_staff(staff, address)
    if not can_see(staff, case):
        audit.record(session, actor, ACTION, "case", case.id, result="denied", detail={"field": FIELD})
        return Reveal(refused="forbidden")
    if not case.contact_phone or case.anonymous:  # an anonymous report names no one, not even by phone
        raise NotFound("该案件没有留联系电话")
    if not count_reveal():
        detail = {"field": FIELD, "reason": "rate_limited"}
        audit.record(session, actor, ACTION, "case", case.id, result="denied", detail=detail)
        return Reveal(refused="rate_limited")
    audit.record(session, actor, ACTION, "case", case.id, detail={"field": FIELD})
    return Reveal(phone=case.contact_phone)

"""Grant money in integer fen: splitting a grant across funding sources, and disbursing it in tranches.

A split uses the largest-remainder method, so the parts always add up to the total exactly: each
source first gets the floor of its share, and the fen left over go one each to the sources with the
largest remainders (ties to the earlier source).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.grants import loop
from core.grants.terms import FULL_SHARE, GrantStatus, yuan
from core.models import GrantApplication, GrantDisbursement, StaffUser


def split(total_fen: int, shares: Sequence[int]) -> list[int]:
    """`total_fen` split by `shares` (any non-negative integers, not all zero); the parts sum to the total."""
    if total_fen < 0:
        raise ValueError("total must not be negative")
    if not shares or any(share < 0 for share in shares) or sum(shares) == 0:
        raise ValueError("shares must be non-negative and not all zero")
    whole = sum(shares)
    floors = [total_fen * share // whole for share in shares]
    remainders = [total_fen * share % whole for share in shares]
    left = total_fen - sum(floors)
    # Sorted by remainder, largest first; Python's sort is stable, so ties keep the source order.
    for index in sorted(range(len(shares)), key=lambda i: -remainders[i])[:left]:
        floors[index] += 1
    return floors


def check_shares(shares: Sequence[int]) -> None:
    """A round's shares are positive basis points adding up to 100%."""
    if not shares or any(share <= 0 for share in shares) or sum(shares) != FULL_SHARE:
        raise InvalidInput("各资金来源的比例须为正数，合计 100%")


def split_for(application: GrantApplication, amount_fen: int) -> dict[str, int]:
    """The grant's parts per funding source of its round, keyed by source id as text (a JSON key)."""
    sources = application.round.sources
    parts = split(amount_fen, [source.share_bp for source in sources])
    return {str(source.id): part for source, part in zip(sources, parts, strict=True)}


@dataclass(frozen=True)
class SourceBalance:
    source_id: int
    name: str
    granted_fen: int
    paid_fen: int

    @property
    def due_fen(self) -> int:
        return self.granted_fen - self.paid_fen


def balances(session: Session, application: GrantApplication) -> list[SourceBalance]:
    """Per funding source: what the grant gets from it, what has been paid, what is still due."""
    paid: dict[int, int] = dict(
        session.execute(
            select(GrantDisbursement.source_id, func.sum(GrantDisbursement.amount_fen))
            .where(GrantDisbursement.application_id == application.id)
            .group_by(GrantDisbursement.source_id)
        )
        .tuples()
        .all()
    )
    return [
        SourceBalance(
            source.id, source.name, int(application.split.get(str(source.id), 0)), int(paid.get(source.id, 0))
        )
        for source in application.round.sources
    ]


def disburse(
    session: Session,
    application: GrantApplication,
    source_id: int,
    amount_fen: int,
    *,
    staff: StaffUser | None = None,
    note: str = "",
) -> GrantDisbursement:
    """Record one tranche from one source; never more than that source still owes the grant.

    The first tranche starts the project (approved → in progress).
    """
    if application.status not in (GrantStatus.APPROVED, GrantStatus.IN_PROGRESS):
        raise InvalidInput(f"只有已立项或实施中的项目可以拨款（当前：{application.status.label}）")
    if amount_fen <= 0:
        raise InvalidInput("拨款金额须大于 0")
    balance = next((b for b in balances(session, application) if b.source_id == source_id), None)
    if balance is None:
        raise InvalidInput("资金来源不属于本期项目")
    if amount_fen > balance.due_fen:
        raise InvalidInput(
            f"超出该来源应拨金额：{balance.name}应拨 {yuan(balance.granted_fen)}，"
            f"已拨 {yuan(balance.paid_fen)}，尚余 {yuan(balance.due_fen)}，本次 {yuan(amount_fen)}"
        )
    tranche = (
        session.scalar(
            select(func.count()).where(
                GrantDisbursement.application_id == application.id, GrantDisbursement.source_id == source_id
            )
        )
        or 0
    ) + 1
    row = GrantDisbursement(
        application_id=application.id,
        source_id=source_id,
        tranche=tranche,
        amount_fen=amount_fen,
        note=note,
        staff_id=staff.id if staff else None,
    )
    session.add(row)
    if application.status == GrantStatus.APPROVED:
        loop.transition(
            session, application, GrantStatus.IN_PROGRESS, action="disburse", staff=staff, note="首笔资金已拨付"
        )
    session.flush()
    return row

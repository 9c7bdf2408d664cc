"""Staff queues: the cases a person may see, by view (new, mine, overdue, all) and filters, a page at a time.

The staff API and the console read queues through here, so that both show the same cases. Pages
are fetched one row past their size instead of counted: a count over a million cases costs more
than the page itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from core.errors import InvalidInput
from core.glossary import CaseStatus, Tier
from core.models import Case, Category, Grid, StaffUser
from core.services.staff import visible_cases

PAGE_SIZE = 50
VIEWS = {
    "new": "待受理",
    "accepted": "待派遣",
    "mine": "我的待办",
    "verify": "待核查",
    "overdue": "已超时",
    "all": "全部",
}


@dataclass(frozen=True)
class QueueFilter:
    """What a person asked to see; every field is optional and checked by `queue`."""

    view: str = "all"
    status: str | None = None
    tier: str | None = None
    grid: str | None = None  # a grid code: that grid and everything inside it
    category: str | None = None  # a category code: it and its subcategories
    page: int = 1
    page_size: int = PAGE_SIZE


@dataclass(frozen=True)
class QueuePage:
    """One page of a queue."""

    cases: Sequence[Case]
    page: int
    has_more: bool


def _view(query: Select[tuple[Case]], staff: StaffUser, view: str) -> Select[tuple[Case]]:
    if view == "new":
        return query.where(Case.status == CaseStatus.REPORTED).order_by(Case.id)
    if view == "accepted":
        return query.where(Case.status == CaseStatus.ACCEPTED).order_by(Case.id)
    if view == "mine":
        # Cases without a deadline last; NULLS LAST rather than `deadline_at IS NULL` first, so that
        # ix_cases_assignee_status_deadline can give the rows in this order.
        return query.where(Case.assignee_id == staff.id, Case.status == CaseStatus.DISPATCHED).order_by(
            Case.deadline_at.asc().nulls_last(), Case.id
        )
    if view == "verify":
        return query.where(Case.status == CaseStatus.HANDLED).order_by(Case.handled_at, Case.id)
    if view == "overdue":
        return query.where(Case.overdue_at.is_not(None), Case.status == CaseStatus.DISPATCHED).order_by(
            Case.deadline_at, Case.id
        )
    if view == "all":
        return query.order_by(Case.id.desc())
    raise InvalidInput(f"未知视图：{view}（可选：{'、'.join(VIEWS)}）")


def queue(session: Session, staff: StaffUser, wanted: QueueFilter) -> QueuePage:
    """A page of the cases `staff` may see that match `wanted`; a grid outside their area finds nothing."""
    if wanted.page < 1 or not 1 <= wanted.page_size <= 200:
        raise InvalidInput("page 必须是正整数，page_size 在 1 到 200 之间")
    query = _view(select(Case).where(visible_cases(staff)), staff, wanted.view)
    if wanted.status:
        try:
            query = query.where(Case.status == CaseStatus(wanted.status))
        except ValueError:
            raise InvalidInput(f"未知状态：{wanted.status}") from None
    if wanted.tier:
        try:
            query = query.where(Case.tier == Tier(wanted.tier))
        except ValueError:
            raise InvalidInput("tier 必须是 community、street 或 district") from None
    if wanted.grid:
        grid = session.scalar(select(Grid).where(Grid.code == wanted.grid))
        if grid is None:
            raise InvalidInput(f"网格 {wanted.grid} 不存在")
        query = query.where(Case.grid_id.in_(grid.subtree_ids()))
    if wanted.category:
        category = session.scalar(select(Category).where(Category.code == wanted.category))
        if category is None:
            raise InvalidInput(f"类别 {wanted.category} 不存在")
        children = select(Category.id).where(Category.parent_id == category.id)
        query = query.where(or_(Case.category_id == category.id, Case.category_id.in_(children)))
    query = query.options(selectinload(Case.category), selectinload(Case.grid), selectinload(Case.assignee))
    offset = (wanted.page - 1) * wanted.page_size
    rows = session.scalars(query.limit(wanted.page_size + 1).offset(offset)).all()
    return QueuePage(cases=rows[: wanted.page_size], page=wanted.page, has_more=len(rows) > wanted.page_size)

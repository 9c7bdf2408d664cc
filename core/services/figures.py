"""The figures of an area and period: counts, the four rates of DESIGN.md, medians and tier shares.

Every figure is about one cohort: the cases *created* in [start, end) in the area (a grid path
prefix; None is the whole district, cases outside every grid included). All of it is computed in
the database by aggregate queries: one on PostgreSQL (medians by ``percentile_cont``), one plus
one per median on SQLite (medians by a window-function query that is exact for odd and even
counts). A rate is None when its denominator is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Float, Select, Subquery, and_, case, cast, extract, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from core.glossary import CaseSource, CaseStatus, Tier
from core.models import Case, Grid

FINISHED = (CaseStatus.CLOSED, CaseStatus.EVALUATED)
NOT_COUNTED = (CaseStatus.REJECTED, CaseStatus.DUPLICATE)
SOURCE_LABELS = {
    CaseSource.WECHAT: "公众号",
    CaseSource.MINIPROGRAM: "小程序",
    CaseSource.SCAN: "扫码",
    CaseSource.OPEN311: "Open311",
    CaseSource.STAFF: "网格员主动发现",
}
TIER_SHORT = {Tier.COMMUNITY: "微循环", Tier.STREET: "小循环", Tier.DISTRICT: "大循环"}


@dataclass(frozen=True)
class Figures:
    """The figures of one area and period; rates are floats in [0, 1] or None (nothing to divide)."""

    cases_in: int
    by_source: dict[CaseSource, int]
    on_time_rate: float | None  # 按期处置率: handled by deadline_at / handled with a deadline
    resolution_rate: float | None  # 问题解决率: closed or evaluated / not rejected nor duplicate
    satisfaction_rate: float | None  # 群众满意率: rated 4–5 / rated
    self_discovery_rate: float | None  # 主动发现率: found by staff / all cases in
    median_minutes_to_dispatch: float | None  # created_at → dispatched_at
    median_minutes_to_handle: float | None  # dispatched_at → handled_at
    tier_shares: dict[Tier, float | None] = field(default_factory=dict)  # among closed or evaluated


def _empty() -> Figures:
    """The figures of an area without cases in the period."""
    return Figures(
        cases_in=0,
        by_source=dict.fromkeys(CaseSource, 0),
        on_time_rate=None,
        resolution_rate=None,
        satisfaction_rate=None,
        self_discovery_rate=None,
        median_minutes_to_dispatch=None,
        median_minutes_to_handle=None,
        tier_shares=dict.fromkeys(Tier),
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """COUNT of the rows meeting `condition` (portable: SUM of CASE, 0 rather than NULL)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _minutes(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """Minutes from `earlier` to `later`, NULL when either is NULL."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(extract("epoch", later - earlier), Float[float]) / 60.0
    # SQLite keeps UTC text; julianday gives days. Rounding to the millisecond drops float noise.
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3, type_=Float[float]()) / 60.0


def _aware(moment: datetime, tz: tzinfo) -> datetime:
    """A naive bound is read in the district's time zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _cohort(session: Session, area_path: str | None, start: datetime, end: datetime, tz: tzinfo) -> Select[Any]:
    """FROM cases [JOIN grids] WHERE created_at in [start, end) [AND grid path under area]."""
    query = select().select_from(Case)
    # A plain range on the bare column, so an index on created_at can serve it.
    query = query.where(Case.created_at >= _aware(start, tz), Case.created_at < _aware(end, tz))
    if area_path is not None:
        query = query.where(Case.grid_id.in_(_grid_ids_under(session, area_path)))
    return query


def _grid_ids_under(session: Session, area_path: str) -> list[int]:
    """The ids of the grids under `area_path`, read first from the small grids table.

    Given as a list, the area and the period together select a range of ix_cases_grid_created per
    grid: the cases of the area's period, not those of the whole district's period joined to grids.
    """
    return list(session.scalars(select(Grid.id).where(Grid.path.startswith(area_path, autoescape=True))))


def _aggregate(session: Session, cohort: Select[Any], group: ColumnElement[Any] | None) -> dict[Any, Figures]:
    """The figures of `cohort`, one per value of `group` (or under the key None without a group)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    to_dispatch = _minutes(session, Case.dispatched_at, Case.created_at)
    to_handle = _minutes(session, Case.handled_at, Case.dispatched_at)
    finished = Case.status.in_(FINISHED)
    columns: dict[str, ColumnElement[Any]] = {
        "cases_in": func.count(Case.id),
        **{f"src_{s.value}": _count(Case.source == s) for s in CaseSource},
        "with_deadline": _count(and_(Case.handled_at.is_not(None), Case.deadline_at.is_not(None))),
        "on_time": _count(and_(Case.handled_at.is_not(None), Case.handled_at <= Case.deadline_at)),
        "counted": _count(Case.status.not_in(NOT_COUNTED)),
        "finished": _count(finished),
        "rated": func.count(Case.rating),
        "satisfied": _count(Case.rating >= 4),
        **{f"tier_{t.value}": _count(and_(finished, Case.tier == t)) for t in Tier},
    }
    if postgres:
        columns["med_dispatch"] = func.percentile_cont(0.5).within_group(to_dispatch)
        columns["med_handle"] = func.percentile_cont(0.5).within_group(to_handle)
    query = cohort.add_columns(*(c.label(n) for n, c in columns.items()))
    if group is not None:
        query = query.add_columns(group.label("key")).group_by(group)
    rows = {(row.key if group is not None else None): row._mapping for row in session.execute(query)}
    if not postgres:
        dispatch_medians = _window_medians(session, cohort, group, to_dispatch)
        handle_medians = _window_medians(session, cohort, group, to_handle)
    result: dict[Any, Figures] = {}
    for key_value, row in rows.items():
        if postgres:
            med_dispatch, med_handle = row["med_dispatch"], row["med_handle"]
        else:
            med_dispatch, med_handle = dispatch_medians.get(key_value), handle_medians.get(key_value)
        cases_in, finished_n = int(row["cases_in"]), int(row["finished"])
        result[key_value] = Figures(
            cases_in=cases_in,
            by_source={s: int(row[f"src_{s.value}"]) for s in CaseSource},
            on_time_rate=_ratio(int(row["on_time"]), int(row["with_deadline"])),
            resolution_rate=_ratio(finished_n, int(row["counted"])),
            satisfaction_rate=_ratio(int(row["satisfied"]), int(row["rated"])),
            self_discovery_rate=_ratio(int(row[f"src_{CaseSource.STAFF.value}"]), cases_in),
            median_minutes_to_dispatch=float(med_dispatch) if med_dispatch is not None else None,
            median_minutes_to_handle=float(med_handle) if med_handle is not None else None,
            tier_shares={t: _ratio(int(row[f"tier_{t.value}"]), finished_n) for t in Tier},
        )
    return result


def _window_medians(
    session: Session, cohort: Select[Any], group: ColumnElement[Any] | None, value: ColumnElement[float]
) -> dict[Any, float]:
    """Medians of `value` per group without percentile_cont: the middle row, or the mean of the two.

    Rows are numbered in order within their group; for n values the middle ones are numbers
    (n+1)//2 and (n+2)//2 — the same row when n is odd, two neighbours when n is even.
    """
    key = group if group is not None else literal(0)
    partition = [key] if group is not None else None
    inner = (
        cohort.add_columns(
            key.label("key"),
            cast(value, Float).label("v"),
            func.row_number().over(partition_by=partition, order_by=value).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(value.is_not(None))
        .subquery()
    )
    middle = (inner.c.n + 1) // 2, (inner.c.n + 2) // 2  # integer division on integers in both dialects
    query = select(inner.c.key, func.avg(inner.c.v)).where(inner.c.rn.in_(middle)).group_by(inner.c.key)
    return {(k if group is not None else None): float(v) for k, v in session.execute(query)}


def figures(session: Session, *, area_path: str | None, start: datetime, end: datetime, tz: tzinfo) -> Figures:
    """The figures of the cases created in [start, end) under `area_path` (None: the whole district)."""
    return _aggregate(session, _cohort(session, area_path, start, end, tz), None)[None]


def figures_by_grid(
    session: Session, *, area_path: str | None, start: datetime, end: datetime, tz: tzinfo
) -> list[tuple[str, str, Figures]]:
    """(code, name, figures) of each child area of `area_path` (None: the district's streets), by code.

    One grouped pass: each case is counted under the child whose path prefixes its grid's path.
    Which child each grid lies in is worked out here from the grids table (a few hundred rows) and
    joined as a list of (grid, child) pairs: the database can count those, where a join on path
    prefixes left it guessing — it then read every case of every grid, whatever the period.
    Children without cases in the period get zero counts and None rates.
    """
    parent = aliased(Grid)
    if area_path is None:
        parents = select(parent.id).where(parent.parent_id.is_(None))
    else:
        parents = select(parent.id).where(parent.path == area_path)
    children = session.execute(
        select(Grid.id, Grid.code, Grid.name, Grid.path).where(Grid.parent_id.in_(parents))
    ).all()
    if not children:
        return []
    grids = select(Grid.id, Grid.path)
    if area_path is not None:
        grids = grids.where(Grid.path.startswith(area_path, autoescape=True))
    pairs = [(grid_id, c.id) for grid_id, path in session.execute(grids) for c in children if path.startswith(c.path)]
    found: dict[Any, Figures] = {}
    if pairs:
        under = _grid_child(pairs)
        cohort = _cohort(session, None, start, end, tz).join(under, under.c.grid_id == Case.grid_id)
        if area_path is not None:
            cohort = cohort.where(Case.grid_id.in_([grid_id for grid_id, _ in pairs]))  # see _grid_ids_under
        found = _aggregate(session, cohort, under.c.child_id)
    children = sorted(children, key=lambda c: c.code)
    return [(c.code, c.name, found.get(c.id) or _empty()) for c in children]


def _grid_child(pairs: list[tuple[int, int]]) -> Subquery:
    """(grid_id, child_id) rows as a subquery: SELECT … UNION ALL SELECT …, which every dialect reads."""
    rows = [select(literal(g).label("grid_id"), literal(c).label("child_id")) for g, c in pairs]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("grid_child")


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


def _minutes_text(minutes: float | None) -> str:
    return "" if minutes is None else f"{minutes:.1f}"


def to_csv_rows(rows: Sequence[tuple[str, str, Figures]]) -> list[list[str]]:
    """A header (Chinese column names) and one row per (code, name, figures), ready for csv.writer."""
    header = [
        "区域编码",
        "区域名称",
        "案件数",
        *(f"来源：{SOURCE_LABELS[s]}" for s in CaseSource),
        "按期处置率",
        "问题解决率",
        "群众满意率",
        "主动发现率",
        "派遣用时中位数（分钟）",
        "处置用时中位数（分钟）",
        *(f"{TIER_SHORT[t]}占比" for t in Tier),
    ]
    table = [header]
    for code, name, f in rows:
        table.append(
            [
                code,
                name,
                str(f.cases_in),
                *(str(f.by_source.get(s, 0)) for s in CaseSource),
                _percent(f.on_time_rate),
                _percent(f.resolution_rate),
                _percent(f.satisfaction_rate),
                _percent(f.self_discovery_rate),
                _minutes_text(f.median_minutes_to_dispatch),
                _minutes_text(f.median_minutes_to_handle),
                *(_percent(f.tier_shares.get(t)) for t in Tier),
            ]
        )
    return table

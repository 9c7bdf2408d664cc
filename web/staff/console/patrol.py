"""Console page 巡查: patrol coverage of each base grid on each day of a period, with a CSV download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, g, render_template, request

from core.audit import actions as A
from core.glossary import Role
from core.services import patrol
from core.services.patrol import GridCoverage
from web.context import current_context, db_session
from web.staff.audit import note
from web.staff.auth import page_staff_required
from web.staff.console.reporting import (
    Area,
    Period,
    area_options,
    csv_response,
    last_days,
    page_url,
    requested_area,
    requested_period,
    this_month,
)

blueprint = Blueprint("console_patrol", __name__, url_prefix="/console")
NAV = ("console_patrol.coverage", "巡查")
# Accounts without an area (departments, the committee) are refused these pages; no link for them.
NAV_ROLES = frozenset(Role) - {Role.DEPARTMENT, Role.COMMITTEE}
MAX_DAYS = 31  # a month of columns is as wide as a table people can read gets


@dataclass(frozen=True)
class CoverageRow:
    """One base grid's coverage on each day of the period, and over the whole period."""

    code: str
    name: str
    days: list[GridCoverage]

    @property
    def visited(self) -> int:
        """Checkpoint-days covered: the sum over the days of checkpoints visited."""
        return sum(day.visited for day in self.days)

    @property
    def total(self) -> int:
        """Checkpoint-days to cover: the sum over the days of the grid's checkpoints."""
        return sum(day.total for day in self.days)

    @property
    def ratio(self) -> float | None:
        """visited / total over the period; None for a grid without checkpoints."""
        return self.visited / self.total if self.total else None


def shade(ratio: float | None) -> str:
    """The CSS class of a cell by how much was covered: none, 0, under half, under all, all."""
    if ratio is None:
        return "cov-none"
    if ratio >= 1:
        return "cov-full"
    if ratio >= 0.5:
        return "cov-mid"
    return "cov-low" if ratio > 0 else "cov-zero"


def coverage_rows(area: Area, period: Period) -> list[CoverageRow]:
    """Coverage per base grid in `area`, one entry per day of `period` (two small queries a day)."""
    session, tz = db_session(), current_context().settings.tz
    per_day = [patrol.coverage(session, g.staff, day=day, tz=tz, grid_code=area.code) for day in period.days()]
    order = [(c.grid_code, c.name) for c in per_day[0]] if per_day else []
    by_grid = [{c.grid_code: c for c in day} for day in per_day]
    return [
        CoverageRow(code, name, [day.get(code) or GridCoverage(code, name, 0, 0) for day in by_grid])
        for code, name in order
    ]


def csv_rows(rows: list[CoverageRow], days: list[date]) -> list[list[str]]:
    """A header and one row per grid and day: date, grid, checkpoints visited, all, the share."""
    table = [["日期", "网格编码", "网格名称", "已巡查点位数", "点位总数", "覆盖率"]]
    for n, day in enumerate(days):
        for row in rows:
            cell = row.days[n]
            ratio = "" if cell.ratio is None else f"{cell.ratio * 100:.1f}%"
            table.append([day.isoformat(), row.code, row.name, str(cell.visited), str(cell.total), ratio])
    return table


@blueprint.get("/patrol", endpoint="coverage")
@page_staff_required
def coverage_page() -> Any:
    """The coverage table (grids × days); with ?format=csv, the same as a CSV download."""
    session, tz = db_session(), current_context().settings.tz
    area = requested_area(session, g.staff, request.args.get("area"))
    today = datetime.now(tz).date()
    period = requested_period(request.args, last_days(today, 7), max_days=MAX_DAYS)
    rows = coverage_rows(area, period)
    days = period.days()
    if request.args.get("format") == "csv":
        name = f"patrol_{area.code or 'district'}_{period.first}_{period.last}.csv"
        return csv_response(csv_rows(rows, days), name, kind="patrol_coverage")
    note(A.CHECKINS_VIEW, detail={"channel": "console", "kind": "coverage", "count": len(rows)})
    extra = {"area": area.code} if area.code else {}
    month = this_month(today)
    quick = [
        ("今天", last_days(today, 1)),
        ("近7天", last_days(today, 7)),
        ("本月", Period(month.first, today)),
    ]
    return render_template(
        "console/patrol.html",
        area=area,
        period=period,
        days=days,
        rows=rows,
        shade=shade,
        max_days=MAX_DAYS,
        options=area_options(session, g.staff),
        quick_links=[(label, page_url(".coverage", extra, p.query())) for label, p in quick],
        csv_url=page_url(".coverage", {"format": "csv"}, extra, period.query()),
    )

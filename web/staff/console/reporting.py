"""Shared by the console's report pages: the area and period asked for, and tables as CSV downloads."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import actions as A
from core.glossary import Role
from core.models import Grid, StaffUser
from core.services import patrol
from core.spreadsheet import safe_row
from web.staff.audit import note

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Area:
    """An area a page is about: a grid, or the whole district (code and path None)."""

    code: str | None
    name: str
    path: str | None  # None: the whole district, cases outside every grid included


WHOLE_DISTRICT = Area(code=None, name="全区", path=None)


def home_area(staff: StaffUser) -> Area:
    """The area `staff` sees by default; 403 for accounts that see no area (no grid, the committee)."""
    if staff.role == Role.DISTRICT_CENTER:
        return WHOLE_DISTRICT
    # The same rule as the patrol records: a role below the center sees its own grid's subtree.
    path = patrol.area_path(staff)
    if path is None or staff.grid is None:
        abort(403, description="您的账号没有所辖网格，不能查看统计。")
    return Area(code=staff.grid.code, name=staff.grid.name, path=path)


def visible_grids(session: Session, staff: StaffUser) -> list[Grid]:
    """Every grid in the area `staff` sees, in path order (a parent before its children)."""
    home = home_area(staff)
    query = select(Grid).order_by(Grid.path)
    if home.path is not None:
        query = query.where(Grid.path.startswith(home.path, autoescape=True))
    return list(session.scalars(query))


def area_options(session: Session, staff: StaffUser) -> list[tuple[str, str]]:
    """(value, label) for the area select: the whole district for the center, then each grid, indented."""
    options = [("", "全区")] if staff.role == Role.DISTRICT_CENTER else []
    grids = visible_grids(session, staff)
    top = min((g.path.count("/") for g in grids), default=0)
    for grid in grids:
        indent = "\u3000" * (grid.path.count("/") - top)
        options.append((grid.code, f"{indent}{grid.name}（{grid.level.label}）"))
    return options


def requested_area(session: Session, staff: StaffUser, code: str | None) -> Area:
    """The area asked for by grid code (none: the home area); 404 for an unknown grid or one outside it.

    404 rather than 403, so that a grid outside one's own area is not even confirmed to exist.
    """
    home = home_area(staff)
    if not code:
        return home
    grid = session.scalar(select(Grid).where(Grid.code == code))
    if grid is None or (home.path is not None and not grid.path.startswith(home.path)):
        abort(404, description="没有这个区域，或它不在您的管辖范围内。")
    return Area(code=grid.code, name=grid.name, path=grid.path)


def page_url(endpoint: str, *parts: Mapping[str, str]) -> str:
    """`url_for(endpoint)` with the query arguments of `parts` (an area, a period, a format) merged."""
    values: dict[str, Any] = {key: value for part in parts for key, value in part.items()}
    return url_for(endpoint, **values)


@dataclass(frozen=True)
class Period:
    """Local calendar days `first` to `last`, both included."""

    first: date
    last: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants the period starts and ends: [first 00:00, the day after last 00:00) in `tz`."""
        start = datetime.combine(self.first, time.min, tzinfo=tz)
        return start, datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=tz)

    def days(self) -> list[date]:
        """Each day of the period, in order."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def query(self) -> dict[str, str]:
        """The query arguments that ask for this period."""
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def this_month(today: date) -> Period:
    """The calendar month of `today`, first to last day."""
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1))


def last_month(today: date) -> Period:
    """The calendar month before the one of `today`."""
    return this_month(today.replace(day=1) - timedelta(days=1))


def last_days(today: date, n: int) -> Period:
    """The `n` days up to and including `today`."""
    return Period(today - timedelta(days=n - 1), today)


def _day(raw: str, what: str) -> date:
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, description=f"{what}的格式应为 YYYY-MM-DD：{raw}")


def requested_period(args: Mapping[str, str], default: Period, *, max_days: int | None = None) -> Period:
    """The period in `from`/`to` (either may be left out: the default's); 400 for bad or reversed dates."""
    raw_from, raw_to = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    first = _day(raw_from, "开始日期") if raw_from else default.first
    last = _day(raw_to, "结束日期") if raw_to else default.last
    if first > last:
        abort(400, description="开始日期不能晚于结束日期。")
    if max_days is not None and (last - first).days + 1 > max_days:
        abort(400, description=f"一次最多查看 {max_days} 天，请缩短日期范围。")
    return Period(first, last)


def csv_response(rows: Iterable[Sequence[str]], filename: str, *, kind: str) -> Response:
    """`rows` as a CSV download: UTF-8 with a BOM, so that Excel opens the Chinese correctly; no cell a formula.

    Every download is an `export` in the access log, by `kind` (what table) and its number of rows.
    """
    table = [safe_row(row) for row in rows]
    note(A.EXPORT, detail={"kind": kind, "format": "csv", "rows": max(0, len(table) - 1)})
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer).writerows(table)
    response = Response(buffer.getvalue().encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(filename)}"'
    return response


def safe_filename(name: str) -> str:
    """`name` with anything but ASCII letters, digits, '.', '_' and '-' turned into '_' (header-safe)."""
    return _FILENAME_UNSAFE.sub("_", name)

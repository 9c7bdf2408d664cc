"""Console page 统计: the figures of an area and period, its child areas side by side, charts and CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, g, render_template, request

from core.glossary import CaseSource, Role, Tier
from core.services.figures import SOURCE_LABELS, TIER_SHORT, Figures, figures, figures_by_grid, to_csv_rows
from web.context import current_context, db_session
from web.staff.auth import page_staff_required
from web.staff.console import charts
from web.staff.console.reporting import (
    Area,
    Period,
    area_options,
    csv_response,
    last_days,
    last_month,
    page_url,
    requested_area,
    requested_period,
    this_month,
)

blueprint = Blueprint("console_figures", __name__, url_prefix="/console")
NAV = ("console_figures.figures", "统计")
# Accounts without an area (departments, the committee) are refused these pages; no link for them.
NAV_ROLES = frozenset(Role) - {Role.DEPARTMENT, Role.COMMITTEE}

# The page shows the figures service's CSV rows as two tables, picked by column name: the rates,
# medians and tier shares, and the counts by source. The CSV download has every column.
CODE, ALWAYS, SOURCE_PREFIX = "区域编码", ("区域名称", "案件数"), "来源："
RATES = (
    ("on_time_rate", "按期处置率"),
    ("resolution_rate", "问题解决率"),
    ("satisfaction_rate", "群众满意率"),
    ("self_discovery_rate", "主动发现率"),
)


def _rate(value: float | None) -> str:
    return charts.percent(value) if value is not None else "—"


def _minutes(value: float | None) -> str:
    return f"{value:.1f} 分钟" if value is not None else "—"


def key_figures(f: Figures) -> list[tuple[str, str, str]]:
    """(label, value, how it is counted) of the area's headline figures, in reading order."""
    return [
        ("案件数", str(f.cases_in), "期内新建的案件"),
        ("按期处置率", _rate(f.on_time_rate), "期限内处置 / 已处置且有期限"),
        ("问题解决率", _rate(f.resolution_rate), "已办结 / 受理的案件（不含不予受理、已合并）"),
        ("群众满意率", _rate(f.satisfaction_rate), "4–5 分评价 / 有评价的案件"),
        ("主动发现率", _rate(f.self_discovery_rate), "网格员主动发现 / 全部案件"),
        ("派遣用时中位数", _minutes(f.median_minutes_to_dispatch), "上报 → 派遣"),
        ("处置用时中位数", _minutes(f.median_minutes_to_handle), "派遣 → 处置"),
    ]


def _charts(total: Figures, children: list[tuple[str, str, Figures]]) -> list[tuple[str, Any]]:
    """(heading, SVG) of each chart: tier shares, cases by source, then each rate per child area."""
    made = [
        (
            "处置层级占比（已办结案件）",
            charts.share_bar([(TIER_SHORT[t], total.tier_shares.get(t)) for t in Tier], title="处置层级占比"),
        ),
        (
            "按来源的案件数",
            charts.bar_chart(
                [(SOURCE_LABELS[s], total.by_source.get(s, 0)) for s in CaseSource],
                title="按来源的案件数",
                scale=None,
                value_text=charts.count,
            ),
        ),
    ]
    if children:
        for attribute, label in RATES:
            items = [(name, getattr(f, attribute)) for _, name, f in children]
            made.append((f"各下级区域{label}", charts.bar_chart(items, title=f"各下级区域{label}")))
    return made


def _columns(table: list[list[str]], *, sources: bool) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The header and rows of `table` with the name, the count and either the sources or the rest.

    Each row comes with its area code, for links.
    """
    header, rows = table[0], table[1:]
    keep = [
        i
        for i, name in enumerate(header)
        if name in ALWAYS or (name != CODE and name.startswith(SOURCE_PREFIX) == sources)
    ]
    return [header[i] for i in keep], [(row[0], [row[i] for i in keep]) for row in rows]


def _quick_links(area: Area, today: Any) -> list[tuple[str, str]]:
    extra = {"area": area.code} if area.code else {}
    periods = [("本月", this_month(today)), ("上月", last_month(today)), ("近7天", last_days(today, 7))]
    return [(label, page_url(".figures", extra, p.query())) for label, p in periods]


@blueprint.get("/figures", endpoint="figures")
@page_staff_required
def figures_page() -> Any:
    """The figures page; with ?format=csv, its table as a CSV download."""
    session, tz = db_session(), current_context().settings.tz
    area = requested_area(session, g.staff, request.args.get("area"))
    today = datetime.now(tz).date()
    period: Period = requested_period(request.args, this_month(today))
    start, end = period.bounds(tz)
    total = figures(session, area_path=area.path, start=start, end=end, tz=tz)
    children = figures_by_grid(session, area_path=area.path, start=start, end=end, tz=tz)
    table = to_csv_rows([(area.code or "", f"{area.name}（合计）", total), *children])
    if request.args.get("format") == "csv":
        name = f"figures_{area.code or 'district'}_{period.first}_{period.last}.csv"
        return csv_response(table, name, kind="figures")
    return render_template(
        "console/figures.html",
        area=area,
        period=period,
        options=area_options(session, g.staff),
        quick_links=_quick_links(area, today),
        key_figures=key_figures(total),
        main_table=_columns(table, sources=False),
        source_table=_columns(table, sources=True),
        has_children=bool(children),
        charts=_charts(total, children),
        csv_url=page_url(".figures", {"format": "csv"}, {"area": area.code} if area.code else {}, period.query()),
    )

"""The console's figures page: the numbers of a small hand-worked data set, scoping, CSV and charts."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.glossary import CaseSource, CaseStatus, Role, Tier
from core.models import Case
from tests.support import factories
from tests.support.console import console_login, table_rows

TZ = ZoneInfo("Asia/Shanghai")
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
SVG = re.compile(r"<svg .*?</svg>", re.S)


def _case(n, grid, source, status, *, created=None, tier=None, rating=None, dispatch=None, handle=None, limit=None):
    created = created or datetime(2026, 10, 10 + n, 9, 0, tzinfo=TZ)
    dispatched = created + timedelta(minutes=dispatch) if dispatch is not None else None
    return Case(
        number=f"T{n:06d}",
        source=source,
        status=status,
        grid=grid,
        created_at=created,
        dispatched_at=dispatched,
        handled_at=dispatched + timedelta(minutes=handle) if handle is not None else None,
        deadline_at=dispatched + timedelta(minutes=limit) if limit is not None else None,
        tier=tier,
        rating=rating,
    )


@pytest.fixture
def district(app):
    """Seven October cases (four in street S, two in S2, one outside every grid) and two just outside it.

    Worked out by hand — district: 7 in; handled with a deadline 1, 2, 3, 5, on time 1, 3, 5 (75.0%);
    finished 1, 2, 3, 5 of the 6 not rejected (66.7%); rated 5, 2, 4 (66.7% satisfied); found by
    staff 1, 5 (28.6%); minutes to dispatch 10, 20, 30, 40 (median 25.0), to handle 30, 90, 40, 50
    (45.0); tiers of the finished: community 2, street 1, district 1 (50.0 / 25.0 / 25.0%).
    """
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        g = factories.grid_tree(s)
        w, st, ev = CaseSource.WECHAT, CaseSource.STAFF, CaseStatus.EVALUATED
        s.add_all(
            [
                _case(1, g["G1"], st, ev, tier=Tier.COMMUNITY, rating=5, dispatch=10, handle=30, limit=60),
                _case(2, g["G1"], w, CaseStatus.CLOSED, tier=Tier.COMMUNITY, dispatch=20, handle=90, limit=60),
                _case(3, g["G2"], CaseSource.SCAN, ev, tier=Tier.STREET, rating=2, dispatch=30, handle=40, limit=120),
                _case(4, g["G2"], w, CaseStatus.REJECTED),
                _case(5, g["X"], st, ev, tier=Tier.DISTRICT, rating=4, dispatch=40, handle=50, limit=60),
                _case(6, g["X"], CaseSource.MINIPROGRAM, CaseStatus.REPORTED),
                _case(7, None, w, CaseStatus.REPORTED),
                # A minute before October and its very end: neither counts.
                _case(8, g["G1"], w, CaseStatus.CLOSED, created=datetime(2026, 9, 30, 23, 59, tzinfo=TZ)),
                _case(9, g["G1"], w, CaseStatus.CLOSED, created=datetime(2026, 11, 1, tzinfo=TZ)),
            ]
        )
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        factories.staff(s, "street", Role.STREET_CENTER, "S")
        factories.staff(s, "worker", Role.GRID_WORKER, "G1")
        factories.staff(s, "unit", Role.DEPARTMENT, unit_code="CG")
        factories.staff(s, "judge", Role.COMMITTEE)
        s.commit()


HEADER = [
    "区域名称",
    "案件数",
    "按期处置率",
    "问题解决率",
    "群众满意率",
    "主动发现率",
    "派遣用时中位数（分钟）",
    "处置用时中位数（分钟）",
    "微循环占比",
    "小循环占比",
    "大循环占比",
]
DISTRICT_ROW = ["全区（合计）", "7", "75.0%", "66.7%", "66.7%", "28.6%", "25.0", "45.0", "50.0%", "25.0%", "25.0%"]
S_ROW = ["网格S", "4", "66.7%", "100.0%", "50.0%", "25.0%", "20.0", "40.0", "66.7%", "33.3%", "0.0%"]
S2_ROW = ["网格S2", "2", "100.0%", "50.0%", "100.0%", "50.0%", "40.0", "50.0", "0.0%", "0.0%", "100.0%"]


def test_the_district_center_sees_the_district_and_each_street(client, district):
    console_login(client, "center")
    page = client.get("/console/figures", query_string=OCTOBER)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert table_rows(html, "figures-table") == [HEADER, DISTRICT_ROW, S_ROW, S2_ROW]
    sources = table_rows(html, "sources-table")
    assert sources[0][2:] == ["来源：公众号", "来源：小程序", "来源：扫码", "来源：Open311", "来源：网格员主动发现"]
    assert sources[1] == ["全区（合计）", "7", "3", "1", "1", "0", "2"]
    # The headline figures are the same numbers.
    for label, value in [("按期处置率", "75.0%"), ("群众满意率", "66.7%"), ("派遣用时中位数", "25.0 分钟")]:
        assert re.search(rf"<dt>{label}</dt><dd>{re.escape(value)}</dd>", html)
    assert "统计 · 全区" in html and 'href="/console/figures?area=S&amp;from=2026-10-01&amp;to=2026-10-31"' in html


def test_the_charts_are_well_formed_svg_with_a_bar_per_street(client, district):
    console_login(client, "center")
    html = client.get("/console/figures", query_string=OCTOBER).get_data(as_text=True)
    charts = [ET.fromstring(svg) for svg in SVG.findall(html)]
    ns = "{http://www.w3.org/2000/svg}"
    titles = [chart.find(f"{ns}title").text for chart in charts]
    assert titles == [
        "处置层级占比",
        "按来源的案件数",
        *(f"各下级区域{r}" for r in ("按期处置率", "问题解决率", "群众满意率", "主动发现率")),
    ]
    tiers = charts[0]
    assert [t.text for t in tiers.iter(f"{ns}title")][1:4] == ["微循环：50.0%", "小循环：25.0%", "大循环：25.0%"]
    assert len(charts[1].findall(f"{ns}g")) == len(CaseSource)
    for chart in charts[2:]:
        bars = chart.findall(f"{ns}g")
        assert [b.find(f"{ns}text").text for b in bars] == ["网格S", "网格S2"]
    on_time = [t.text for t in charts[2].iter(f"{ns}title")][1:]
    assert on_time == ["网格S：66.7%", "网格S2：100.0%"]


def test_the_table_downloads_as_csv_that_excel_reads(client, district):
    console_login(client, "center")
    response = client.get("/console/figures", query_string={**OCTOBER, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="figures_district_2026-10-01_2026-10-31.csv"'
    )
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["区域编码", "区域名称", "案件数"] and len(rows) == 4
    assert [r[0] for r in rows[1:]] == ["", "S", "S2"]
    by_name = {r[1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    for expected in (DISTRICT_ROW, S_ROW, S2_ROW):
        assert [by_name[expected[0]][column] for column in HEADER] == expected
    assert by_name["网格S"]["来源：扫码"] == "1" and by_name["网格S2"]["来源：小程序"] == "1"


def test_a_street_sees_its_own_street_and_nothing_else(client, district):
    console_login(client, "street")
    html = client.get("/console/figures", query_string=OCTOBER).get_data(as_text=True)
    rows = table_rows(html, "figures-table")
    assert rows[1][:2] == ["网格S（合计）", "4"] and rows[2][:2] == ["网格C", "4"] and len(rows) == 3
    assert 'value="S2"' not in html and 'value="X"' not in html and 'value=""' not in html  # not in the select
    for other in ("S2", "X", "D", "no-such-grid"):
        assert client.get("/console/figures", query_string={**OCTOBER, "area": other}).status_code == 404
    grid = client.get("/console/figures", query_string={**OCTOBER, "area": "G1"}).get_data(as_text=True)
    assert table_rows(grid, "figures-table")[1][:3] == ["网格G1（合计）", "2", "50.0%"]
    assert "该区域下没有下级网格" in grid
    csv_other = client.get("/console/figures", query_string={"area": "S2", "format": "csv"})
    assert csv_other.status_code == 404


def test_staff_without_an_area_are_refused(client, district):
    assert client.get("/console/figures").status_code == 303  # not signed in: to the sign-in page
    for username in ("unit", "judge"):
        console_login(client, username)
        assert client.get("/console/figures").status_code == 403


def test_the_period_defaults_to_this_month_and_bad_dates_are_400(client, district):
    console_login(client, "worker")
    today = datetime.now(TZ).date()
    html = client.get("/console/figures").get_data(as_text=True)
    first = today.replace(day=1)
    assert f'name="from" value="{first.isoformat()}"' in html
    assert "本月" in html and "上月" in html and "近7天" in html
    for query in ({"from": "2026-13-01"}, {"from": "yesterday"}, {"from": "2026-10-31", "to": "2026-10-01"}):
        response = client.get("/console/figures", query_string=query)
        assert response.status_code == 400 and "日期" in response.get_data(as_text=True)

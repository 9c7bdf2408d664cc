"""The console's patrol coverage page: checkpoints visited per base grid and day, scoping and CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.glossary import Role
from core.models import CheckIn, Checkpoint
from tests.support import factories
from tests.support.console import console_login, table_rows

TZ = ZoneInfo("Asia/Shanghai")
PERIOD = {"from": "2026-10-05", "to": "2026-10-07"}


@pytest.fixture
def patrolled(app):
    """G1 has two checkpoints, G2 and X one each; check-ins on 5–7 October and just outside them.

    Worked out by hand: G1 1/2, 2/2, 0/2 (3/6 over the period); G2 1/1, 0/1, 0/1; X 0/1, 0/1, 1/1.
    """
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        g = factories.grid_tree(s)
        points = {
            label: Checkpoint(label=label, name=f"巡查点{label}", grid=g[grid], lat=31.8, lng=117.3)
            for label, grid in [("CP1", "G1"), ("CP2", "G1"), ("CP3", "G2"), ("CP4", "X")]
        }
        s.add_all(points.values())
        wang = factories.staff(s, "wang", Role.GRID_WORKER, "G1")
        li = factories.staff(s, "li", Role.GRID_WORKER, "G2")
        for who, label, at in [
            (wang, "CP1", datetime(2026, 10, 5, 8, 0)),
            (li, "CP1", datetime(2026, 10, 5, 9, 0)),  # the same checkpoint again: still one
            (li, "CP3", datetime(2026, 10, 5, 0, 0)),  # local midnight belongs to the day it starts
            (wang, "CP1", datetime(2026, 10, 6, 8, 0)),
            (wang, "CP2", datetime(2026, 10, 6, 8, 5)),
            (wang, "CP4", datetime(2026, 10, 7, 23, 30)),
            (wang, "CP2", datetime(2026, 10, 4, 23, 59)),  # before the period
            (wang, "CP2", datetime(2026, 10, 8, 0, 0)),  # after it
        ]:
            s.add(CheckIn(staff_id=who.id, checkpoint=points[label], at=at.replace(tzinfo=TZ), source="api"))
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        factories.staff(s, "street", Role.STREET_CENTER, "S")
        factories.staff(s, "unit", Role.DEPARTMENT, unit_code="CG")
        factories.staff(s, "judge", Role.COMMITTEE)
        s.commit()


HEADER = ["网格", "10-05 周一", "10-06 周二", "10-07 周三", "合计"]
G1 = ["网格G1 G1", "1/2", "2/2", "0/2", "3/6 50.0%"]
G2 = ["网格G2 G2", "1/1", "0/1", "0/1", "1/3 33.3%"]
X = ["网格X X", "0/1", "0/1", "1/1", "1/3 33.3%"]


def test_the_district_center_sees_every_base_grid_day_by_day(client, patrolled):
    console_login(client, "center")
    page = client.get("/console/patrol", query_string=PERIOD)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert table_rows(html, "coverage-table") == [HEADER, G1, G2, X]
    # Colour by share: all of G2 on the 5th, half of G1, none of X.
    assert re.search(r'<tr data-grid="G2">.*?<td class="cov-full" data-day="2026-10-05">', html, re.S)
    assert re.search(r'<tr data-grid="G1">.*?<td class="cov-mid" data-day="2026-10-05">', html, re.S)
    assert re.search(r'<tr data-grid="X">.*?<td class="cov-zero" data-day="2026-10-05">', html, re.S)


def test_coverage_downloads_as_csv_a_row_per_grid_and_day(client, patrolled):
    console_login(client, "center")
    response = client.get("/console/patrol", query_string={**PERIOD, "format": "csv"})
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="patrol_district_2026-10-05_2026-10-07.csv"'
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["日期", "网格编码", "网格名称", "已巡查点位数", "点位总数", "覆盖率"]
    assert len(rows) == 1 + 3 * 3
    assert ["2026-10-05", "G1", "网格G1", "1", "2", "50.0%"] in rows
    assert ["2026-10-06", "G1", "网格G1", "2", "2", "100.0%"] in rows
    assert ["2026-10-07", "X", "网格X", "1", "1", "100.0%"] in rows
    assert ["2026-10-07", "G2", "网格G2", "0", "1", "0.0%"] in rows


def test_a_street_sees_only_its_own_grids(client, patrolled):
    console_login(client, "street")
    html = client.get("/console/patrol", query_string=PERIOD).get_data(as_text=True)
    assert table_rows(html, "coverage-table") == [HEADER, G1, G2]
    one = client.get("/console/patrol", query_string={**PERIOD, "area": "G2"}).get_data(as_text=True)
    assert table_rows(one, "coverage-table") == [HEADER, G2]
    for other in ("S2", "X", "D", "nowhere"):
        assert client.get("/console/patrol", query_string={**PERIOD, "area": other}).status_code == 404
    assert client.get("/console/patrol", query_string={"area": "X", "format": "csv"}).status_code == 404


def test_a_grid_worker_sees_their_grid_and_the_last_seven_days_by_default(client, patrolled):
    console_login(client, "wang")
    html = client.get("/console/patrol").get_data(as_text=True)
    rows = table_rows(html, "coverage-table")
    assert len(rows[0]) == 1 + 7 + 1 and [r[0] for r in rows[1:]] == ["网格G1 G1"]
    today = datetime.now(TZ).date()
    assert f'name="to" value="{today.isoformat()}"' in html


def test_staff_without_an_area_are_refused_and_periods_are_checked(client, patrolled):
    assert client.get("/console/patrol").status_code == 303
    for username in ("unit", "judge"):
        console_login(client, username)
        assert client.get("/console/patrol").status_code == 403
    console_login(client, "center")
    too_long = client.get("/console/patrol", query_string={"from": "2026-10-01", "to": "2026-11-01"})
    assert too_long.status_code == 400 and "31 天" in too_long.get_data(as_text=True)
    assert client.get("/console/patrol", query_string={"from": "2026-10-07", "to": "2026-10-05"}).status_code == 400
    assert client.get("/console/patrol", query_string={"from": "2026-10-01", "to": "2026-10-31"}).status_code == 200

"""Every CSV (and tab-separated) export: a cell that a spreadsheet would run as a formula is made text."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from core.glossary import Role
from core.models import Checkpoint, Grid
from core.spreadsheet import safe_cell
from qr.batch import SignRow, write_csv
from tests.support import factories
from tests.support.console import console_login

FORMULAS = [
    '=HYPERLINK("http://evil.example","点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_becomes_text(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["网格G1", "", "0", "-3", "-2.5%", "12.0%", "2026-10-05", "a=b"])
def test_ordinary_cells_are_left_alone(value):
    assert safe_cell(value) == value


EVIL = '=HYPERLINK("http://evil.example","网格")'


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


@pytest.fixture
def evil_grid(app):
    with app.extensions["gongzhi"].database.session() as s:
        grids = factories.grid_tree(s)
        grids["G1"].name = EVIL
        s.add(Checkpoint(label="CP1", name="@点位", grid=grids["G1"], lat=31.8, lng=117.3))
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()


@pytest.mark.parametrize("path", ["/console/figures", "/console/patrol"])
def test_console_downloads_escape_formulas(client, evil_grid, path):
    console_login(client, "center")
    response = client.get(path, query_string={"area": "C", "from": "2026-10-01", "to": "2026-10-02", "format": "csv"})
    assert response.status_code == 200
    cells = [cell for row in _rows(response) for cell in row]
    assert any(c.startswith("'" + EVIL) for c in cells)
    assert not any(c.startswith(("=", "+", "@", "\t", "\r")) for c in cells)


def test_signs_csv_escapes_formulas(tmp_path):
    path = tmp_path / "signs.csv"
    write_csv([SignRow("CP1", "abc", "@点位", EVIL, "http://127.0.0.1:5000/q/abc")], path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[1] == ["CP1", "abc", "'@点位", "'" + EVIL, "http://127.0.0.1:5000/q/abc"]


def test_the_checkpoint_listing_escapes_formulas(app, evil_grid):
    result = app.test_cli_runner().invoke(args=["checkpoint", "list"])
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    cells = line.split("\t")
    assert cells[2] == "'@点位"
    with app.extensions["gongzhi"].database.session() as s:
        assert s.scalar(select(Grid).where(Grid.code == "G1")).name == EVIL  # only the export changes it

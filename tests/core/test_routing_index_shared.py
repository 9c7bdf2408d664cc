"""The routing index notices a grid boundary redrawn by another process, through the app or by hand."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import text

from core.geo import Point
from core.glossary import CoordSystem, GridLevel
from core.models import Grid
from core.services.routing import grid_index
from core.settings import PROJECT_ROOT

WEST = {"type": "Polygon", "coordinates": [[[117.0, 31.0], [117.1, 31.0], [117.1, 31.1], [117.0, 31.1], [117.0, 31.0]]]}
EAST = {"type": "Polygon", "coordinates": [[[117.1, 31.0], [117.2, 31.0], [117.2, 31.1], [117.1, 31.1], [117.1, 31.0]]]}
POINT = Point(31.05, 117.15, CoordSystem.GCJ02)  # in EAST


def _box(west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _grids(session) -> tuple[Grid, Grid]:
    west = Grid(code="W", name="西网格", level=GridLevel.GRID, path="/W/", boundary=WEST)
    east = Grid(code="E", name="东网格", level=GridLevel.GRID, path="/E/", boundary=EAST)
    session.add_all([west, east])
    session.commit()
    return west, east


def _in_another_process(database_url: str, statement: str) -> None:
    script = (
        "import sys; from sqlalchemy import create_engine, text\n"
        "engine = create_engine(sys.argv[1].replace('postgresql://', 'postgresql+psycopg://'))\n"
        "with engine.begin() as conn: conn.execute(text(sys.argv[2]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, database_url, statement],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_a_boundary_redrawn_by_hand_in_another_process_is_noticed(session, database_url):
    west, east = _grids(session)
    assert grid_index(session).locate(POINT) == east.id
    # Someone widens the west grid over the point and shrinks the east one, with SQL from elsewhere.
    wide = json.dumps(_box(117.0, 31.0, 117.2, 31.1))
    far = json.dumps(_box(118.0, 32.0, 118.1, 32.1))
    if session.get_bind().dialect.name == "sqlite":  # no trigger there: the app's own writes move updated_at
        wide_sql = f"UPDATE grids SET boundary = '{wide}', updated_at = CURRENT_TIMESTAMP WHERE code = 'W'"
        far_sql = f"UPDATE grids SET boundary = '{far}', updated_at = CURRENT_TIMESTAMP WHERE code = 'E'"
    else:
        wide_sql = f"UPDATE grids SET boundary = '{wide}' WHERE code = 'W'"
        far_sql = f"UPDATE grids SET boundary = '{far}' WHERE code = 'E'"
    _in_another_process(database_url, wide_sql)
    _in_another_process(database_url, far_sql)
    session.rollback()  # a new transaction sees the other process's commit
    assert grid_index(session).locate(POINT) == west.id


def test_a_boundary_changed_through_the_orm_moves_updated_at(session):
    west, _east = _grids(session)
    before = west.updated_at
    west.boundary = EAST
    session.commit()
    assert west.updated_at > before
    assert session.execute(text("SELECT count(*) FROM grids")).scalar() == 2

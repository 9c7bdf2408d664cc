"""`flask --app wsgi checkpoint add|import|list|rotate`: what an operator types and reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from core.codes import Verdict
from core.db import Database
from core.glossary import CoordSystem
from core.models import Checkpoint
from core.services.checkpoints import resolve_code, resolve_url, sign_url
from core.settings import PROJECT_ROOT, Settings
from tests.support.factories import G1_BOX, grid_tree


@pytest.fixture
def grids(session):
    made = grid_tree(session)
    made["G1"].boundary = G1_BOX
    session.commit()
    return made


@pytest.fixture
def cli(app, grids, session):
    """Runs `flask checkpoint …` in the test app; the test's session sees what each command committed."""
    runner = app.test_cli_runner()

    def run(*args: str):
        result = runner.invoke(args=["checkpoint", *args])
        session.rollback()  # a fresh view of the database for the assertions that follow
        return result

    return run


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Checkpoint))


def _add(cli, *extra: str, name: str = "3栋楼下", grid: str = "G1", lat: str = "31.805", lng: str = "117.305"):
    return cli("add", "--name", name, "--grid", grid, "--lat", lat, "--lng", lng, *extra)


def _rows(output: str) -> list[list[str]]:
    return [line.split("\t") for line in output.splitlines()]


# --- add -----------------------------------------------------------------------------------------


def test_add_prints_the_label_and_a_url_that_opens(cli, session, settings):
    result = _add(cli)
    assert result.exit_code == 0, result.output
    first, url = result.stdout.splitlines()
    assert first == "已添加巡查点 CP0001「3栋楼下」（网格 G1 网格G1）"
    scanned = resolve_url(session, settings, url)
    assert scanned.verdict is Verdict.VALID and scanned.checkpoint.label == "CP0001"
    assert scanned.checkpoint.coord_system == CoordSystem.GCJ02  # the default of --coord
    assert result.stderr == ""

    again = _add(cli, "--coord", "wgs84", "--label", "FX-东门")
    assert again.exit_code == 0, again.output
    stored = session.scalar(select(Checkpoint).where(Checkpoint.label == "FX-东门"))
    assert stored.coord_system == CoordSystem.WGS84


def test_add_outside_the_grid_warns_on_stderr_and_still_adds(cli, session):
    result = _add(cli, lat="31.9")
    assert result.exit_code == 0, result.output
    assert "警告" in result.stderr and "不在网格 G1「网格G1」的边界内" in result.stderr
    assert "警告" not in result.stdout
    assert _count(session) == 1


@pytest.mark.parametrize(
    ("kwargs", "extra", "message"),
    [
        ({"grid": "NOPE"}, (), "网格 NOPE 不存在"),
        ({"grid": "C"}, (), "只能设在基础网格上"),
        ({"lat": "117.305", "lng": "31.805"}, (), "纬度和经度可能写反了"),
        ({"lat": "-91"}, (), "纬度 -91.0 超出范围"),
    ],
)
def test_add_refuses_bad_input_with_a_nonzero_exit(cli, session, kwargs, extra, message):
    result = _add(cli, *extra, **kwargs)
    assert result.exit_code != 0
    assert message in result.stderr
    assert _count(session) == 0


def test_add_refuses_a_taken_label_and_an_unknown_coord(cli, session):
    assert _add(cli, "--label", "CP0001").exit_code == 0
    taken = _add(cli, "--label", "CP0001")
    assert taken.exit_code != 0 and "编号 CP0001 已被占用" in taken.stderr
    unknown = _add(cli, "--coord", "bd09")
    assert unknown.exit_code != 0 and "bd09" in unknown.stderr
    assert _count(session) == 1


# --- import --------------------------------------------------------------------------------------


def test_csv_import_then_reimport_then_a_bad_file(cli, session, tmp_path):
    good = tmp_path / "points.csv"
    good.write_bytes(
        b"\xef\xbb\xbf"
        + "name,grid,lat,lng,coord_system,label\n东门,G1,31.805,117.305,gcj02,FX-01\n西门,G2,31.7,117.2,wgs84,FX-02\n"
        "远处,G1,31.9,117.305,gcj02,FX-03\n".encode()
    )
    first = cli("import", str(good))
    assert first.exit_code == 0, first.output
    assert "新增 3 个，更新 0 个，未变 0 个" in first.stdout
    assert "第 4 行（FX-03）" in first.stderr  # outside G1: warned, stored
    again = cli("import", str(good))
    assert again.exit_code == 0 and "新增 0 个，更新 0 个，未变 3 个" in again.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("name,grid,lat,lng,coord_system,label\n新点,G1,31.805,117.305,gcj02,\n坏点,G1,北纬,117.3,gcj02,\n")
    rejected = cli("import", str(bad))
    assert rejected.exit_code != 0
    assert "未保存任何巡查点" in rejected.stderr and "第 3 行：纬度「北纬」不是数字" in rejected.stderr
    assert _count(session) == 3


def test_geojson_import_reads_lng_then_lat(cli, session, tmp_path):
    path = tmp_path / "points.geojson"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [117.305, 31.805]},
        "properties": {"name": "东门", "grid": "G1", "label": "FX-01"},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False))
    result = cli("import", str(path))
    assert result.exit_code == 0, result.output
    stored = session.scalar(select(Checkpoint))
    assert (stored.lat, stored.lng, stored.coord_system) == (31.805, 117.305, CoordSystem.WGS84)


def test_import_of_a_missing_file(cli, tmp_path):
    result = cli("import", str(tmp_path / "nope.csv"))
    assert result.exit_code != 0


# --- list ----------------------------------------------------------------------------------------


def test_list_prints_one_line_per_checkpoint_whose_code_opens(cli, session, settings):
    for label, grid in [("CP0002", "G2"), ("CP0001", "G1"), ("CP0003", "X")]:
        assert _add(cli, "--label", label, name=f"点{label}", grid=grid).exit_code == 0
    result = cli("list")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert [row[1] for row in rows] == ["CP0001", "CP0002", "CP0003"]
    for code, label, name, grid, url in rows:
        scanned = resolve_code(session, settings, code)
        assert scanned.verdict is Verdict.VALID and scanned.checkpoint.label == label
        assert name == f"点{label}"
        assert grid == f"{scanned.checkpoint.grid.code} {scanned.checkpoint.grid.name}"
        assert url == sign_url(settings, scanned.checkpoint) == f"{settings.public_base_url}/q/{code}"
    assert rows[0][3] == "G1 网格G1"

    community = cli("list", "--grid", "C")
    assert [row[1] for row in _rows(community.stdout)] == ["CP0001", "CP0002"]
    unknown = cli("list", "--grid", "NOPE")
    assert unknown.exit_code != 0 and "网格 NOPE 不存在" in unknown.stderr


def test_an_empty_list_says_so_on_stderr(cli):
    result = cli("list")
    assert result.exit_code == 0 and result.stdout == "" and "没有巡查点" in result.stderr


# --- rotate --------------------------------------------------------------------------------------


def test_rotate_replaces_the_old_sign(cli, session, settings):
    assert _add(cli).exit_code == 0
    old_code = _rows(cli("list").stdout)[0][0]
    result = cli("rotate", "CP0001")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    new_url = lines[1]
    assert "第 2 版" in lines[0] and "重新打印" in lines[2]
    assert resolve_code(session, settings, old_code).verdict is Verdict.REPLACED
    assert resolve_url(session, settings, new_url).verdict is Verdict.VALID
    assert _rows(cli("list").stdout)[0][4] == new_url

    missing = cli("rotate", "NOPE")
    assert missing.exit_code != 0 and "巡查点 NOPE 不存在" in missing.stderr


# --- the real command line -----------------------------------------------------------------------


@pytest.mark.slow
def test_the_commands_on_a_fresh_sqlite_file(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "REDIS_URL": "",
        "APP_ENV": "development",
        "SECRET_KEY": "checkpoint-cli-test-key",
        "PUBLIC_BASE_URL": "https://gz.example.cn",
    }

    def flask(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    for step in (("db", "upgrade"), ("demo",)):
        done = flask(*step)
        assert done.returncode == 0, done.stderr
    settings = Settings.from_env(env)
    database = Database(env["DATABASE_URL"])
    try:
        listed = flask("checkpoint", "list", "--grid", "340111001001001")
        assert listed.returncode == 0, listed.stderr
        rows = _rows(listed.stdout)
        assert [row[1] for row in rows] == ["CP0001", "CP0002", "CP0003"]
        old_url = rows[0][4]
        assert old_url.startswith("https://gz.example.cn/q/")

        added = flask(
            "checkpoint", "add", "--name", "新设点", "--grid", "340111001001001", "--lat", "31.79", "--lng", "117.284"
        )
        assert added.returncode == 0, added.stderr
        assert added.stdout.startswith("已添加巡查点 CP0037「新设点」")  # after the demo's CP0001–CP0036

        rotated = flask("checkpoint", "rotate", "CP0001")
        assert rotated.returncode == 0, rotated.stderr
        with database.session() as session:
            assert resolve_url(session, settings, old_url).verdict is Verdict.REPLACED
            assert resolve_url(session, settings, rotated.stdout.splitlines()[1]).verdict is Verdict.VALID
            assert resolve_url(session, settings, added.stdout.splitlines()[1]).verdict is Verdict.VALID

        refused = flask("checkpoint", "add", "--name", "x", "--grid", "340111001", "--lat", "31.8", "--lng", "117.3")
        assert refused.returncode != 0 and "基础网格" in refused.stderr
    finally:
        database.dispose()

"""The flask commands a district operator uses: db upgrade, demo, staff create; and production start-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect

from core.settings import PROJECT_ROOT


def flask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_upgrade_demo_and_staff_on_a_fresh_sqlite_file(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}", "MEDIA_DIR": str(tmp_path / "media")}
    env.pop("REDIS_URL", None)
    upgraded = flask("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    tables = set(inspect(create_engine(env["DATABASE_URL"])).get_table_names())
    assert {
        "cases",
        "case_events",
        "grids",
        "checkpoints",
        "categories",
        "outbox_messages",
        "notifications",
        "photos",
        "residents",
        "staff_users",
        "report_drafts",
    } <= tables

    first = flask("demo", env=env)
    assert first.returncode == 0, first.stderr
    assert "demo-district" in first.stdout and "demo-pass-2026" in first.stdout
    again = flask("demo", env=env)
    assert again.returncode == 0 and "新增 0" in again.stdout, again.stdout

    made = flask(
        "staff",
        "create",
        "--username",
        "wang",
        "--password",
        "Grid-pass-2026",  # the policy: 10+ characters of three kinds, not holding the username
        "--role",
        "grid_worker",
        "--grid",
        "340111001001001",
        env=env,
    )
    assert made.returncode == 0 and "已创建 wang" in made.stdout, made.stderr
    unscoped = flask(
        "staff", "create", "--username", "li", "--password", "li-pass-12", "--role", "grid_worker", env=env
    )
    assert unscoped.returncode != 0 and "--grid" in unscoped.stderr
    bad_grid = flask(
        "staff",
        "create",
        "--username",
        "li",
        "--password",
        "li-pass-12",
        "--role",
        "grid_worker",
        "--grid",
        "NOPE",
        env=env,
    )
    assert bad_grid.returncode != 0 and "NOPE" in bad_grid.stderr

    listed = flask("grid", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = [line.split("\t") for line in listed.stdout.splitlines()]
    codes = [line[0] for line in lines]
    assert "340111001001001" in codes and len(codes) == len(set(codes))
    district = lines[0]
    assert district[1] == "区" and district[3] == ""  # tree order: the district first, without a parent
    street = flask("grid", "list", "--under", lines[1][0], env=env).stdout.splitlines()
    assert street and all(line.split("\t")[0] in codes for line in street) and len(street) < len(codes)
    assert flask("grid", "list", "--under", "NOPE", env=env).returncode != 0


def test_production_start_up_names_the_missing_settings(tmp_path):
    env = {"APP_ENV": "production", "SECRET_KEY": "x" * 32}
    for name in ("DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL", "MEDIA_DIR", "WECHAT_TOKEN"):
        env[name] = ""
    result = flask("routes", env=env)
    assert result.returncode != 0
    assert "APP_ENV=production needs these settings" in result.stderr
    assert "DATABASE_URL" in result.stderr and "WECHAT_APP_SECRET" in result.stderr


def test_demo_is_refused_in_production(tmp_path):
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": "k" * 32,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "PUBLIC_BASE_URL": "https://example.invalid",
        "MEDIA_DIR": str(tmp_path),
        "WECHAT_TOKEN": "a-real-official-account-token",
        "WECHAT_APP_ID": "wx1",
        "WECHAT_APP_SECRET": "s",
        "PERSONAL_DATA_KEY": "ab" * 32,
    }
    result = flask("demo", env=env)
    assert result.returncode != 0 and "拒绝加载" in result.stderr

"""Migration 0014 seals the phones and grant teams already stored, and opens them again on the way down."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import text

from core.db import make_engine
from core.migrations import alembic_config, upgrade_database
from core.privacy import crypto
from core.privacy.contact import phone_digits
from tests.support.backends import detect, scratch_postgres
from tests.support.sealed import PHONE, PHONE_RUN

TEAM = [{"name": "李会计", "role": "会计", "phone": PHONE}]
ROWS = [
    "INSERT INTO grids (id, code, name, level, path, coord_system, created_at)"
    " VALUES (1, 'D', '示范区', 'district', '/D/', 'gcj02', CURRENT_TIMESTAMP)",
    "INSERT INTO residents (id, openid, phone, is_follower, created_at)"
    f" VALUES (1, 'oOld', '{PHONE}', true, CURRENT_TIMESTAMP)",
    "INSERT INTO cases (id, number, status, source, description, contact_phone, anonymous, updated_at, created_at)"
    " VALUES (1, 'N1', 'reported', 'scan', '路灯不亮', '138 1234 5678', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO staff_users (id, username, display_name, password_hash, role, is_active, on_duty, token_version,"
    " created_at) VALUES (1, 'm1', '委员', 'x', 'committee', true, false, 0, CURRENT_TIMESTAMP)",
    "INSERT INTO grant_rounds (id, name, description, categories, budget_fen, cap_per_application_fen,"
    " category_caps, rubric, opens_at, closes_at, report_every_days, reports_due, grid_id, created_at)"
    " VALUES (1, '往期', '', '[]', 100, 10, '{}', '[]', '2026-01-01', '2026-02-01', 30, 2, 1, '2026-01-01')",
    "INSERT INTO grant_members (id, round_id, staff_id, kind, phone, conflicts, created_at)"
    " VALUES (1, 1, 1, 'expert', '+86 138-1234-5678', '{}', CURRENT_TIMESTAMP)",
    "INSERT INTO grant_applications (id, round_id, group_name, title, category, summary, beneficiaries, schedule,"
    " team, budget_lines, requested_fen, status, decision_note, split, updated_at, created_at)"
    " VALUES (1, 1, '志愿队', '清洁', '小区维护', '', '', '', :team, '[]', 0, 'draft', '', '{}',"
    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
]
COLUMNS = {
    ("residents", "phone"): PHONE,
    ("cases", "contact_phone"): "138 1234 5678",
    ("grant_members", "phone"): "+86 138-1234-5678",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'contacts.sqlite3'}"
        return
    if not detect().real_postgres:
        pytest.skip("PostgreSQL unreachable")
    with scratch_postgres() as url:
        yield url


def _value(engine, table: str, column: str) -> str:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT {column} FROM {table} WHERE id = 1")).scalar_one()


def test_stored_phones_and_teams_are_sealed_on_the_way_up_and_opened_on_the_way_down(database_url):
    upgrade_database(database_url, "0013")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for statement in ROWS:
            connection.execute(text(statement), {"team": json.dumps(TEAM, ensure_ascii=False)})
    engine.dispose()

    upgrade_database(database_url, "0014")
    cipher = crypto.current()
    for (table, column), plain in COLUMNS.items():
        sealed = _value(engine, table, column)
        assert sealed.startswith("v1:aes:") and not PHONE_RUN.search(sealed)
        assert cipher.decrypt(sealed) == plain
    team = _value(engine, "grant_applications", "team")
    assert "李会计" not in team and json.loads(cipher.decrypt(team)) == TEAM
    assert _value(engine, "grant_members", "phone_hash") == cipher.keyed_hash(phone_digits(PHONE))
    engine.dispose()

    command.downgrade(alembic_config(database_url), "0013")
    for (table, column), plain in COLUMNS.items():
        assert _value(engine, table, column) == plain
    team = _value(engine, "grant_applications", "team")
    assert (json.loads(team) if isinstance(team, str) else team) == TEAM
    engine.dispose()

"""The migrations make exactly the schema the models describe, and can be walked down and up again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from core.db import make_engine
from core.migrations import alembic_config, upgrade_database
from core.models import Base
from tests.support.backends import detect, scratch_postgres


def test_the_migrated_schema_is_the_models(database):
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


@pytest.mark.slow
def test_down_to_nothing_and_up_again_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'walk.sqlite3'}"
    upgrade_database(url)
    command.downgrade(alembic_config(url), "base")
    engine = make_engine(url)
    with engine.connect() as connection:
        assert set(engine.dialect.get_table_names(connection)) <= {"alembic_version"}
    upgrade_database(url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A database of its own on each backend, for walking migrations with rows in it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rows.sqlite3'}"
        return
    if not detect().real_postgres:
        pytest.skip("PostgreSQL unreachable")
    with scratch_postgres() as url:
        yield url


def _checkpoints_table(engine) -> tuple[set[str], set[str], list[tuple[str, int | None]]]:
    """The checkpoints' column names, unique constraint names, and (printed label, case's checkpoint)."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        columns = {column["name"] for column in inspector.get_columns("checkpoints")}
        uniques = {constraint["name"] for constraint in inspector.get_unique_constraints("checkpoints")}
        printed = "label" if "label" in columns else "code"
        joined = "FROM checkpoints JOIN cases ON cases.checkpoint_id = checkpoints.id"
        rows = connection.execute(text(f"SELECT checkpoints.{printed}, cases.checkpoint_id {joined}"))
        return columns, uniques, [tuple(row) for row in rows]


def test_the_printed_label_column_is_renamed_and_back_with_rows_referring_to_it(empty_database_url):
    # 0009 renames checkpoints.code (the printed label, not the signed public code) to label; on
    # SQLite that rebuilds a table cases refer to, which must work with such rows present.
    url = empty_database_url
    upgrade_database(url, "0008")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO grids (id, code, name, level, path, coord_system, created_at)"
                " VALUES (1, 'G1', '第一网格', 'grid', '/G1/', 'gcj02', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO checkpoints (id, code, name, grid_id, lat, lng, coord_system, key_version, created_at)"
                " VALUES (1, 'CP0001', '小区东门', 1, 31.8, 117.3, 'gcj02', 1, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO cases"
                " (id, number, status, source, description, checkpoint_id, anonymous, updated_at, created_at)"
                " VALUES (1, 'N1', 'reported', 'scan', '路灯不亮', 1, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()

    upgrade_database(url, "0009")
    columns, uniques, rows = _checkpoints_table(engine)
    assert "label" in columns and "code" not in columns
    assert uniques == {"uq_checkpoints_label"}
    assert rows == [("CP0001", 1)]
    engine.dispose()

    command.downgrade(alembic_config(url), "0008")
    columns, uniques, rows = _checkpoints_table(engine)
    assert "code" in columns and "label" not in columns
    assert uniques == {"uq_checkpoints_code"}
    assert rows == [("CP0001", 1)]
    if url.startswith("sqlite"):
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []


def test_rounds_made_before_areas_belong_to_the_district(tmp_path):
    url = f"sqlite:///{tmp_path / 'area.sqlite3'}"
    upgrade_database(url, "0008")
    engine = make_engine(url)
    with engine.begin() as connection:
        for id_, code, parent, path in [(1, "D", None, "/D/"), (2, "S", 1, "/D/S/")]:
            connection.execute(
                text(
                    "INSERT INTO grids (id, code, name, level, parent_id, path, coord_system, created_at)"
                    " VALUES (:id, :code, :code, 'district', :parent, :path, 'gcj02', '2026-01-01')"
                ),
                {"id": id_, "code": code, "parent": parent, "path": path},
            )
        connection.execute(
            text(
                "INSERT INTO grant_rounds (id, name, description, categories, budget_fen, cap_per_application_fen,"
                " category_caps, rubric, opens_at, closes_at, report_every_days, reports_due, created_at)"
                " VALUES (1, '往期', '', '[]', 100, 10, '{}', '[]', '2026-01-01', '2026-02-01', 30, 2, '2026-01-01')"
            )
        )
    upgrade_database(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT grid_id FROM grant_rounds")).scalar_one() == 1
    engine.dispose()

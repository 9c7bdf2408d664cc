"""The migrations make exactly the schema the models describe, and can be walked down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from core.db import make_engine
from core.migrations import alembic_config, upgrade_database
from core.models import Base


def test_the_migrated_schema_is_the_models(database):
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


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

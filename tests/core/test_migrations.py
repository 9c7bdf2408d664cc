"""The migrations make exactly the schema the models describe, and can be walked down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.db import make_engine
from core.migrations import alembic_config, upgrade_database
from core.models import Base


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

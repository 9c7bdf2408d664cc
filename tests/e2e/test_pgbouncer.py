"""Behind PgBouncer in transaction pooling mode (DB_PGBOUNCER=true) the app's queries keep working."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from core.db import Database, UnitOfWork
from core.models import Category
from tests.support import pgbouncer
from tests.support.backends import BACKENDS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.real_services,
    pytest.mark.skipif(not BACKENDS.real_postgres, reason="PgBouncer fronts PostgreSQL"),
    pytest.mark.skipif(not pgbouncer.available(), reason="scripts/test-setup.sh installs pgbouncer"),
]

CLIENTS, ROUNDS = 4, 40


def _busy_clients(database: Database) -> list[BaseException]:
    """CLIENTS threads, each running the same query ROUNDS times, one transaction each: more clients
    than server connections, so consecutive transactions of a client land on different ones."""
    errors: list[BaseException] = []

    def client() -> None:
        try:
            for _ in range(ROUNDS):
                with UnitOfWork(database) as uow:
                    uow.session.scalars(select(Category).where(Category.code == "x")).all()
                    uow.commit()
        except DBAPIError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors


def test_with_db_pgbouncer_no_statement_is_prepared_on_the_server(clean_database, settings):
    with pgbouncer.pgbouncer(settings.database_url) as url:
        database = Database.from_settings(settings.replace(database_url=url, db_pgbouncer=True, db_pool_size=CLIENTS))
        try:
            assert _busy_clients(database) == []
        finally:
            database.dispose()


def test_without_it_prepared_statements_break_behind_the_pooler(clean_database, settings):
    # The control: what DB_PGBOUNCER prevents does happen here, so the test above can fail.
    with pgbouncer.pgbouncer(settings.database_url) as url:
        database = Database.from_settings(settings.replace(database_url=url, db_pgbouncer=False, db_pool_size=CLIENTS))
        try:
            errors = _busy_clients(database)
        finally:
            database.dispose()
    assert errors and "prepared statement" in str(errors[0])

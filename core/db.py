"""The database: one engine per process, and the unit of work every service runs in."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets the job thread read while a request writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20, pgbouncer: bool = False) -> Engine:
    """An engine for `url`, set up for the database behind it.

    `pgbouncer`: a pooler in transaction mode sits in front, so each transaction may reach another
    server connection; psycopg must not prepare statements there (a later transaction would name
    one its connection never saw).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    connect_args = {"prepare_threshold": None} if pgbouncer else {}
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow, connect_args=connect_args
    )


class Database:
    """Holds the engine; rebuilds it after a fork, since connections must not cross processes."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self._engine_options = engine_options
        self._pid = -1
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None or self._pid != os.getpid():
            if self._engine is not None:
                # Forget the parent's pooled connections without closing them under the parent.
                self._engine.dispose(close=False)
            self._engine = make_engine(self.url, **self._engine_options)
            self._sessions = sessionmaker(self._engine, expire_on_commit=False)
            self._pid = os.getpid()
        return self._engine

    @classmethod
    def from_settings(cls, settings: Any) -> Database:
        """The database of DATABASE_URL with the pool the settings ask for (DB_POOL_SIZE and friends)."""
        return cls(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pgbouncer=settings.db_pgbouncer,
        )

    def session(self) -> Session:
        self.engine  # noqa: B018 - make sure the session factory belongs to this process
        assert self._sessions is not None
        return self._sessions()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class UnitOfWork:
    """One transaction. `commit()` makes the work durable, then tells `on_commit` about new outbox rows.

    Leaving the block without commit rolls everything back, so nothing is half-stored.
    """

    def __init__(self, database: Database, on_commit: Callable[[], None] | None = None) -> None:
        self._database = database
        self._on_commit = on_commit
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._database.session()
        self.session.info["outbox_added"] = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
        if self.session.info.pop("outbox_added", False) and self._on_commit is not None:
            # After the commit, never before: work is only handed out once it is durable.
            self._on_commit()
        self.session.info["outbox_added"] = False

    def rollback(self) -> None:
        self.session.rollback()
        self.session.info["outbox_added"] = False


def commit_without_waiting(session: Session) -> None:
    """Let the session's current transaction commit without waiting for PostgreSQL's disk flush.

    Only for work whose loss, should the database server crash in the next fraction of a second,
    is harmless or done again: a chat draft's change, an outbox row's relayed mark. PostgreSQL
    never reorders such a commit after a later one that did wait, nor corrupts anything.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def dialect_insert(session: Session) -> Any:
    """The INSERT construct of the session's database, which knows ON CONFLICT (PostgreSQL, SQLite)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"ON CONFLICT is not wired up for {name}")


def insert_or_ignore(session: Session, model: Any, values: dict[str, Any], keys: list[str]) -> None:
    """INSERT a row unless one with the same `keys` exists; never fails on a concurrent twin."""
    session.execute(dialect_insert(session)(model).values(**values).on_conflict_do_nothing(index_elements=keys))

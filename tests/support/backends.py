"""Which database and Redis the suite runs on: the real local ones when reachable, else stand-ins."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Backends:
    real_postgres: bool
    real_redis: bool

    @property
    def description(self) -> str:
        db = "PostgreSQL 127.0.0.1:5432" if self.real_postgres else "SQLite (PostgreSQL unreachable)"
        queue = "Redis 127.0.0.1:6379" if self.real_redis else "fakeredis in-process (Redis unreachable)"
        return f"backends: {db}; {queue}"


def detect() -> Backends:
    """The real services where they answer; TEST_BACKENDS=standins forces SQLite and fakeredis."""
    if os.environ.get("TEST_BACKENDS") == "standins":
        return Backends(real_postgres=False, real_redis=False)
    return Backends(real_postgres=reachable("127.0.0.1", 5432), real_redis=reachable(REDIS_HOST, REDIS_PORT))


# Detected once per run; every conftest and test reads this one answer.
BACKENDS = detect()


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """The URL of a PostgreSQL database of its own, dropped afterwards (connections and all)."""
    from sqlalchemy import create_engine, text

    name = f"gongzhi_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

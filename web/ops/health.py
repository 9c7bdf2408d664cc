"""`/healthz` (the process answers) and `/readyz` (everything it needs answers, within a second).

Each readiness check is a function of the app's `Probe` registered in `CHECKS`; it returns
quietly when its part answers and raises when it does not. A check that has not answered by
CHECK_TIMEOUT_SECONDS counts as failed, so a load balancer sees 503 within a second of PostgreSQL
or Redis going away, and 200 again once they are back. Neither endpoint needs a sign-in, and
neither says more than which part failed (no host names, no error text: those go to the log).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import cache
from typing import Any

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from core.context import AppContext
from core.migrations import alembic_config
from web.context import current_context

log = logging.getLogger(__name__)
blueprint = Blueprint("ops_health", __name__)

CHECK_TIMEOUT_SECONDS = 0.8
# libpq's smallest connect timeout; the check's own deadline above answers sooner.
PG_CONNECT_TIMEOUT_SECONDS = 2


class Probe:
    """What the checks of one app share: its context, and a database engine that never waits long."""

    def __init__(self, context: AppContext) -> None:
        self.context = context
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """A pool-less engine for PostgreSQL (each check opens its own connection, with a timeout);
        the app's own engine for SQLite, where there is no server to wait for."""
        if self._engine is None:
            url = make_url(self.context.settings.database_url)
            if url.get_backend_name() != "postgresql":
                self._engine = self.context.database.engine
            else:
                self._engine = create_engine(
                    url.set(drivername="postgresql+psycopg"),
                    poolclass=NullPool,
                    connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_SECONDS},
                )
        return self._engine


Check = Callable[[Probe], None]
# name -> (check, whether it applies to this app); ordered as /readyz lists them.
CHECKS: dict[str, tuple[Check, Callable[[AppContext], bool]]] = {}


def register_check(name: str, check: Check, applies: Callable[[AppContext], bool] = lambda _ctx: True) -> None:
    """Add (or replace) a readiness check; the file store's will be replaced by the storage backend's."""
    CHECKS[name] = (check, applies)


class NotReady(Exception):
    """A check's part answered, but wrongly; the message is safe to show."""


def check_database(probe: Probe) -> None:
    with probe.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


@cache
def script_heads() -> frozenset[str]:
    """The migration heads this code expects, read once per process from migrations/."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def check_migrations(probe: Probe) -> None:
    with probe.engine.connect() as connection:
        current = frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if current != script_heads():
        raise NotReady(f"database at {','.join(sorted(current)) or 'none'}, code at {','.join(sorted(script_heads()))}")


def check_redis(probe: Probe) -> None:
    probe.context.redis.ping()


def check_store(probe: Probe) -> None:
    """The store (STORAGE_URL: a directory or a bucket) takes an object: written, read back, removed
    (permissions alone do not show a full disk or a revoked key)."""
    from media.storage import store_for

    store = store_for(probe.context.settings)
    key = f"readyz/{uuid.uuid4().hex}"
    store.put(key, b"ok", "text/plain")
    try:
        if store.read(key) != b"ok":
            raise NotReady("the store gave back other bytes")
    finally:
        store.delete(key)


register_check("database", check_database)
register_check("redis", check_redis, lambda ctx: bool(ctx.settings.redis_url))
register_check("store", check_store)
register_check("migrations", check_migrations)


def run_checks(probe: Probe, timeout: float = CHECK_TIMEOUT_SECONDS) -> dict[str, str]:
    """Every applicable check at once; "ok", or a short reason, for each."""
    checks = {name: check for name, (check, applies) in CHECKS.items() if applies(probe.context)}
    # A fresh pool each time: a check stuck on a dead peer must not hold up the next probe's.
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readyz")
    futures: dict[str, Future[None]] = {name: pool.submit(check, probe) for name, check in checks.items()}
    pool.shutdown(wait=False)
    wait(futures.values(), timeout=timeout)
    results: dict[str, str] = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = "timeout"
            continue
        error = future.exception()
        if error is None:
            results[name] = "ok"
        elif isinstance(error, NotReady):
            results[name] = f"failed: {error}"
        else:
            log.warning("readiness check %s failed: %s: %s", name, type(error).__name__, error)
            results[name] = f"failed: {type(error).__name__}"
    return results


def _probe() -> Probe:
    probe: Probe | None = current_app.extensions.get("gongzhi.probe")
    if probe is None:
        probe = current_app.extensions["gongzhi.probe"] = Probe(current_context())
    return probe


@blueprint.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive and serving; touches nothing else."""
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz() -> Any:
    """200 when every part this process needs answers; 503 naming the ones that do not."""
    results = run_checks(_probe())
    ready = all(result == "ok" for result in results.values())
    return {"status": "ok" if ready else "unavailable", "checks": results}, 200 if ready else 503

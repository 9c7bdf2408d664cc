"""The parts a job needs (database, Redis, WeChat client), built once per process by its entry point."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis as redis_lib
from rq.serializers import JSONSerializer
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers

from core import logs
from core.db import Database
from core.privacy import crypto
from core.settings import Settings
from wxclient.redact import install_log_redaction

log = logging.getLogger(__name__)

# Every job is written and read as JSON, never pickle: whoever can write to Redis can then enqueue
# a bad job, but not run code of their choosing in a worker. Jobs take and return plain values.
JOB_SERIALIZER = JSONSerializer


def redis_for(settings: Settings) -> Any:
    """Redis at REDIS_URL, with short timeouts; with no REDIS_URL, an in-process stand-in of its own."""
    if settings.redis_url:
        return redis_lib.Redis.from_url(
            settings.redis_url, socket_connect_timeout=0.5, socket_timeout=2.0, health_check_interval=30
        )
    import fakeredis

    return fakeredis.FakeRedis()


@dataclass
class Runtime:
    settings: Settings
    database: Database
    redis: Any
    _wechat: Any = field(default=None, repr=False)
    _mini: Any = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """A runtime of this process's own: its database and Redis (neither connects before first use).

        Also sets the process's personal-data cipher: every process that reads the database builds one.
        """
        crypto.configure(settings)
        return cls(settings=settings, database=Database.from_settings(settings), redis=redis_for(settings))

    @property
    def wechat(self) -> Any:
        """The official account's client, made on first use (the bot module imports wechatpy)."""
        if self._wechat is None:
            from wxclient.official import make_wechat_client

            self._wechat = make_wechat_client(self.settings, self.redis)
        return self._wechat

    @property
    def mini(self) -> Any:
        """The mini-program's client (subscribe messages), made on first use."""
        if self._mini is None:
            from wxclient.mini import make_mini_client

            self._mini = make_mini_client(self.settings, self.redis)
        return self._mini

    def prepare_for_forks(self) -> None:
        """Do once, in the worker, what each forked work horse would otherwise redo for every job.

        rq runs every job in a fresh fork of the worker. The database driver loads most of its
        modules on its first connection (psycopg: about a third of a second), and the ORM configures
        its mappers on first use; done here, every horse inherits both. The connection itself is
        closed again: none may cross a fork, and each horse opens its own.
        """
        configure_mappers()
        try:
            with self.database.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:  # the database is down: each horse will connect (or fail) on its own
            log.warning("database not reachable at start-up, work horses will load its driver themselves: %s", exc)
        finally:
            self.database.dispose()


def _current_job_id() -> str | None:
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else None


def set_up_process(settings: Settings) -> None:
    """What every worker process does first: redaction, log lines (with the job id), error reporting."""
    # Before anything can log: urllib3 logs whole URLs, credentials and all, when it retries.
    install_log_redaction(settings.secret_values())
    logs.configure(settings.logs_as_json)
    logs.job_id_source = _current_job_id
    if settings.sentry_dsn:
        from sentry_sdk.integrations.rq import RqIntegration

        from core.reporting import init_error_reporting
        from wxclient.redact import redact

        init_error_reporting(settings, [RqIntegration()], redact)


def run_in_own_process(settings: Settings, target: Callable[..., None], *args: Any) -> None:
    """A spawned process's entry: `target(runtime, *args)` on a runtime of the process's own.

    Connections cannot cross into another process, so each builds its runtime from the same
    settings. (Defined here, not in worker/__main__.py: a spawned child cannot find a function of
    the parent's `__main__` module run with `python -m`.)
    """
    set_up_process(settings)
    target(Runtime.from_settings(settings), *args)


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    """Make `runtime` the one jobs in this process use."""
    global _current
    _current = runtime


def current() -> Runtime:
    """The runtime installed in this process; jobs run only where an entry point installed one.

    `python -m worker` installs one in each of its processes (rq's forked work horses inherit it)
    and an app process without Redis installs its own (worker/wiring.py).
    """
    if _current is None:
        raise RuntimeError("no job runtime installed in this process: run jobs under `python -m worker`")
    return _current

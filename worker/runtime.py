"""The parts a job needs (database, Redis, WeChat client), built once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers

from core.db import Database
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    redis: Any
    _wechat: Any = field(default=None, repr=False)
    _mini: Any = field(default=None, repr=False)

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


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    """Make `runtime` the one jobs in this process use."""
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        # An rq work horse of a worker started some other way: build from the environment.
        from worker.wiring import runtime_from_settings

        install(runtime_from_settings(Settings.from_env()))
    assert _current is not None
    return _current

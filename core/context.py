"""What every entry point hands to services: settings, the database, Redis and the outbox dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.db import Database, UnitOfWork
from core.outbox import Dispatcher
from core.settings import Settings


@dataclass
class AppContext:
    """The wired-up parts of one process; built once by the composition root (wsgi.py, the worker)."""

    settings: Settings
    database: Database
    redis: Any  # a redis.Redis (or fakeredis in the embedded default); core only passes it along
    dispatcher: Dispatcher

    def uow(self) -> UnitOfWork:
        """A new unit of work whose commit hands new outbox rows to the dispatcher."""
        return UnitOfWork(self.database, on_commit=self.dispatcher.kick)

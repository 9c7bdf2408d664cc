"""Builds Redis, the dispatcher and the job runtime from settings (used by wsgi.py and the worker)."""

from __future__ import annotations

from typing import Any

import redis as redis_lib

from core.context import AppContext
from core.db import Database
from core.settings import Settings
from worker import runtime
from worker.embedded import ThreadDispatcher
from worker.relay import RqDispatcher
from worker.runtime import Runtime


def redis_for(settings: Settings) -> Any:
    """Redis at REDIS_URL, with short timeouts; with no REDIS_URL, an in-process stand-in of its own."""
    if settings.redis_url:
        return redis_lib.Redis.from_url(
            settings.redis_url, socket_connect_timeout=0.5, socket_timeout=2.0, health_check_interval=30
        )
    import fakeredis

    return fakeredis.FakeRedis()


def runtime_from_settings(settings: Settings) -> Runtime:
    return Runtime(settings=settings, database=Database(settings.database_url), redis=redis_for(settings))


def build_context(settings: Settings) -> AppContext:
    """Everything an app process needs; also installs the job runtime for the embedded runner."""
    rt = runtime_from_settings(settings)
    if settings.redis_url:
        dispatcher: Any = RqDispatcher(rt.database, rt.redis, settings)
    else:
        runtime.install(rt)
        dispatcher = ThreadDispatcher(rt.database, settings)
    return AppContext(settings=settings, database=rt.database, redis=rt.redis, dispatcher=dispatcher)

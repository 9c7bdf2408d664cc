"""Builds the app process's job runtime and dispatcher from settings (used by wsgi.py)."""

from __future__ import annotations

from core.context import AppContext
from core.settings import Settings
from worker import runtime
from worker.embedded import ThreadDispatcher
from worker.relay import RqDispatcher
from worker.runtime import Runtime


def build_context(settings: Settings) -> AppContext:
    """Everything an app process needs; also installs the job runtime for the embedded runner."""
    rt = Runtime.from_settings(settings)
    dispatcher: RqDispatcher | ThreadDispatcher
    if settings.redis_url:
        dispatcher = RqDispatcher(rt.database, rt.redis, settings)
    else:
        runtime.install(rt)
        dispatcher = ThreadDispatcher(rt.database, settings)
    return AppContext(settings=settings, database=rt.database, redis=rt.redis, dispatcher=dispatcher)

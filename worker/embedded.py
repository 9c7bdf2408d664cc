"""The embedded default: with no Redis, jobs run on a background thread of the app process."""

from __future__ import annotations

import importlib
import logging
import threading
import time
from typing import Any

from sqlalchemy import select

from core import outbox
from core.db import Database
from core.models import OutboxMessage
from core.settings import Settings
from worker.routes import route_for

log = logging.getLogger(__name__)


def run_job(dotted: str, kwargs: dict[str, Any]) -> None:
    """Call the job function at the dotted path `dotted`, as rq would."""
    module, _, name = dotted.rpartition(".")
    getattr(importlib.import_module(module), name)(**kwargs)


class ThreadDispatcher:
    """Runs outbox work in one daemon thread, off the request path, with the same retries as rq.

    A failed job waits out its retry interval while later jobs run. A row is marked relayed only
    when its job has finished (or used up its tries), so work left by a stopped process runs when
    the app starts again.
    """

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # Retry bookkeeping lives in memory: after a restart every pending job simply runs again.
        self._tries: dict[int, int] = {}
        self._not_before: dict[int, float] = {}

    def kick(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="embedded-jobs", daemon=True)
                self._thread.start()
        self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every pending row has been worked off (tests and the CLI use it)."""
        self.kick()
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop the thread after the job it is running."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=self.settings.relay_poll_seconds)
            self._wake.clear()
            try:
                while not self._stopping.is_set() and self._work_one():
                    pass
            except Exception:
                log.exception("embedded job runner failed; trying again shortly")
                continue
            self._idle.set()

    def _work_one(self) -> bool:
        """Run the oldest job that is due; False when none is (a failed one waits out its interval)."""
        now = time.monotonic()
        with self.database.session() as session:
            rows = session.scalars(
                select(OutboxMessage).where(OutboxMessage.relayed_at.is_(None)).order_by(OutboxMessage.id).limit(100)
            ).all()
            row = next((r for r in rows if self._not_before.get(r.id, 0) <= now), None)
            if row is None:
                return False
            route = route_for(row)
            try:
                run_job(route.job, dict(row.payload))
            except Exception:
                tries = self._tries.get(row.id, 0) + 1
                self._tries[row.id] = tries
                log.exception("job %s for outbox row %s failed (try %s)", route.job, row.id, tries)
                intervals = self.settings.job_retry_intervals
                if tries <= len(intervals):
                    self._not_before[row.id] = now + intervals[tries - 1]
                    return True
                log.error("job %s for outbox row %s failed for good after %s tries", route.job, row.id, tries)
            self._tries.pop(row.id, None)
            self._not_before.pop(row.id, None)
            outbox.mark_relayed(row)
            session.commit()
            return True

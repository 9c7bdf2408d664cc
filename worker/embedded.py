"""The embedded default: with no Redis, jobs run on a background thread of the app process."""

from __future__ import annotations

import importlib
import logging
import threading
import time

from sqlalchemy import select

from core import outbox
from core.db import Database
from core.models import OutboxMessage
from core.settings import Settings
from worker.routes import route_for

log = logging.getLogger(__name__)


def run_job(dotted: str, kwargs: dict) -> None:
    module, _, name = dotted.rpartition(".")
    getattr(importlib.import_module(module), name)(**kwargs)


class ThreadDispatcher:
    """Runs outbox work in one daemon thread, off the request path, with the same retries as rq.

    A row is marked relayed only when its job has finished (or used up its tries), so work
    left by a stopped process runs when the app starts again.
    """

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()

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
        with self.database.session() as session:
            row = session.scalars(
                select(OutboxMessage).where(OutboxMessage.relayed_at.is_(None)).order_by(OutboxMessage.id).limit(1)
            ).first()
            if row is None:
                return False
            route = route_for(row)
            intervals = (0, *self.settings.job_retry_intervals)
            for attempt, delay in enumerate(intervals, start=1):
                time.sleep(delay)
                try:
                    run_job(route.job, dict(row.payload))
                    break
                except Exception:
                    log.exception("job %s for outbox row %s failed (try %s)", route.job, row.id, attempt)
            outbox.mark_relayed(row)
            session.commit()
            return True

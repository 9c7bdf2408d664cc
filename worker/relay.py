"""The outbox relay: committed outbox rows become rq jobs; a Redis outage only delays them."""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, Retry

from core import outbox
from core.db import Database, commit_without_waiting
from core.settings import Settings
from worker.routes import job_id, route_for
from worker.runtime import JOB_SERIALIZER, Runtime

log = logging.getLogger(__name__)

BATCH = 200
FAILURE_TTL = 30 * 24 * 3600  # keep dead jobs a month, for staff to see


def relay_pending(database: Database, redis: Any, settings: Settings, limit: int = BATCH) -> int:
    """Enqueue up to `limit` pending outbox rows; return how many. Raises RedisError if Redis is down.

    The rows are marked relayed in the same database transaction that locked them, and only after
    Redis accepted every job of the batch: a failure leaves them pending for the next attempt.
    """
    retry = Retry(max=len(settings.job_retry_intervals), interval=list(settings.job_retry_intervals))
    with database.session() as session, session.begin():
        rows = outbox.claim_pending(session, limit)
        if not rows:
            return 0
        by_queue: dict[str, list[Any]] = {}
        for row in rows:
            route = route_for(row)
            by_queue.setdefault(route.queue, []).append(
                Queue.prepare_data(
                    route.job,
                    kwargs=row.payload,
                    job_id=job_id(row),
                    retry=retry,
                    timeout=route.timeout,
                    failure_ttl=FAILURE_TTL,
                    description=f"{row.topic} {row.payload}",
                )
            )
        with redis.pipeline() as pipe:
            for name, datas in by_queue.items():
                Queue(name, connection=redis, serializer=JOB_SERIALIZER).enqueue_many(datas, pipeline=pipe)
            pipe.execute()
        for row in rows:
            outbox.mark_relayed(row)
        # A mark lost in a database crash only relays the row again, which a crash between the
        # pipeline and the commit can do anyway: every job is safe to run twice.
        commit_without_waiting(session)
        return len(rows)


class RqDispatcher:
    """Relays right after a commit; when Redis is down it backs off and leaves rows to the poller."""

    def __init__(self, database: Database, redis: Any, settings: Settings, backoff_seconds: float = 5.0) -> None:
        self.database = database
        self.redis = redis
        self.settings = settings
        self.backoff_seconds = backoff_seconds
        self._quiet_until = 0.0

    def kick(self) -> None:
        if time.monotonic() < self._quiet_until:
            return
        try:
            while relay_pending(self.database, self.redis, self.settings) == BATCH:
                pass
        except RedisError as exc:
            # The report is already committed; the worker's poller relays it once Redis is back.
            self._quiet_until = time.monotonic() + self.backoff_seconds
            log.warning("outbox relay deferred, Redis unavailable: %s", exc)


def poll_forever(rt: Runtime) -> None:
    """Relay whatever the web processes could not (Redis was down), every RELAY_POLL_SECONDS.

    Runs in a process of its own beside the rq worker: a thread there would be copied into every
    forked work horse mid-lock.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s outbox-poller %(levelname)s %(message)s")
    settings = rt.settings
    while True:
        try:
            while relay_pending(rt.database, rt.redis, settings) == BATCH:
                pass
        except Exception:  # keep polling whatever went wrong; the next round tries again
            log.exception("outbox relay failed; retrying in %ss", settings.relay_poll_seconds)
        time.sleep(settings.relay_poll_seconds)

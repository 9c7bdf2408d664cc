"""The cron process beside the worker: rq's CronScheduler enqueuing the deadline, report and upload sweeps.

Every `python -m worker` runs one, which enqueues `sweep_deadlines` and `sweep_reports` on the
`default` queue each DEADLINE_SWEEP_SECONDS, `sweep_uploads` each UPLOAD_SWEEP_SECONDS, and the
privacy purge (`purge_daily`) once a day. However many worker machines run a cron, each periodic job
is enqueued once per interval: the interval is cut into slots on the clock, and the first cron to
claim a slot in Redis enqueues it (the sweeps stay harmless to repeat all the same,
worker/jobs/deadlines.py).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from rq import Queue
from rq.cron import CronJob, CronScheduler
from rq.job import Job

from worker.jobs.deadlines import sweep_deadlines
from worker.jobs.grants import sweep_reports
from worker.jobs.privacy import clear_old_positions, purge_daily
from worker.jobs.uploads import sweep_uploads
from worker.runtime import JOB_SERIALIZER, Runtime

log = logging.getLogger(__name__)

# Orphaned uploads are deleted once an hour old; a sweep every quarter of an hour is soon enough.
UPLOAD_SWEEP_SECONDS = 900
# Retention (core/privacy/retention.py) is counted in days; once a day is soon enough, and it is idempotent.
PRIVACY_PURGE_SECONDS = 24 * 3600
# A resident's last position is kept 30 minutes; clearing every 5 minutes keeps it no longer than 35.
POSITION_SWEEP_SECONDS = 300


class JsonCronJob(CronJob):
    """rq's cron job, enqueued as JSON like every other job (rq's own always pickles; our workers
    read JSON only)."""

    def enqueue(self, connection: Any) -> Job | None:  # type: ignore[override]
        func = self.func
        if func is None:  # rq's CronJob allows a job without a function; ours always name one
            raise ValueError(f"cron job {self.name or '?'} has no function")
        interval = self.interval or 60
        slot = int(time.time() // interval)
        if not claim_slot(connection, self.name, interval, slot):
            log.info("%s slot %d already taken by another cron", self.name, slot)
            return None
        queue = Queue(self.queue_name, connection=connection, serializer=JOB_SERIALIZER)
        job = queue.enqueue(func, args=self.args, kwargs=self.kwargs, **self.job_options)
        log.info("enqueued %s on %s for slot %d", self.name, self.queue_name, slot)
        return job


def claim_slot(connection: Any, name: str, interval: int, slot: int) -> bool:
    """Whether this cron is the first to claim `slot` (seconds since the epoch // interval) of `name`.

    Slots are cut on the clock, so crons started at different times still agree on them; the
    claim expires with the next slot.
    """
    return bool(connection.set(f"gongzhi:cron:{name}:{slot}", os.getpid(), nx=True, ex=interval * 2))


class JsonCronScheduler(CronScheduler):
    """rq's cron scheduler whose jobs are JsonCronJobs."""

    def register(self, func: Callable[..., Any], queue_name: str, **options: Any) -> CronJob:  # type: ignore[override]
        job = JsonCronJob(queue_name=queue_name, func=func, **options)
        self._cron_jobs.append(job)
        return job


def schedule_forever(rt: Runtime) -> None:
    """rq's cron scheduler, enqueuing the sweeps every DEADLINE_SWEEP_SECONDS (a process of its own)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s deadline-cron %(levelname)s %(message)s")
    interval = max(1, rt.settings.deadline_sweep_seconds)
    scheduler = JsonCronScheduler(connection=rt.redis, name=f"deadline-cron:{os.getpid()}")
    # A copy not run within its interval is dropped (ttl): a stopped worker leaves no backlog of sweeps.
    scheduler.register(sweep_deadlines, "default", interval=interval, ttl=interval, result_ttl=interval * 2)
    # Micro-grant progress reports: reminders and lateness, stamped once each, so a frequent sweep is harmless.
    scheduler.register(sweep_reports, "default", interval=interval, ttl=interval, result_ttl=interval * 2)
    # Uploads left behind by failed requests (worker/jobs/uploads.py).
    every = UPLOAD_SWEEP_SECONDS
    scheduler.register(sweep_uploads, "default", interval=every, ttl=every, result_ttl=every * 2)
    daily = PRIVACY_PURGE_SECONDS
    scheduler.register(purge_daily, "default", interval=daily, ttl=3600, result_ttl=daily)
    often = POSITION_SWEEP_SECONDS
    scheduler.register(clear_old_positions, "default", interval=often, ttl=often, result_ttl=often * 2)
    scheduler.start()  # type: ignore[no-untyped-call]  # rq's CronScheduler.start has no annotations

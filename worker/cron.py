"""The cron process beside the worker: rq's CronScheduler enqueuing the deadline and report sweeps.

Every `python -m worker` runs one, which enqueues `sweep_deadlines` and `sweep_reports` on the
`default` queue each DEADLINE_SWEEP_SECONDS. With several workers several copies are enqueued per
interval; the sweeps themselves keep that harmless (worker/jobs/deadlines.py).
"""

from __future__ import annotations

import logging
import os

from rq.cron import CronScheduler

from worker.jobs.deadlines import sweep_deadlines
from worker.jobs.grants import sweep_reports
from worker.runtime import Runtime


def schedule_forever(rt: Runtime) -> None:
    """rq's cron scheduler, enqueuing the sweeps every DEADLINE_SWEEP_SECONDS (a process of its own)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s deadline-cron %(levelname)s %(message)s")
    interval = max(1, rt.settings.deadline_sweep_seconds)
    scheduler = CronScheduler(connection=rt.redis, name=f"deadline-cron:{os.getpid()}")
    # A copy not run within its interval is dropped (ttl): a stopped worker leaves no backlog of sweeps.
    scheduler.register(sweep_deadlines, "default", interval=interval, ttl=interval, result_ttl=interval * 2)
    # Micro-grant progress reports: reminders and lateness, stamped once each, so a frequent sweep is harmless.
    scheduler.register(sweep_reports, "default", interval=interval, ttl=interval, result_ttl=interval * 2)
    scheduler.start()

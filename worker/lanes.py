"""The worker's two lanes: jobs that decode outside bytes in a fork each, all others in the worker itself."""

from __future__ import annotations

import logging

from rq import SimpleWorker, Worker

from worker import runtime
from worker.routes import QUEUES, preload_jobs
from worker.runtime import JOB_SERIALIZER, Runtime

# Jobs that decode bytes from outside (photos, voice, video) run in a fork of their own, so a
# hostile file that crashes or bloats the decoder takes down only that fork. Every other job
# (notifications, platform pushes, grants, sweeps) runs in the worker process itself, where its
# connections and compiled statements stay warm: a fork per notification cost about 100 ms and
# held a worker to some ten messages a second (bench/notify.py).
FORKED_QUEUES = ("media",)
IN_PROCESS_QUEUES = tuple(queue for queue in QUEUES if queue not in FORKED_QUEUES)
# An idle rq worker heartbeats each time it stops waiting on Redis, every worker_ttl less 15 s;
# rq's default (420 s) would let a dead worker pass for alive for minutes (worker/heartbeats.py).
WORKER_TTL_SECONDS = 60


def work(rt: Runtime, queues: tuple[str, ...], name: str | None, burst: bool, forked: bool) -> None:
    """Run one rq worker on `queues`, its jobs on `rt`, until stopped: a forked work horse per job, or in itself."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    runtime.install(rt)  # the jobs find it there; forked work horses inherit it
    # Import every job before forking or waiting: each horse gets them for free, and no job pays for them.
    preload_jobs()
    if forked:
        rt.prepare_for_forks()
    worker_class = Worker if forked else SimpleWorker
    worker = worker_class(
        list(queues),
        connection=rt.redis,
        name=name,
        serializer=JOB_SERIALIZER,
        # A job whose worker died is retried once its heartbeat lapses and maintenance notices it.
        maintenance_interval=rt.settings.worker_maintenance_seconds,
        worker_ttl=WORKER_TTL_SECONDS,
    )
    # Each worker schedules its own queues' retries and delayed jobs.
    worker.work(burst=burst, with_scheduler=True)

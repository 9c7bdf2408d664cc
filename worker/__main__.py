"""`python -m worker`: an rq worker on every queue, with rq's scheduler, the outbox poller and the deadline cron."""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys

from rq import Worker

from core.errors import ConfigError
from core.settings import Settings
from worker import runtime
from worker.jobs.deadlines import schedule_forever
from worker.relay import poll_forever
from worker.routes import QUEUES, preload_jobs
from worker.wiring import runtime_from_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker", description="共治 background worker")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--name", help="worker name (default: rq's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"worker: {exc.message}", file=sys.stderr)
        return 2
    if not settings.redis_url:
        print("worker: REDIS_URL is not set; without it jobs run inside the app process", file=sys.stderr)
        return 2
    poller = multiprocessing.get_context("spawn").Process(
        target=poll_forever, args=(settings,), name="outbox-poller", daemon=True
    )
    poller.start()
    # rq's cron scheduler, enqueuing the deadline sweep; kept to one sweep per interval across workers.
    cron = multiprocessing.get_context("spawn").Process(
        target=schedule_forever, args=(settings,), name="deadline-cron", daemon=True
    )
    cron.start()
    rt = runtime_from_settings(settings)
    runtime.install(rt)
    # rq forks a work horse per job: what the parent has imported, each horse gets for free.
    preload_jobs()
    rt.prepare_for_forks()
    try:
        worker = Worker(
            list(QUEUES),
            connection=rt.redis,
            name=args.name,
            # A job whose worker died is retried once its heartbeat lapses and maintenance notices it.
            maintenance_interval=settings.worker_maintenance_seconds,
        )
        worker.work(burst=args.burst, with_scheduler=True)
    finally:
        for helper in (poller, cron):
            helper.terminate()
            helper.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())

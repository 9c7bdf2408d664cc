"""`python -m worker`: rq workers on every queue, with rq's scheduler, the outbox poller and the deadline cron."""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys

from core.errors import ConfigError
from core.settings import Settings
from worker.jobs.deadlines import schedule_forever
from worker.lanes import FORKED_QUEUES, IN_PROCESS_QUEUES, work
from worker.relay import poll_forever


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker", description="共治 background worker")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--name", help="worker name (default: rq's); the forking worker adds -media")
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
    spawn = multiprocessing.get_context("spawn")
    poller = spawn.Process(target=poll_forever, args=(settings,), name="outbox-poller", daemon=True)
    poller.start()
    # rq's cron scheduler, enqueuing the deadline sweep; kept to one sweep per interval across workers.
    cron = spawn.Process(target=schedule_forever, args=(settings,), name="deadline-cron", daemon=True)
    cron.start()
    forked_name = f"{args.name}-media" if args.name else None
    forking = spawn.Process(
        target=work, args=(settings, FORKED_QUEUES, forked_name, args.burst, True), name="media-worker"
    )
    forking.start()
    try:
        work(settings, IN_PROCESS_QUEUES, args.name, args.burst, forked=False)
        if args.burst:
            forking.join()
    finally:
        for helper in (forking, poller, cron):
            if helper.is_alive():
                helper.terminate()  # SIGTERM: rq's warm shutdown lets a running job finish
            helper.join(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())

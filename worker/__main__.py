"""`python -m worker`: rq workers on every queue, with rq's scheduler, the outbox poller and the deadline cron."""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from core.errors import ConfigError
from core.settings import Settings
from worker.cron import schedule_forever
from worker.lanes import FORKED_QUEUES, IN_PROCESS_QUEUES, work
from worker.relay import poll_forever
from worker.runtime import Runtime, run_in_own_process
from wxclient.redact import install_log_redaction


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
    # Before anything can log: urllib3 logs whole URLs, credentials and all, when it retries.
    install_log_redaction(settings.secret_values())
    rt = Runtime.from_settings(settings)
    spawn = multiprocessing.get_context("spawn")

    def helper(name: str, target: Callable[..., None], *target_args: Any, daemon: bool = True) -> BaseProcess:
        entry = (settings, target, *target_args)
        process = spawn.Process(target=run_in_own_process, args=entry, name=name, daemon=daemon)
        process.start()
        return process

    poller = helper("outbox-poller", poll_forever)
    # rq's cron scheduler, enqueuing the deadline sweep; kept to one sweep per interval across workers.
    cron = helper("deadline-cron", schedule_forever)
    forked_name = f"{args.name}-media" if args.name else None
    forking = helper("media-worker", work, FORKED_QUEUES, forked_name, args.burst, True, daemon=False)
    try:
        work(rt, IN_PROCESS_QUEUES, args.name, args.burst, forked=False)
        if args.burst:
            forking.join()
    finally:
        for process in (forking, poller, cron):
            if process.is_alive():
                process.terminate()  # SIGTERM: rq's warm shutdown lets a running job finish
            process.join(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())

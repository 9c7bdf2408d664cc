"""`python -m worker`: rq workers on every queue, with rq's scheduler, the outbox poller and the deadline cron."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from redis.exceptions import RedisError

from core.errors import ConfigError
from core.settings import Settings
from worker.cron import schedule_forever
from worker.heartbeats import check_local
from worker.lanes import FORKED_QUEUES, IN_PROCESS_QUEUES, work
from worker.relay import poll_forever
from worker.runtime import Runtime, run_in_own_process, set_up_process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker", description="共治 background worker")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--name", help="worker name (default: rq's); the forking worker adds -media")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 0 if this machine's worker (or --name's) sent heartbeats lately, 1 if not (health checks)",
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"worker: {exc.message}", file=sys.stderr)
        return 2
    if not settings.redis_url:
        print("worker: REDIS_URL is not set; without it jobs run inside the app process", file=sys.stderr)
        return 2
    if args.check:
        return _check(settings, args.name)
    set_up_process(settings)
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


def _check(settings: Settings, name: str | None) -> int:
    """The container health check: one line, and 0 only if both lanes heartbeat lately."""
    rt = Runtime.from_settings(settings)
    try:
        ok, said = check_local(rt.redis, settings.worker_silent_seconds, name)
    except RedisError as exc:
        ok, said = False, f"Redis does not answer ({type(exc).__name__})"
    print(f"worker: {'ok' if ok else 'unhealthy'}: {said}", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

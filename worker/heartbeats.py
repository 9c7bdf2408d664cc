"""Which rq workers are alive, by their last heartbeats in Redis: for `worker --check`, the console and /metrics."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rq import Worker

from worker.lanes import FORKED_QUEUES, IN_PROCESS_QUEUES
from worker.runtime import JOB_SERIALIZER


@dataclass(frozen=True)
class WorkerBeat:
    """One registered rq worker as an operator sees it (no job arguments, nothing personal)."""

    name: str
    hostname: str
    queues: tuple[str, ...]
    state: str
    last_heartbeat: datetime | None
    age_seconds: float | None
    silent: bool


def worker_beats(redis: Any, silent_after_seconds: int, now: datetime | None = None) -> list[WorkerBeat]:
    """Every worker rq knows of, with how long since it last heartbeat; oldest heartbeat first."""
    now = now or datetime.now(UTC)
    beats = []
    for worker in Worker.all(connection=redis, serializer=JOB_SERIALIZER):
        last = worker.last_heartbeat
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)  # rq keeps UTC without saying so
        age = (now - last).total_seconds() if last is not None else None
        beats.append(
            WorkerBeat(
                name=worker.name,
                hostname=worker.hostname or "",
                queues=tuple(worker.queue_names()),
                state=str(worker.get_state()),
                last_heartbeat=last,
                age_seconds=age,
                silent=age is None or age > silent_after_seconds,
            )
        )
    never = float("inf")
    return sorted(beats, key=lambda beat: never if beat.age_seconds is None else beat.age_seconds, reverse=True)


def check_local(redis: Any, silent_after_seconds: int, name: str | None = None) -> tuple[bool, str]:
    """Whether both lanes of this machine's worker (or of the worker called `name`) heartbeat lately.

    For a container's health check: a worker elsewhere that is alive says nothing about this one.
    """
    beats = worker_beats(redis, silent_after_seconds)
    if name:
        mine = [beat for beat in beats if beat.name in (name, f"{name}-media")]
    else:
        host = socket.gethostname()
        mine = [beat for beat in beats if beat.hostname == host]
    problems = []
    for lane, queues in (("in-process", IN_PROCESS_QUEUES), ("media", FORKED_QUEUES)):
        alive = [beat for beat in mine if set(queues) <= set(beat.queues) and not beat.silent]
        if not alive:
            problems.append(f"no {lane} worker ({','.join(queues)}) heartbeat within {silent_after_seconds}s")
    return (not problems, "; ".join(problems) or f"{len(mine)} worker(s) alive")

"""Knowing the worker is well: `python -m worker --check` on heartbeats, and JSON log lines carrying the job id."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue, Worker
from rq.utils import utcformat

from core.settings import PROJECT_ROOT
from tests.support.processes import WorkerProcess, settings_env, wait_until
from worker.heartbeats import check_local
from worker.lanes import FORKED_QUEUES, IN_PROCESS_QUEUES
from worker.runtime import JOB_SERIALIZER

real_redis = pytest.mark.real_services("redis")


def say_hello(place: str) -> str:
    """A job that logs one line, as real jobs do."""
    logging.getLogger("tests.job").info("hello from a job at %s", place)
    return place


def registered(redis, name: str, queues: tuple[str, ...], beat_ago: timedelta | None = None) -> None:
    worker = Worker(list(queues), connection=redis, name=name, serializer=JOB_SERIALIZER)
    worker.register_birth()
    if beat_ago is not None:
        redis.hset(worker.key, "last_heartbeat", utcformat(datetime.now(UTC) - beat_ago))


def check(settings, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "worker", "--check", *args],
        cwd=PROJECT_ROOT,
        env={**settings_env(settings), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@real_redis
def test_both_lanes_of_this_machine_must_heartbeat(redis_client):
    assert not check_local(redis_client, 120)[0]  # no worker at all
    registered(redis_client, "here", IN_PROCESS_QUEUES)
    ok, said = check_local(redis_client, 120)
    assert not ok and "no media worker (media)" in said
    registered(redis_client, "here-media", FORKED_QUEUES, beat_ago=timedelta(minutes=5))
    assert not check_local(redis_client, 120)[0]  # the media lane is silent
    redis_client.hset("rq:worker:here-media", "last_heartbeat", utcformat(datetime.now(UTC)))  # it beats again
    assert check_local(redis_client, 120) == (True, "2 worker(s) alive")
    assert not check_local(redis_client, 120, name="elsewhere")[0]  # another worker's name: not these


@real_redis
def test_check_exits_non_zero_without_a_worker(settings, redis_client):
    result = check(settings)
    assert result.returncode == 1 and "worker: unhealthy: no in-process worker" in result.stderr


@pytest.mark.slow
@real_redis
def test_check_follows_a_real_worker_alive_then_killed(settings, redis_client, tmp_path):
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    name = worker.process.args[-1]
    try:
        wait_until(lambda: check(settings, "--name", name).returncode == 0, timeout=60, what="worker --check to pass")
        worker.kill()
        # Killed, its registration stays in Redis until it expires: its heartbeat is what goes silent.
        wait_until(
            lambda: check(settings, "--name", name, WORKER_SILENT_SECONDS="1").returncode == 1,
            timeout=30,
            what="worker --check to fail",
        )
    finally:
        worker.stop()


@pytest.mark.slow
@real_redis
def test_a_jobs_log_line_is_json_and_carries_the_job_id(settings, redis_client):
    job = Queue("default", connection=redis_client, serializer=JOB_SERIALIZER).enqueue(say_hello, "东门")
    result = subprocess.run(
        [sys.executable, "-m", "worker", "--burst", "--name", f"log-test-{job.id}"],
        cwd=PROJECT_ROOT,
        env={**settings_env(settings), "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    said = [line for line in lines if line["message"] == "hello from a job at 东门"]
    assert len(said) == 1 and said[0]["job_id"] == job.id and said[0]["logger"] == "tests.job", said
    assert said[0]["level"] == "info" and "T" in said[0]["time"]

"""Whoever can write to Redis can enqueue a job, but not make a worker run code of their choosing."""

from __future__ import annotations

import pickle

import pytest
from rq import Queue
from rq.job import Job

from worker.lanes import work
from worker.runtime import Runtime

pytestmark = pytest.mark.real_services("redis")  # rq's workers need a real Redis


class Payload:
    """Unpickling this runs a shell command: what an attacker with Redis access would enqueue."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_pickled_job_planted_in_redis_runs_nothing(settings, clean_database, redis_client, tmp_path):
    marker = tmp_path / "pwned"
    planted = Job.create(print, args=[Payload(str(marker))], connection=redis_client, id="planted-job")
    assert b"os" in pickle.dumps(Payload(str(marker)))  # the payload really is a code-running pickle
    Queue("default", connection=redis_client).enqueue_job(planted)

    runtime = Runtime.from_settings(settings)
    try:
        work(runtime, ("default",), "hostile-test", True, False)  # burst: until the queue is empty
    finally:
        runtime.database.dispose()

    assert not marker.exists()
    assert Queue("default", connection=redis_client).count == 0  # taken off the queue, not run

"""The run's own check: a test that leaves a process behind fails the run, and the process is gone after it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow  # each test runs a pytest of its own

LEAKY = """
import subprocess
from pathlib import Path

def test_starts_a_server_and_forgets_it(tmp_path):
    process = subprocess.Popen(["sleep", "600"], start_new_session=True)
    Path({pidfile!r}).write_text(str(process.pid))
"""

TIDY = """
import subprocess

def test_starts_and_stops():
    process = subprocess.Popen(["sleep", "600"], start_new_session=True)
    process.kill()
    process.wait()
"""

POOLED = """
import concurrent.futures
import multiprocessing

def test_uses_a_forkserver_pool():
    context = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        assert list(pool.map(abs, [-1, -2])) == [1, 2]
"""


def run_inner(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("GONGZHI_TEST_RUN", None)  # the inner run marks its own processes
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.support.process_leaks", "-p", "no:cacheprovider", "."],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_process_left_running_fails_the_run_and_is_killed(tmp_path):
    pidfile = tmp_path / "pid"
    done = run_inner(tmp_path, LEAKY.format(pidfile=str(pidfile)))
    assert done.returncode == 1, done.stdout
    assert "outlived them" in done.stdout and "sleep 600" in done.stdout
    assert not Path(f"/proc/{pidfile.read_text()}").exists() or "Z" in _state(pidfile.read_text())


def test_a_run_that_stops_what_it_started_passes(tmp_path):
    done = run_inner(tmp_path, TIDY)
    assert done.returncode == 0, done.stdout
    assert "outlived" not in done.stdout


def test_a_pools_forkserver_is_the_runs_own_helper_not_a_leak(tmp_path):
    # It lives as long as the pytest process that started it and ends with it (qr.batch uses one).
    done = run_inner(tmp_path, POOLED)
    assert done.returncode == 0, done.stdout
    assert "outlived" not in done.stdout


def _state(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"

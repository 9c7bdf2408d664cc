"""Real processes for end-to-end tests: `python -m worker`, and a private redis-server to stop and start."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

from core.settings import PROJECT_ROOT, Settings


def _env_value(value: object) -> str:
    if isinstance(value, tuple):
        # Pairs (status templates) as "a:b,c:d"; plain tuples (retry intervals) as "1,2,3".
        return ",".join(":".join(map(str, item)) if isinstance(item, tuple) else str(item) for item in value)
    return str(value)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives another process exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "WECHAT_", "APP_"))}
    for field in fields(settings):
        value = getattr(settings, field.name)
        if value is not None and value != ():
            env[field.name.upper()] = _env_value(value)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


class WorkerProcess:
    """`python -m worker` in its own process, its log kept for the test's failure message."""

    def __init__(self, settings: Settings, log_path: Path, name: str = "test-worker") -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - open for the process's lifetime
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker", "--name", f"{name}-{os.getpid()}-{time.monotonic_ns()}"],
            cwd=PROJECT_ROOT,
            env=settings_env(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group, so that stopping it reaches the poller, the cron process and any
            # work horse too, even those whose parent is already gone.
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and every process it started (its work-horse, poller and cron), as a
        machine dying would: nothing gets to finish or clean up."""
        kill_tree(self.process.pid)
        self.process.wait()
        self._log.close()

    def stop(self) -> None:
        """rq's warm shutdown, then SIGKILL for whatever of its process group is still there."""
        if self._log.closed:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._log.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc)."""
    pending, tree = [pid], []
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(_children(current))
    return tree


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and all its descendants, all at once."""
    for member in process_tree(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own, so a test can make Redis unreachable and bring it back."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _accepts(self.port), timeout=10, what="redis-server to start")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], object], timeout: float = 30, what: str = "condition", interval: float = 0.1):
    """Poll `predicate` until it returns something true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)

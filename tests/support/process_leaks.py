"""A run-wide check: no process a test started may outlive the run (a worker left polling, a server left listening)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

# Every process the run starts inherits this from the environment, at any depth and whoever its
# parent is by the end (an orphan is adopted by init and no longer looks like ours).
MARK = "GONGZHI_TEST_RUN"
GRACE_SECONDS = 20.0
# A process pool leaves a forkserver and a resource tracker that live as long as their parent.
HELPERS = ("from multiprocessing.forkserver import", "from multiprocessing.resource_tracker import")


def _marked(token: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process but this one whose environment carries `token`."""
    needle = f"{MARK}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if state == "Z":  # a zombie is already dead; its parent only has not waited for it yet
            continue
        if int(parent) == os.getpid() and command.split(" -c ", 1)[-1].startswith(HELPERS):
            continue  # this process's own multiprocessing helpers: they exit when it does
        found.append((int(entry.name), command))
    return found


def pytest_configure(config: pytest.Config) -> None:
    token = uuid.uuid4().hex
    os.environ[MARK] = token
    config.stash[_TOKEN] = token


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not Path("/proc/self/environ").exists():
        return  # not Linux: nothing to look in
    token = session.config.stash[_TOKEN]
    # Processes told to stop may take a moment to go: wait for the condition, not for a fixed time.
    deadline = time.monotonic() + GRACE_SECONDS
    left = _marked(token)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _marked(token)
    if not left:
        return
    for pid, _command in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(left)} process(es) started by the tests outlived them (now killed):"]
    lines += [f"  pid {pid}: {command[:200]}" for pid, command in left]
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line("\n".join(lines), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


_TOKEN = pytest.StashKey[str]()

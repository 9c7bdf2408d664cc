"""End-to-end fixtures: the app pointed at the fake WeChat API, and real worker processes."""

from __future__ import annotations

import pytest

from tests.support.processes import WorkerProcess
from tests.support.wechat_crypto import TEST_AES_KEY
from tests.support.wechat_sender import WeChatSender


@pytest.fixture
def mode() -> str:
    """plain by default; a test parametrized over "mode" runs in safe mode too."""
    return "plain"


@pytest.fixture
def settings(settings, fake_wechat, mode):
    return settings.replace(
        wechat_api_base=fake_wechat.base_url,
        relay_poll_seconds=0.5,
        wechat_encoding_aes_key=TEST_AES_KEY if mode == "safe" else None,
    )


@pytest.fixture
def wechat(client, settings):
    return WeChatSender.for_settings(client, settings)


@pytest.fixture
def start_worker(tmp_path):
    """Start `python -m worker` processes with given settings; all are stopped after the test."""
    started: list[WorkerProcess] = []

    def start(settings, name: str = "worker") -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path / f"{name}-{len(started)}.log", name=name)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, show what the worker processes logged."""
    report = yield
    workers = getattr(item, "funcargs", {}).get("start_worker")
    if report.when == "call" and report.failed and workers is not None:
        closure = workers.__closure__ or ()
        for cell in closure:
            if isinstance(cell.cell_contents, list):
                for worker in cell.cell_contents:
                    report.sections.append((f"worker log {worker.log_path.name}", worker.log()))
    return report

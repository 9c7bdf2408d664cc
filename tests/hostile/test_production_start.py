"""A service started as the README says is production: it refuses, in one sentence, keys anyone can read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT, Settings
from tests.support.processes import free_port

GUNICORN = Path(sys.executable).parent / "gunicorn"
REAL = {
    "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "PUBLIC_BASE_URL": "https://gongzhi.example.cn",
    "MEDIA_DIR": "/tmp/gongzhi-media",
    "WECHAT_TOKEN": "a-token-of-the-official-account",
    "WECHAT_APP_ID": "wx1234567890",
    "WECHAT_APP_SECRET": "an-app-secret-of-the-official-account",
    "SECRET_KEY": "x" * 48,
    "PERSONAL_DATA_KEY": "5f" * 32,
}


def start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`gunicorn 'wsgi:create_app()'` from the project directory, with only `env` (and PATH) set."""
    base = {"PATH": os.environ["PATH"], "GUNICORN_BIND": f"127.0.0.1:{free_port()}", "WEB_CONCURRENCY": "1"}
    return subprocess.run(
        [str(GUNICORN), "wsgi:create_app()"],
        cwd=PROJECT_ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "APP_ENV=production needs"),
        (REAL | {"SECRET_KEY": Settings.secret_key}, "SECRET_KEY"),
        (REAL | {"SECRET_KEY": "too-short"}, "SECRET_KEY"),
        (REAL | {"WECHAT_TOKEN": Settings.wechat_token}, "WECHAT_TOKEN"),
        (REAL | {"PERSONAL_DATA_KEY": Settings.personal_data_key}, "PERSONAL_DATA_KEY"),
        (REAL | {"PERSONAL_DATA_KEY": "ab" * 16}, "PERSONAL_DATA_KEY"),
    ],
    ids=[
        "nothing set",
        "the development key",
        "a short key",
        "the development WeChat token",
        "the development personal-data key",
        "a 16-byte personal-data key",
    ],
)
def test_gunicorn_refuses_to_serve_on_a_known_or_weak_key(env, named):
    done = start(env)
    assert done.returncode != 0
    sentence = [line for line in done.stderr.splitlines() if "共治 cannot start" in line]
    assert len(sentence) == 1 and named in sentence[0], done.stderr[-2000:]
    assert "Booting worker" not in done.stderr  # refused before any worker starts (and is restarted)


def test_the_embedded_default_refuses_more_than_one_process(tmp_path):
    env = {
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'one.sqlite3'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "WEB_CONCURRENCY": "3",
    }
    done = start(env)
    assert done.returncode != 0
    sentence = [line for line in done.stderr.splitlines() if "共治 cannot start" in line]
    assert len(sentence) == 1 and "REDIS_URL" in sentence[0] and "(now 3)" in sentence[0], done.stderr[-2000:]
    assert "Booting worker" not in done.stderr

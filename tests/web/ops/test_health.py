"""/healthz and /readyz: 503 within a second of PostgreSQL or Redis going away, 200 again once they are back."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import make_url

from core.context import AppContext
from core.db import Database
from core.migrations import upgrade_database
from tests.support.processes import PrivateRedis, wait_until
from tests.support.tcp_proxy import TcpProxy
from web.ops.health import Probe, run_checks

# The whole answer must come within a second on a loaded two-core box (checks give up at 0.8 s).
ANSWER_WITHIN = 1.5


def readyz(client) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = client.get("/readyz")
    return response.status_code, response.get_json(), time.monotonic() - started


def test_healthz_touches_nothing_and_answers_even_without_a_database(settings, make_app):
    app = make_app(settings.replace(database_url="postgresql://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_lists_every_part_when_all_answer(client, settings):
    status, body, took = readyz(client)
    assert status == 200, body
    expected = {"database", "store", "migrations"} | ({"redis"} if settings.redis_url else set())
    assert body == {"status": "ok", "checks": dict.fromkeys(expected, "ok")}
    assert took < ANSWER_WITHIN


def test_no_sign_in_and_no_secrets_in_the_answer(settings, make_app):
    app = make_app(settings.replace(database_url="postgresql://gongzhi:pa55word-secret@127.0.0.1:1/none"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert response.get_json()["checks"]["database"].startswith("failed")
    assert "pa55word" not in text and "127.0.0.1" not in text and "gongzhi" not in text


@pytest.mark.real_services("redis")
def test_redis_going_away_turns_readyz_503_at_once_and_coming_back_200(settings, make_app):
    private = PrivateRedis().start()
    try:
        client = make_app(settings.replace(redis_url=private.url)).test_client()
        assert readyz(client)[0] == 200
        private.stop()
        status, body, took = readyz(client)
        assert (status, body["checks"]["redis"]) == (503, "failed: ConnectionError"), body
        assert body["checks"]["database"] == "ok" and took < ANSWER_WITHIN
        private.start()  # the same port again
        wait_until(lambda: readyz(client)[0] == 200, timeout=10, what="/readyz to be 200 again")
    finally:
        private.stop()


@pytest.mark.real_services("redis")
def test_a_redis_that_never_answers_is_a_timeout_within_a_second(settings, make_app):
    # A peer that takes the connection and says nothing, as a machine cut off the network does.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        client = make_app(settings.replace(redis_url=url)).test_client()
        status, body, took = readyz(client)
        assert (status, body["checks"]["redis"]) == (503, "timeout"), body
        assert took < ANSWER_WITHIN
    finally:
        silent.close()


@pytest.mark.real_services("postgres")
def test_postgres_going_away_turns_readyz_503_at_once_and_coming_back_200(settings, make_app):
    url = make_url(settings.database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    try:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        client = make_app(settings.replace(database_url=proxied)).test_client()
        assert readyz(client)[0] == 200
        proxy.stop()
        status, body, took = readyz(client)
        assert status == 503 and took < ANSWER_WITHIN, body
        assert body["checks"]["database"].startswith("failed") and body["checks"]["migrations"].startswith("failed")
        assert body["checks"]["store"] == "ok"
        proxy.start()  # the same port again
        wait_until(lambda: readyz(client)[0] == 200, timeout=10, what="/readyz to be 200 again")
    finally:
        proxy.stop()


def test_a_media_dir_that_takes_no_file_is_not_ready(settings, make_app, tmp_path: Path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the directory should be")
    client = make_app(settings.replace(media_dir=str(blocked / "media"))).test_client()
    status, body, _ = readyz(client)
    assert status == 503 and body["checks"]["store"].startswith("failed"), body
    assert body["checks"]["database"] == "ok"


def test_a_database_behind_the_code_is_not_ready(settings, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade_database(url, "0010")
    database = Database(url)
    context = AppContext(
        settings=settings.replace(database_url=url, redis_url=None), database=database, redis=None, dispatcher=None
    )  # type: ignore[arg-type]
    try:
        results = run_checks(Probe(context))
    finally:
        database.dispose()
    assert results["database"] == "ok"
    assert results["migrations"].startswith("failed: database at 0010, code at "), results


def test_the_s3_store_is_checked_by_writing_to_its_bucket(settings, make_app, s3_store):
    ready = make_app(settings.replace(**s3_store.settings)).test_client()
    status, body, _ = readyz(ready)
    assert status == 200 and body["checks"]["store"] == "ok", body
    assert not list(s3_store.client().list_objects_v2(Bucket=s3_store.bucket).get("Contents", []))  # probe removed
    gone = settings.replace(**{**s3_store.settings, "storage_url": "s3://no-such-bucket/gongzhi"})
    status, body, _ = readyz(make_app(gone).test_client())
    assert status == 503 and body["checks"]["store"].startswith("failed"), body
    assert "no-such-bucket" not in str(body)

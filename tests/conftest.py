"""Fixtures: a fresh database and Redis for the run, emptied between tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import text

from core.db import Database, UnitOfWork
from core.migrations import upgrade_database
from core.models import Base
from core.privacy import crypto
from core.settings import Settings
from tests.fakes.fixtures import fake_wechat, fake_wechat_remote  # noqa: F401
from tests.support.backends import BACKENDS, REDIS_HOST, REDIS_PORT, scratch_postgres
from tests.support.storage import S3Location, moto_server, new_bucket

pytest_plugins = ["tests.support.process_leaks"]

REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))


def pytest_report_header(config: pytest.Config) -> str:
    return BACKENDS.description


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") == "true" and not (BACKENDS.real_postgres and BACKENDS.real_redis):
        pytest.exit(f"CI=true needs the real PostgreSQL and Redis; {BACKENDS.description}", returncode=3)
    # Models seal contact details with the process's cipher; a test without an app uses the dev key.
    crypto.configure(Settings())


E2E = Path(__file__).parent / "e2e"


@pytest.hookimpl(tryfirst=True)  # before `-m` selects, so `-m "not slow"` sees these marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `slow` what always is; skip `real_services` tests when a service they need is a stand-in.

    Slow: everything under tests/e2e/ and every `browser` or `fault` test (others say `slow` themselves).
    `@pytest.mark.real_services` needs both services; `real_services("redis")` or `("postgres")` one.
    """
    real = {"postgres": BACKENDS.real_postgres, "redis": BACKENDS.real_redis}
    for item in items:
        if item.path.is_relative_to(E2E) or item.get_closest_marker("browser") or item.get_closest_marker("fault"):
            item.add_marker(pytest.mark.slow)
        marker = item.get_closest_marker("real_services")
        if marker is None:
            continue
        missing = [name for name in (marker.args or ("postgres", "redis")) if not real[name]]
        if missing:
            reason = f"needs the real {' and '.join(missing)}; {BACKENDS.description}"
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked `each_store` runs on the file store and again on S3 (moto's server)."""
    if metafunc.definition.get_closest_marker("each_store") and "store_kind" in metafunc.fixturenames:
        metafunc.parametrize("store_kind", ["file", "s3"], indirect=True)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server over real HTTP on loopback, started once for the run when a test needs it."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_store(moto_endpoint: str) -> S3Location:
    """A fresh bucket: `.settings` for Settings(...), `.env` for a command, `.url` the STORAGE_URL."""
    return new_bucket(moto_endpoint)


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store `settings` use: "file" (MEDIA_DIR), or also "s3" for a test marked `each_store`."""
    return getattr(request, "param", "file")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not BACKENDS.real_postgres:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    with scratch_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade_database(database_url)  # the schema the tests see is the one the migrations make
    yield db
    db.dispose()


@pytest.fixture(autouse=False)
def clean_database(database: Database) -> Iterator[Database]:
    yield database
    tables = [t.name for t in Base.metadata.sorted_tables]
    # DELETE beats TRUNCATE on tables this small; tests must not count on particular ids.
    with database.engine.begin() as conn:
        for table in reversed(tables):
            conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def session(clean_database: Database):
    """A session on the test database; everything is emptied after the test."""
    s = clean_database.session()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def uow(clean_database: Database) -> Iterator[UnitOfWork]:
    with UnitOfWork(clean_database) as unit:
        yield unit


@pytest.fixture
def redis_client():
    """Real Redis (database TEST_REDIS_DB, default 15) when reachable, else fakeredis; emptied after."""
    if BACKENDS.real_redis:
        client = redis_lib.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    else:
        import fakeredis

        client = fakeredis.FakeRedis()
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, store_kind: str, request: pytest.FixtureRequest) -> Settings:
    made = Settings(
        database_url=database_url,
        redis_url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}" if BACKENDS.real_redis else None,
        media_dir=str(tmp_path / "media"),
        secret_key="test-secret",
        job_retry_intervals=(1, 1, 1),
    )
    if store_kind == "s3":
        made = made.replace(**request.getfixturevalue("s3_store").settings)
    return made


@pytest.fixture
def make_app(clean_database: Database, redis_client):
    """Build whole applications (web + bot) for the test; each is shut down cleanly after it.

    Shutting down matters in the embedded mode: a job thread left running would go on taking
    outbox rows of later tests.
    """
    import wsgi

    made = []

    def make(settings: Settings):
        application = wsgi.create_app(settings)
        application.config["TESTING"] = True
        made.append(application)
        return application

    yield make
    for application in made:
        context = application.extensions["gongzhi"]
        close = getattr(context.dispatcher, "close", None)
        if close is not None:
            close()
        context.database.dispose()


@pytest.fixture
def app(settings: Settings, make_app):
    """The whole application on the test database and Redis."""
    return make_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def wechat(client, settings: Settings):
    """Sends callbacks to /wechat, signed with the test token."""
    from tests.support.wechat_sender import WeChatSender

    return WeChatSender(client, settings.wechat_token)

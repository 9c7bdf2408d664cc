"""The push job against the fake platform in this process: signed, once per key, retried, failed visibly."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import case_loop
from core.glossary import CaseStatus
from core.models import PlatformPush
from core.privacy.reporter import reporter_reference
from core.services.privacy_consents import record_consent
from tests.fakes.platform_server import FakePlatform
from tests.support import factories
from tests.support.processes import free_port
from worker import runtime
from worker.jobs.platform import PlatformUnavailable, push_case
from worker.runtime import Runtime

SECRET = "job-test-secret"


@pytest.fixture
def fake_platform():
    with FakePlatform(SECRET, "http://127.0.0.1:9") as fake:
        yield fake


@pytest.fixture
def use(settings, clean_database, redis_client):
    """Install a job runtime with these settings changes."""

    def install(**changes):
        runtime.install(Runtime(settings=settings.replace(**changes), database=clean_database, redis=redis_client))
        return runtime.current()

    yield install
    runtime.install(None)  # type: ignore[arg-type]


def accepted(session, settings, reporter=None):
    case = factories.case(session, settings, reporter=reporter)
    case_loop.transition(session, case, CaseStatus.ACCEPTED, action="accept")
    session.commit()
    return case


def the_push(session):
    session.expire_all()
    return session.scalars(select(PlatformPush)).one()


def test_without_platform_url_nothing_is_sent_or_recorded(session, settings, use):
    use()
    case = accepted(session, settings)
    assert push_case(case.id) == "off"
    assert session.scalars(select(PlatformPush)).all() == []


def test_a_push_is_signed_keyed_and_sent_once(session, settings, use, fake_platform):
    use(platform_url=f"{fake_platform.url}/cases", platform_secret=SECRET)
    case = accepted(session, settings)
    assert push_case(case.id) == "sent"
    assert push_case(case.id) == "sent"  # a rerun of the job finds it sent and posts nothing
    [attempt] = fake_platform.attempts
    assert attempt["signed"] and attempt["fresh"] and attempt["answer"] == 200
    assert attempt["key"] == f"{case.number}:accepted" == attempt["body"]["idempotency_key"]
    assert attempt["body"]["number"] == case.number
    push = the_push(session)
    assert (push.status, push.attempts, push.external_id, push.last_error) == ("sent", 1, "PF-000001", None)
    assert push.sent_at is not None


def test_a_503_is_retried_and_after_the_last_try_the_push_is_failed(session, settings, use, fake_platform):
    rt = use(platform_url=f"{fake_platform.url}/cases", platform_secret=SECRET)
    tries = 1 + len(rt.settings.job_retry_intervals)
    fake_platform._fail.extend([503] * tries)
    case = accepted(session, settings)
    for n in range(1, tries + 1):
        with pytest.raises(PlatformUnavailable):
            push_case(case.id)
        push = the_push(session)
        assert push.attempts == n and "HTTP 503" in push.last_error
        assert push.status == ("failed" if n == tries else "pending")
    # The console's 重试 starts a new round; the platform is back and takes it.
    assert push_case(case.id, attempts_before=tries) == "sent"
    assert the_push(session).status == "sent" and len(fake_platform.cases) == 1


def test_a_request_the_platform_refuses_fails_at_once(session, settings, use, fake_platform):
    use(platform_url=f"{fake_platform.url}/cases", platform_secret="not-the-platforms-secret")
    case = accepted(session, settings)
    assert push_case(case.id) == "failed"  # 401: sending the same thing again cannot help
    push = the_push(session)
    assert push.status == "failed" and push.attempts == 1 and "HTTP 401" in push.last_error


def test_a_platform_not_listening_is_retried(session, settings, use):
    use(platform_url=f"http://127.0.0.1:{free_port()}/cases", platform_secret=SECRET, platform_timeout_seconds=2.0)
    case = accepted(session, settings)
    with pytest.raises(PlatformUnavailable):
        push_case(case.id)
    push = the_push(session)
    assert push.status == "pending" and "无法连接对接平台" in push.last_error


@pytest.mark.parametrize("scopes", [["location"], ["location", "platform_sharing"]])
def test_the_reporter_reference_goes_only_with_platform_sharing(session, settings, use, fake_platform, scopes):
    use(platform_url=f"{fake_platform.url}/cases", platform_secret=SECRET)
    person = factories.resident(session, "oPushed_reporter")
    record_consent(session, settings, person, version=settings.privacy_notice_version, scopes=scopes, channel="wechat")
    case = accepted(session, settings, reporter=person)

    assert push_case(case.id) == "sent"

    [attempt] = fake_platform.attempts
    expected = reporter_reference(settings, case) if "platform_sharing" in scopes else None
    assert attempt["body"]["reporter"] == {"anonymous": False, "label": None, "ref": expected}
    assert attempt["body"]["number"] == case.number  # the case itself goes either way (the district's own duty)

"""Faults on the real services: the database dropping connections, a worker killed mid-job, the WeChat API
failing on 30% of calls, and every message delivered three times at once. (Redis going away during intake
is tests/e2e/test_redis_outage.py.) Nothing may be lost, doubled or half-written."""

from __future__ import annotations

import io
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from core.glossary import NotificationStatus, Role
from core.models import Case, CaseEvent, Notification, Photo, PrivacyConsent, Resident, StaffUser
from core.models.base import utcnow
from core.services import cases as case_service
from tests.fakes.tcp_proxy import TcpProxy
from tests.support import api, factories, images
from tests.support.browser import LiveServer
from tests.support.processes import wait_until
from tests.support.wechat_sender import WeChatSender, build

pytestmark = [pytest.mark.real_services, pytest.mark.fault]
SEND = "/cgi-bin/message/custom/send"


def _files(settings) -> list[Path]:
    media = Path(settings.media_dir)
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def test_a_lost_database_is_a_503_and_the_retry_goes_through(settings, make_app, fake_wechat, clean_database):
    url = make_url(settings.database_url)
    with TcpProxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
        fake_wechat.apps[settings.wechat_mini_app_id] = settings.wechat_mini_app_secret
        app = make_app(settings.replace(database_url=proxied, wechat_api_base=fake_wechat.base_url))
        client = app.test_client()
        with clean_database.session() as s:
            factories.gate_checkpoint(s, lat=31.805, lng=117.305)
            from core.services.catalogue import load_catalogue

            load_catalogue(s, settings.catalogue_file)
            factories.staff(s, "center", Role.DISTRICT_CENTER)
            s.commit()
        fake_wechat.add_login_code("fault-code", "oMini_fault", "k")
        headers = {
            "Authorization": f"Bearer {client.post('/api/v1/session', json={'code': 'fault-code'}).get_json()['token']}"
        }
        api.agree(client, headers)

        def report():
            form = {
                "category": "0101",
                "description": "垃圾没人清",
                "lat": "31.805",
                "lng": "117.305",
                "coord_system": "gcj02",
                "client_request_id": "fault-1",
                "photos": [(io.BytesIO(images.photo_with_exif(400, 300)), "a.jpg")],
            }
            return client.post("/api/v1/reports", data=form, headers=headers, content_type="multipart/form-data")

        proxy.cut()  # the database is gone: pooled connections dropped, new ones refused
        failed = report()
        assert failed.status_code == 503 and failed.headers["Retry-After"]
        assert failed.get_json()["error"]["code"] == "unavailable"
        wechat = WeChatSender(client, settings.wechat_token)
        assert wechat.text("oFault_wechat", "路灯坏了").status_code == 503  # WeChat will retry it
        assert _files(settings) == []  # the saved photo went with the failed request
        with clean_database.session() as s:  # straight to PostgreSQL, past the proxy
            assert s.scalar(select(func.count()).select_from(Case)) == 0

        proxy.restore()
        again = report()
        assert again.status_code == 201, again.get_json()
        assert report().status_code == 200  # and a third try is the same case, not another
        with clean_database.session() as s:
            assert s.scalar(select(func.count()).select_from(Case)) == 1
            assert s.scalar(select(func.count()).select_from(Photo)) == 1
        assert len(_files(settings)) == 1


def _case_with_followers(session, settings, openids: list[str]) -> tuple[Case, StaffUser]:
    grids = factories.grid_tree(session)
    center = factories.staff(session, "center", Role.DISTRICT_CENTER)
    people = [factories.resident(session, openid) for openid in openids]
    for person in people:
        person.last_message_at = utcnow()  # inside WeChat's 48-hour window
    case = factories.case(session, settings, grid=grids["G1"], reporter=people[0])
    case.followers.extend(people[1:])
    session.commit()
    return case, center


def test_a_worker_killed_mid_job_the_job_runs_again_and_no_resident_is_told_twice(
    settings, clean_database, fake_wechat, start_worker
):
    settings = settings.replace(
        wechat_api_base=fake_wechat.base_url, relay_poll_seconds=0.5, worker_maintenance_seconds=2
    )
    openids = ["oKill_first", "oKill_second", "oKill_third"]
    with clean_database.session() as s:
        case, center = _case_with_followers(s, settings, openids)
        number = case.number
    # The first send hangs: the worker is killed while it waits, after the message may have arrived.
    fake_wechat.fail_next(1, delay=20, path=SEND)
    doomed = start_worker(settings, name="doomed")
    with clean_database.session() as s:
        case_service.perform(s, s.get(type(center), center.id), number, "accept", {})
        s.commit()
    wait_until(lambda: fake_wechat.calls(SEND), timeout=30, what="the first send to reach WeChat")
    doomed.kill()
    start_worker(settings, name="heir")

    def settled():
        with clean_database.session() as s:
            notes = s.scalars(select(Notification)).all()
            done = [n for n in notes if n.status in (NotificationStatus.SENT, NotificationStatus.FAILED)]
            return notes if len(done) == len(openids) else None

    # rq notices the dead worker once its heartbeat lapses (about a minute), and retries the job.
    notes = wait_until(settled, timeout=150, what="the abandoned job to run again")
    assert len({n.resident_id for n in notes}) == len(openids)
    calls = fake_wechat.calls(SEND)
    # A call refused for its access token (40001: the client then refreshes it and calls again)
    # delivered nothing; every other answered or unanswered call may have reached the resident.
    sent = Counter(c.json["touser"] for c in calls if c.errcode != 40001)
    story = [(round(c.time - calls[0].time, 2), c.json["touser"], c.status, c.errcode) for c in calls]
    story += [(n.resident_id, n.status.value, n.error) for n in notes]
    assert all(count == 1 for count in sent.values()), story  # nobody told twice
    assert sent["oKill_second"] == sent["oKill_third"] == 1  # the rest were told by the job's second run
    statuses = Counter(n.status for n in notes)
    # The interrupted one may have arrived, so it is not sent again: it is failed, for staff to see.
    assert statuses == {NotificationStatus.SENT: 2, NotificationStatus.FAILED: 1}


@pytest.mark.parametrize("kind", ["errcode", "delay"])
def test_wechat_failing_on_30_percent_of_calls_every_message_arrives_once_or_fails_visibly(
    settings, clean_database, fake_wechat, start_worker, kind
):
    """errcode -1 (系统繁忙) certainly did not send: the job retries. A call that times out may have been
    delivered (the fake answers after the client gave up): it is never resent, and is marked failed."""
    settings = settings.replace(
        wechat_api_base=fake_wechat.base_url,
        relay_poll_seconds=0.5,
        wechat_timeout_seconds=1.0,
        wechat_max_retries=0,
        job_retry_intervals=(1, 1, 2),
    )
    openids = [f"oFlaky_{n:02d}" for n in range(12)]
    with clean_database.session() as s:
        grids = factories.grid_tree(s)
        center = factories.staff(s, "center", Role.DISTRICT_CENTER)
        numbers = []
        for openid in openids:
            person = factories.resident(s, openid)
            person.last_message_at = utcnow()
            numbers.append(factories.case(s, settings, grid=grids["G1"], reporter=person).number)
        s.commit()
        center_id = center.id
    fake_wechat.fail_ratio(0.3, seed=7, kind=kind, errcode=-1, delay=2.0, path=SEND)
    start_worker(settings, name="flaky-a")
    start_worker(settings, name="flaky-b")
    with clean_database.session() as s:
        for number in numbers:  # two moves each: 24 messages
            staff = s.get(type(center), center_id)
            case_service.perform(s, staff, number, "accept", {})
            case_service.perform(s, staff, number, "dispatch", {"assignee": "center", "tier": "district"})
            s.commit()
    connection = redis.Redis.from_url(settings.redis_url)
    registry = FailedJobRegistry(queue=Queue("notify", connection=connection))

    def settled():
        with clean_database.session() as s:
            notes = s.scalars(select(Notification)).all()
            pending = [n for n in notes if n.status in (NotificationStatus.PENDING, NotificationStatus.SENDING)]
            if len(notes) == 2 * len(openids) and len(pending) <= registry.count:
                return notes
            return None

    notes = wait_until(settled, timeout=120, what="every notification to be sent, failed, or its job failed")
    time.sleep(2.5)  # let delayed answers land in the fake's log
    delivered = Counter(
        (c.json["touser"], c.json["text"]["content"])
        for c in fake_wechat.calls(SEND)
        if c.status == 200 and not c.errcode
    )
    assert all(count == 1 for count in delivered.values()), delivered  # never twice
    with clean_database.session() as s:
        openid_of = dict(s.execute(select(Resident.id, Resident.openid)).all())
        for note in s.scalars(select(Notification)):
            key = (openid_of[note.resident_id], note.content)
            if note.status == NotificationStatus.SENT:
                assert delivered[key] == 1
            elif note.status == NotificationStatus.FAILED:
                assert note.error  # visible, with the reason, for staff
            else:  # still pending: its job ran out of retries and waits in rq's failed registry
                assert registry.count >= 1 and delivered[key] == 0
    sent = sum(1 for n in notes if n.status == NotificationStatus.SENT)
    assert sent >= len(openids)  # most get through


def test_every_message_delivered_three_times_at_once_makes_one_case_each(
    settings, clean_database, make_app, fake_wechat
):
    app = make_app(settings.replace(wechat_api_base=fake_wechat.base_url))
    residents = [f"oTriple_{n:02d}" for n in range(20)]
    with LiveServer(app) as server:
        import requests

        session = requests.Session()
        sender = WeChatSender(None, settings.wechat_token)

        def deliver(body: str) -> int:
            query = sender.query()
            response = session.post(f"{server.url}/wechat", params=query, data=body.encode(), timeout=30)
            return response.status_code

        steps = [
            [build("text", o, Content="同意") for o in residents],  # the privacy notice, before any report
            [build("location", o, Location_X=31.805, Location_Y=117.305, Scale=16, Label="东门") for o in residents],
            [build("text", o, Content=f"第{n}号问题") for n, o in enumerate(residents)],
            [build("text", o, Content="提交") for o in residents],
        ]
        statuses: list[int] = []
        with ThreadPoolExecutor(max_workers=24) as pool:
            # Step by step for everyone at once: each message three times, concurrently, all residents together.
            for step in steps:
                statuses.extend(pool.map(deliver, [body for body in step for _ in range(3)]))
    assert set(statuses) == {200}
    with clean_database.session() as s:
        cases = s.scalars(select(Case)).all()
        assert len(cases) == len(residents)
        assert sorted(c.description for c in cases) == sorted(f"第{n}号问题" for n in range(len(residents)))
        reports = s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.action == "report"))
        assert reports == len(residents)
        assert s.scalar(select(func.count()).select_from(PrivacyConsent)) == len(residents)  # one each, not three

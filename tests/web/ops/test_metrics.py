"""/metrics: Prometheus text that moves with traffic, for loopback or METRICS_TOKEN's bearer only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from sqlalchemy import select, update

from core.glossary import NotificationStatus
from core.models import Case, CaseEvent, Notification, OutboxMessage
from core.models.base import utcnow
from core.services import api_keys
from core.services.catalogue import load_catalogue
from tests.support import factories
from worker.runtime import JOB_SERIALIZER

TOKEN = "metrics-token-for-the-tests-0123456789"


def scrape(client, **kw) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = client.get("/metrics", **kw)
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/plain; version=0.0.4")
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def open311_key(app, settings) -> str:
    with app.extensions["gongzhi"].database.session() as s:
        load_catalogue(s, settings.catalogue_file)
        factories.grid_tree(s)
        _row, key = api_keys.create_key(s, "测试客户端")
        s.commit()
    return key


def report(client, key: str, description: str = "路边垃圾"):
    form = {"api_key": key, "service_code": "0101", "lat": "31.82", "long": "117.22", "description": description}
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_a_report_moves_cases_created_and_the_request_counters(client, open311_key):
    before = scrape(client)
    report(client, open311_key)
    after = scrape(client)
    assert (
        value(after, "gongzhi_cases_created_total", source="open311")
        == value(before, "gongzhi_cases_created_total", source="open311") + 1
    )
    assert value(after, "gongzhi_cases_created_total", source="wechat") == value(
        before, "gongzhi_cases_created_total", source="wechat"
    )
    route = {"route": "/open311/v2/requests.<any(json, xml):fmt>", "method": "POST"}
    counted = value(after, "gongzhi_http_requests_total", status="200", **route)
    assert counted == value(before, "gongzhi_http_requests_total", status="200", **route) + 1
    timed = value(after, "gongzhi_http_request_duration_seconds_count", **route)
    assert timed == value(before, "gongzhi_http_request_duration_seconds_count", **route) + 1


def test_labels_name_routes_never_paths(client):
    client.get("/t/SOME-TRACKING-TOKEN-abcdef")
    client.get("/no/such/page/GZ20261121-000042")
    text = client.get("/metrics").get_data(as_text=True)
    assert "SOME-TRACKING-TOKEN" not in text and "GZ20261121" not in text
    assert 'route="<unmatched>"' in text


def test_notifications_deadlines_and_the_outbox_are_read_from_the_database(app, client, settings):
    context = app.extensions["gongzhi"]
    before = scrape(client)
    with context.database.session() as s:
        case, _leader = factories.dispatched_case(s, settings, hours=1)
        first, second = factories.resident(s), factories.resident(s, "oResident_f_0002")
        event_id = s.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc()))
        told = ((first, "template", "sent"), (second, "template", "failed"), (first, "customer_service", "sent"))
        for person, channel, status in told:
            s.add(
                Notification(
                    event_id=event_id, resident_id=person.id, channel=channel, status=NotificationStatus(status)
                )
            )
        now = utcnow()
        late = {"deadline_at": now - timedelta(minutes=5), "warned_at": now, "overdue_at": now}
        s.execute(update(Case).where(Case.id == case.id).values(**late))
        s.add(OutboxMessage(topic="test.nothing", payload={}, created_at=utcnow() - timedelta(minutes=10)))
        s.commit()
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("gongzhi_notifications_sent_total", channel="template") == 1
    assert grew("gongzhi_notifications_failed_total", channel="template") == 1
    assert grew("gongzhi_notifications_sent_total", channel="customer_service") == 1
    assert grew("gongzhi_deadline_warnings_total") == 1
    assert grew("gongzhi_cases_marked_overdue_total") == 1
    assert value(after, "gongzhi_cases_overdue") == 1
    assert value(after, "gongzhi_outbox_pending") >= 1
    assert value(after, "gongzhi_outbox_oldest_pending_age_seconds") >= 600
    assert value(after, "gongzhi_scrape_source_up", source="database") == 1


@pytest.mark.real_services("redis")
def test_queue_depth_and_failed_jobs_per_queue(client, redis_client):
    queue = Queue("media", connection=redis_client, serializer=JOB_SERIALIZER)
    queue.enqueue("tests.nowhere.job")
    queue.enqueue("tests.nowhere.job")
    samples = scrape(client)
    assert value(samples, "gongzhi_queue_jobs", queue="media") == 2
    assert value(samples, "gongzhi_queue_jobs", queue="notify") == 0
    assert value(samples, "gongzhi_queue_failed_jobs", queue="media") == 0
    assert value(samples, "gongzhi_scrape_source_up", source="redis") == 1


def test_only_loopback_without_a_token(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 403


def test_behind_a_proxy_the_forwarded_client_is_the_one_judged(settings, make_app):
    client = make_app(settings.replace(trusted_proxy_hops=1)).test_client()
    outside = {"REMOTE_ADDR": "127.0.0.1"}  # nginx on the same machine, forwarding someone from outside
    assert client.get("/metrics", environ_base=outside, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    assert client.get("/metrics", environ_base=outside, headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def test_with_a_token_only_its_bearer(settings, make_app):
    client = make_app(settings.replace(metrics_token=TOKEN)).test_client()
    remote = {"REMOTE_ADDR": "10.0.0.7"}
    assert client.get("/metrics", environ_base=remote).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.get("/metrics", environ_base=remote, headers=wrong).status_code == 403
    ok = client.get("/metrics", environ_base=remote, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and TOKEN not in ok.get_data(as_text=True)

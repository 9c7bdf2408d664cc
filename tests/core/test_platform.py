"""The platform contract's rules: signatures, the pushed body, and events kept once and applied in order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core import case_loop
from core.errors import InvalidInput, NotFound
from core.glossary import CaseStatus, CoordSystem, PhotoStatus, Tier
from core.media_urls import serializer
from core.models import CaseEvent, Category, OutboxMessage, Photo, PlatformEvent, PlatformPush
from core.privacy.reporter import reporter_reference
from core.services import platform, platform_events
from core.services.privacy_consents import record_consent
from tests.support import factories

S = CaseStatus
SECRET = "secret"
NOW = 1_700_000_000


# --- signatures ---------------------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # Computed outside Python: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
    expected = "49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
    assert platform.sign(SECRET, NOW, b'{"a":1}') == expected
    headers = platform.signed_headers(SECRET, NOW, b'{"a":1}')
    assert headers == {"X-Gongzhi-Timestamp": str(NOW), "X-Gongzhi-Signature": f"sha256={expected}"}


def test_a_good_signature_within_the_window_passes():
    body = b'{"event_id":"e1"}'
    signature = "sha256=" + platform.sign(SECRET, NOW, body)
    platform.verify(SECRET, str(NOW), signature, body, now=NOW + 299)
    platform.verify(SECRET, str(NOW), signature, body, now=NOW - 299)  # a platform clock a little ahead


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "now", "says"),
    [
        (None, "sha256=x", b"{}", NOW, "缺少签名"),
        (str(NOW), None, b"{}", NOW, "缺少签名"),
        ("17e8", "sha256=x", b"{}", NOW, "Unix 时间"),
        (str(NOW), "sha256=" + platform.sign(SECRET, NOW, b"{}"), b"{}", NOW + 301, "超过 300 秒"),
        (str(NOW), "sha256=" + platform.sign(SECRET, NOW, b"{}"), b"{}", NOW - 301, "超过 300 秒"),
        (str(NOW), "sha256=" + platform.sign(SECRET, NOW, b"{}"), b'{"x":1}', NOW, "签名不正确"),
        (str(NOW), "sha256=" + platform.sign("other", NOW, b"{}"), b"{}", NOW, "签名不正确"),
        (str(NOW), platform.sign(SECRET, NOW, b"{}"), b"{}", NOW, "签名不正确"),  # no sha256= prefix
        (str(NOW + 1), "sha256=" + platform.sign(SECRET, NOW, b"{}"), b"{}", NOW, "签名不正确"),
        (str(NOW), "sha256=中文", b"{}", NOW, "签名不正确"),
    ],
)
def test_bad_missing_or_stale_signatures_are_refused(timestamp, signature, body, now, says):
    with pytest.raises(platform.SignatureRefused) as refused:
        platform.verify(SECRET, timestamp, signature, body, now=now)
    assert says in str(refused.value)


# --- the pushed body ----------------------------------------------------------------------------


def accepted_case(session, settings, **kw):
    case = factories.case(session, settings, **kw)
    case_loop.transition(session, case, S.ACCEPTED, action="accept")
    session.commit()
    return case


def test_the_pushed_body_names_the_case_and_no_personal_data(session, settings):
    grids = factories.grid_tree(session)
    category = Category(code="0101", name="路灯损坏", default_tier=Tier.COMMUNITY, time_limit_hours=24)
    session.add(category)
    person = factories.resident(session, "oSecret_openid")
    case = factories.case(session, settings, grid=grids["G1"], reporter=person)
    case.category, case.coord_system, case.location_label = category, CoordSystem.GCJ02, "方兴大道 1 号"
    case.contact_phone = "13800000000"
    case.created_at = datetime(2026, 11, 21, 6, 3, tzinfo=UTC)
    ready = Photo(case_id=case.id, status=PhotoStatus.READY, path="photos/2026/11/1-abc.jpg", thumb_path="photos/t.jpg")
    waiting = Photo(case_id=case.id, status=PhotoStatus.PENDING, upload_path="uploads/x.jpg")
    session.add_all([ready, waiting])
    case_loop.transition(session, case, S.ACCEPTED, action="accept")
    session.commit()

    photos = platform.photo_links(session, case, settings)
    body = platform.push_body(case, platform.idempotency_key(case), settings.tz, photos)
    [photo] = body["photos"]  # the one processed (EXIF gone); the one still processing is left out
    token = photo["url"].removeprefix(f"{settings.public_base_url}/media/")
    assert serializer(settings).loads(token) == "photos/2026/11/1-abc.jpg"
    assert serializer(settings).loads(photo["thumbnail_url"].rsplit("/", 1)[1]) == "photos/t.jpg"
    assert body["photo_links_expire_in"] == 6 * 3600
    assert body["idempotency_key"] == f"{case.number}:accepted"
    assert body["number"] == case.number and body["description"] == "路灯不亮" and body["source"] == "wechat"
    assert body["category"] == {"code": "0101", "name": "路灯损坏"}
    assert body["grid"] == {"code": "G1", "name": "网格G1"}
    assert body["location"] == {"lat": 31.8, "lng": 117.3, "coord_system": "gcj02", "label": "方兴大道 1 号"}
    assert body["created_at"] == "2026-11-21T14:03:00+08:00"  # the district's own offset
    assert body["accepted_at"].endswith("+08:00")
    sent = platform.canonical_json(body).decode()
    assert "oSecret_openid" not in sent and "13800000000" not in sent and "路灯损坏" in sent  # Chinese unescaped


def test_the_push_masks_the_description_and_names_the_reporter_only_by_an_opaque_reference(session, settings):
    grids = factories.grid_tree(session)
    first, second = factories.resident(session, "oFirst_openid"), factories.resident(session, "oSecond_openid")
    cases = [factories.case(session, settings, grid=grids["G1"], reporter=who) for who in (first, first, second)]
    cases[0].description = "3栋502室门口堆满垃圾，联系我 138 1234 5678，车牌京A12345"
    cases[0].location_label = "幸福路 12 号 3栋502室"
    session.flush()
    bodies = [
        platform.push_body(c, platform.idempotency_key(c), settings.tz, reference=reporter_reference(settings, c))
        for c in cases
    ]
    assert bodies[0]["description"] == "＊＊＊门口堆满垃圾，联系我 ＊＊＊，车牌＊＊＊"
    assert bodies[0]["location"]["label"] == "幸福路 12 号 ＊＊＊"
    refs = [body["reporter"]["ref"] for body in bodies]
    assert refs[0] == refs[1] != refs[2]  # stable per resident, different between residents
    assert len(refs[0]) == 32 and str(first.id) not in [refs[0]]
    assert bodies[0]["reporter"] == {"anonymous": False, "label": None, "ref": refs[0]}
    # Another key gives other references: only this service can link a reference back.
    assert reporter_reference(settings.replace(platform_reference_key="r" * 40), cases[0]) != refs[0]
    sent = platform.canonical_json(bodies[0]).decode()
    assert "oFirst_openid" not in sent and "5678" not in sent and "502" not in sent


def test_the_reporter_reference_is_shared_only_with_the_reporters_platform_sharing_consent(session, settings):
    grids = factories.grid_tree(session)
    person = factories.resident(session, "oShare_openid")
    case = factories.case(session, settings, grid=grids["G1"], reporter=person)
    session.flush()

    def consent(*scopes: str, version: str = settings.privacy_notice_version) -> str | None:
        record_consent(
            session,
            settings.replace(privacy_notice_version=version),
            person,
            version=version,
            scopes=scopes,
            channel="miniprogram",
        )
        return platform.shared_reference(session, settings, case)

    assert platform.shared_reference(session, settings, case) is None  # never agreed
    assert consent("location") is None  # the notice acknowledged, not the sharing
    assert consent("location", "platform_sharing") == reporter_reference(settings, case)
    assert consent("location") is None  # withdrawn
    assert consent("platform_sharing", version="2025-01") is None  # given to an older notice: counts for nothing
    consent("platform_sharing")
    case.anonymous = True
    assert platform.shared_reference(session, settings, case) is None  # an anonymous report names no one


def test_an_anonymous_report_is_pushed_as_anonymous(session, settings):
    grids = factories.grid_tree(session)
    person = factories.resident(session, "oAnon_openid")
    person.nickname, person.phone = "匿名者的昵称", "13700000000"
    case = factories.case(session, settings, grid=grids["G1"], reporter=person)
    case.anonymous, case.contact_phone = True, "13700000000"
    session.flush()
    assert reporter_reference(settings, case) is None
    body = platform.push_body(case, platform.idempotency_key(case), settings.tz, reference=None)
    assert body["reporter"] == {"anonymous": True, "label": "匿名", "ref": None}
    sent = platform.canonical_json(body).decode()
    assert not any(v in sent for v in ("oAnon_openid", "匿名者的昵称", "13700000000", f'"{person.id}"'))


def test_accepting_a_case_queues_its_push_and_a_failed_push_can_be_retried(session, settings):
    case = accepted_case(session, settings)
    [queued] = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "case.platform_push")).all()
    assert queued.payload["case_id"] == case.id

    push = platform.push_for(session, case)
    again = platform.push_for(session, case)
    assert again.id == push.id and push.status == "pending"  # one row per case, whatever runs it twice
    push.status, push.attempts, push.last_error = "failed", 4, "HTTP 503"
    session.commit()
    assert [p.id for p in platform.unsettled_pushes(session)] == [push.id]

    platform.retry_push(session, push.id)
    session.commit()
    retried = session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "case.platform_push").order_by(OutboxMessage.id)
    ).all()
    assert retried[-1].payload == {"case_id": case.id, "attempts_before": 4}
    assert session.get(PlatformPush, push.id).status == "pending"

    push.status = "sent"
    session.commit()
    with pytest.raises(InvalidInput, match="已推送成功"):
        platform.retry_push(session, push.id)
    with pytest.raises(NotFound):
        platform.retry_push(session, push.id + 1000)


# --- events -------------------------------------------------------------------------------------


def event(case, seq, action, event_id=None, **fields):
    return platform_events.check_body(
        {"event_id": event_id or f"ev-{seq}", "case_number": case.number, "sequence": seq, "action": action, **fields}
    )


def timeline(session, case):
    return [
        (e.action, e.to_status)
        for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    ]


def test_events_in_order_drive_the_loop_without_a_staff_actor(session, settings):
    person = factories.resident(session)
    case = accepted_case(session, settings, reporter=person)
    moves = [
        event(case, 1, "dispatch", assignee="李四", department="城管执法中队", tier="street", note="请尽快"),
        event(case, 2, "handle", note="已修复"),
        event(case, 3, "verify", passed=True),
        event(case, 4, "close", note="办结"),
    ]
    for body in moves:
        outcome = platform_events.apply_event(session, body)
        session.commit()
        assert outcome.event.status == "applied" and not outcome.duplicate
    assert case.status == S.CLOSED and case.tier == Tier.STREET and case.assignee is None
    assert timeline(session, case)[-4:] == [
        ("dispatch", S.DISPATCHED),
        ("handle", S.HANDLED),
        ("verify", S.VERIFIED),
        ("close", S.CLOSED),
    ]
    dispatch = session.scalar(select(CaseEvent).where(CaseEvent.action == "dispatch"))
    assert dispatch.actor_staff_id is None and dispatch.note == "请尽快"
    assert dispatch.data == {
        "via": "platform",
        "platform_event_id": "ev-1",
        "sequence": 1,
        "assignee_name": "李四",
        "department": "城管执法中队",
        "tier": "street",
    }
    # Each move tells the resident through the usual outbox topic.
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "case.status_changed")).all()
    moved = session.scalars(select(CaseEvent.id).where(CaseEvent.data["via"].as_string() == "platform")).all()
    assert set(moved) <= {m.payload["event_id"] for m in told} and len(moved) == 4


def test_an_early_event_waits_for_the_gap_then_both_apply_in_order(session, settings):
    case = accepted_case(session, settings)
    early = platform_events.apply_event(session, event(case, 2, "handle", note="已清理"))
    session.commit()
    assert early.event.status == "pending" and early.processed == []
    assert case.status == S.ACCEPTED

    late = platform_events.apply_event(session, event(case, 1, "dispatch", assignee="王五"))
    session.commit()
    assert [(e.event_id, e.status) for e in late.processed] == [("ev-1", "applied"), ("ev-2", "applied")]
    assert case.status == S.HANDLED
    assert [a for a, _ in timeline(session, case)][-2:] == ["dispatch", "handle"]


def test_a_repeated_event_changes_nothing_and_a_reused_id_or_sequence_is_a_conflict(session, settings):
    case = accepted_case(session, settings)
    body = event(case, 1, "dispatch", assignee="王五")
    platform_events.apply_event(session, body)
    session.commit()
    events_before = len(timeline(session, case))

    again = platform_events.apply_event(session, dict(body))
    session.commit()
    assert again.duplicate and again.event.status == "applied" and again.processed == []
    assert len(timeline(session, case)) == events_before

    with pytest.raises(platform_events.EventConflict, match="内容与这次不同"):
        platform_events.apply_event(session, {**body, "assignee": "赵六"})
    session.rollback()
    with pytest.raises(platform_events.EventConflict, match="序号 1 已由事件 ev-1 使用"):
        platform_events.apply_event(session, event(case, 1, "handle", event_id="ev-other", note="x"))
    session.rollback()
    assert session.scalars(select(PlatformEvent)).all() == [again.event]


def test_a_move_the_loop_forbids_is_refused_with_the_reason_and_the_next_one_still_applies(session, settings):
    case = accepted_case(session, settings)
    refused = platform_events.apply_event(session, event(case, 1, "close"))
    session.commit()
    assert refused.event.status == "refused"
    assert refused.event.error == f"案件 {case.number} 当前状态为「已受理」，不能变为「已办结」"
    assert case.status == S.ACCEPTED

    rework = platform_events.apply_event(session, event(case, 2, "verify", passed=False, note="没修好"))
    session.commit()
    assert rework.event.status == "refused" and "不能退回重办" in rework.event.error

    applied = platform_events.apply_event(session, event(case, 3, "dispatch", assignee="王五"))
    session.commit()
    assert applied.event.status == "applied" and case.status == S.DISPATCHED


def test_escalation_raises_the_tier_and_stops_at_the_district(session, settings):
    case = accepted_case(session, settings)
    platform_events.apply_event(session, event(case, 1, "dispatch", assignee="网格员甲"))
    platform_events.apply_event(session, event(case, 2, "escalate", department="街道城管科"))
    session.commit()
    assert case.tier == Tier.STREET and case.status == S.DISPATCHED
    third = platform_events.apply_event(session, event(case, 3, "escalate", assisting=["区市场监管局"]))
    session.commit()
    assert third.event.status == "applied" and case.tier == Tier.DISTRICT and case.assisting_units == ["区市场监管局"]
    top = platform_events.apply_event(session, event(case, 4, "escalate"))
    session.commit()
    assert top.event.status == "refused" and "已在区级" in top.event.error


def test_an_unknown_case_stores_nothing(session, settings):
    with pytest.raises(NotFound):
        platform_events.apply_event(
            session, {"event_id": "x1", "case_number": "GZ20990101-000001", "sequence": 1, "action": "close"}
        )
    session.rollback()
    assert session.scalars(select(PlatformEvent)).all() == []


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"event_id": ""}, "event_id"),
        ({"event_id": "有中文"}, "event_id"),
        ({"event_id": "x" * 65}, "event_id"),
        ({"sequence": 0}, "sequence"),
        ({"sequence": True}, "sequence"),
        ({"sequence": "1"}, "sequence"),
        ({"action": "teleport"}, "未知操作"),
        ({"case_number": ""}, "案件编号"),
        ({"action": "dispatch"}, "assignee"),
        ({"action": "dispatch", "assignee": "甲", "tier": "city"}, "tier"),
        ({"action": "handle"}, "处置说明"),
        ({"action": "verify"}, "passed"),
        ({"action": "verify", "passed": False}, "核查未通过的原因"),
        ({"action": "reject"}, "不予受理的理由"),
        ({"action": "escalate", "assisting": "区城管局"}, "assisting"),
        ({"occurred_at": "2026-11-21 14:03"}, "occurred_at"),
        ({"note": 5}, "note"),
    ],
)
def test_malformed_events_are_refused_in_chinese(changes, says):
    body = {"event_id": "e1", "case_number": "GZ20261121-000001", "sequence": 1, "action": "close", **changes}
    with pytest.raises(InvalidInput) as invalid:
        platform_events.check_body(body)
    assert says in invalid.value.message

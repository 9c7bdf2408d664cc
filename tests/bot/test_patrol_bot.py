"""Staff in the official account: binding their WeChat with a code, then checking in by scanning signs."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from core.glossary import Role
from core.models import CheckIn, Checkpoint, ReportDraft, Resident, StaffUser
from core.services.checkpoints import scene_for, sign_url
from tests.support import factories
from tests.support.wechat_sender import build, reply_text

STAFF, RESIDENT, STRANGER = "oStaff_worker", "oResident_plain", "oStaff_far"
CHECKED_IN = re.compile(r"^已签到：小区东门（(\d{2}:\d{2})）。如需上报问题，请直接拍照发送。$")


@dataclass
class Sign:
    scene: str
    url: str


@pytest.fixture
def db(app):
    return app.extensions["gongzhi"].database


@pytest.fixture
def sign(db, settings) -> Sign:
    with db.session() as s:
        grids = factories.grid_tree(s)
        point = Checkpoint(label="CP0001", name="小区东门", grid=grids["G1"], lat=31.8, lng=117.3)
        s.add(point)
        factories.staff(s, "worker", Role.GRID_WORKER, "G1", display_name="张网格")
        factories.staff(s, "far-worker", Role.GRID_WORKER, "X")
        s.commit()
        return Sign(scene_for(settings, point), sign_url(settings, point))


def binding_code(client, username: str) -> str:
    signed_in = client.post("/api/v1/staff/token", json={"username": username, "password": factories.PASSWORD})
    headers = {"Authorization": f"Bearer {signed_in.get_json()['token']}"}
    response = client.post("/api/v1/staff/wechat-binding", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["code"]


def bind(client, wechat, username: str, openid: str) -> str:
    reply = reply_text(wechat.text(openid, f"绑定 {binding_code(client, username)}"))
    assert reply.startswith("绑定成功！"), reply
    return reply


def check_ins(db, **where) -> list[CheckIn]:
    with db.session() as s:
        query = select(CheckIn)
        for name, value in where.items():
            query = query.where(getattr(CheckIn, name) == value)
        return list(s.scalars(query))


def draft_checkpoint(db, openid: str) -> str | None:
    with db.session() as s:
        resident = s.scalar(select(Resident).where(Resident.openid == openid))
        draft = s.scalar(select(ReportDraft).where(ReportDraft.resident_id == resident.id))
        return (draft.report or {}).get("checkpoint_label") if draft else None


def scan_event(kind: str, openid: str, sign: Sign, create_time: int) -> str:
    if kind == "scan":
        return build("event", openid, Event="SCAN", EventKey=sign.scene, Ticket="t", create_time=create_time)
    if kind == "subscribe_scan":
        return build(
            "event", openid, Event="subscribe", EventKey=f"qrscene_{sign.scene}", Ticket="t", create_time=create_time
        )
    info = {"ScanType": "qrcode", "ScanResult": sign.url}
    return build(
        "event",
        openid,
        Event="scancode_waitmsg",
        EventKey="SCAN_CHECKPOINT",
        ScanCodeInfo=info,
        create_time=create_time,
    )


def test_binding_with_the_code_from_the_staff_api(client, wechat, db, sign):
    code = binding_code(client, "worker")
    reply = reply_text(wechat.text(STAFF, f"绑定 {code}"))
    assert reply == "绑定成功！本微信已绑定工作账号「张网格」，今后在公众号中扫描巡查点二维码即可签到。"
    with db.session() as s:
        assert s.scalar(select(StaffUser).where(StaffUser.username == "worker")).openid == STAFF
    # The code works once: someone else sending it later binds nothing.
    assert reply_text(wechat.text(RESIDENT, f"绑定 {code}")) == "绑定码无效或已过期，请在工作端重新获取"
    assert reply_text(wechat.text(RESIDENT, "绑定 12345")) == "绑定码无效或已过期，请在工作端重新获取"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.openid.is_not(None))) == 1


def test_an_openid_bound_to_one_account_cannot_bind_another(client, wechat, db, sign):
    bind(client, wechat, "worker", STAFF)
    refused = reply_text(wechat.text(STAFF, f"绑定 {binding_code(client, 'far-worker')}"))
    assert "已绑定其他工作账号" in refused
    with db.session() as s:
        assert s.scalar(select(StaffUser).where(StaffUser.username == "far-worker")).openid is None


@pytest.mark.parametrize("kind", ["scan", "subscribe_scan", "scancode_waitmsg"])
def test_a_bound_staff_member_scanning_a_sign_checks_in(client, wechat, db, sign, settings, kind):
    bind(client, wechat, "worker", STAFF)
    reply = reply_text(wechat.post(scan_event(kind, STAFF, sign, 1763700000)))
    if kind == "subscribe_scan":
        reply = reply.removeprefix("欢迎关注！")
    assert (match := CHECKED_IN.match(reply)), reply
    [check_in] = check_ins(db)
    assert check_in.source == "wechat" and check_in.lat is None
    assert match[1] == check_in.at.astimezone(settings.tz).strftime("%H:%M")
    with db.session() as s:
        worker = s.scalar(select(StaffUser).where(StaffUser.username == "worker"))
        assert check_in.staff_id == worker.id
        assert (worker.last_lat, worker.last_lng) == (31.8, 117.3)  # the checkpoint's place
    assert draft_checkpoint(db, STAFF) == "CP0001"  # a photo sent next reports from here


@pytest.mark.parametrize("kind", ["scan", "subscribe_scan", "scancode_waitmsg"])
def test_a_resident_scanning_a_sign_starts_a_report_and_checks_nothing_in(wechat, db, sign, kind):
    reply = reply_text(wechat.post(scan_event(kind, RESIDENT, sign, 1763700000)))
    assert "您在「小区东门」" in reply
    assert check_ins(db) == []
    assert draft_checkpoint(db, RESIDENT) == "CP0001"


def test_staff_outside_the_checkpoints_area_get_the_residents_path(client, wechat, db, sign):
    bind(client, wechat, "far-worker", STRANGER)
    reply = reply_text(wechat.post(scan_event("scan", STRANGER, sign, 1763700000)))
    assert "您在「小区东门」" in reply
    assert check_ins(db) == []
    assert draft_checkpoint(db, STRANGER) == "CP0001"


def test_a_retried_scan_and_a_quick_rescan_record_one_check_in(client, wechat, db, sign):
    bind(client, wechat, "worker", STAFF)
    body = scan_event("scan", STAFF, sign, 1763700000)
    replies = {reply_text(wechat.post(body)) for _ in range(4)}  # WeChat retries up to three times
    assert len(replies) == 1 and CHECKED_IN.match(replies.pop())
    # Scanning the same sign again a minute later (a new event, not a retry) is a double scan.
    assert CHECKED_IN.match(reply_text(wechat.post(scan_event("scan", STAFF, sign, 1763700060))))
    assert len(check_ins(db)) == 1

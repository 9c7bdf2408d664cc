"""After a scripted month of use through the real entry points, the whole database dump holds no resident's
openid outside the residents table and no plain phone number anywhere.

Phones are given where the service asks for one (the sign page's call-back number, a grant team's member);
the month's residents do not type theirs into a description or a comment: free text is stored as typed
until it is anonymised (docs/privacy.md), so a phone written there would be found and prove nothing.
"""

from __future__ import annotations

import io
import itertools
import re
import subprocess
from collections import defaultdict

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from core.glossary import Role
from core.models import Checkpoint, OutboxMessage
from core.services.checkpoints import public_code
from tests.support import factories, images
from tests.support import grants as gh
from tests.support import staff as staff_support
from tests.support.api import SUB_CATEGORY
from tests.support.wechat_sender import build, reply_text

pytestmark = [pytest.mark.slow, pytest.mark.real_services("postgres")]

DAYS = 30
OA = [f"oMonthOA_{n:02d}" for n in range(1, 5)]  # official-account residents
MINI = [f"oMonthMini_{n:02d}" for n in range(1, 4)]  # mini-program residents
UNIONID = "uMonthUnion_0001"  # one mini-program resident WeChat gives a unionid
_phones = (f"139{n:08d}" for n in itertools.count(10_000_001))
_msg_ids = itertools.count(770_000_001)
_requests = itertools.count(1)
# The dump is made once per run: both tests read the same month.
_DUMPS: dict[str, tuple[dict[str, str], list[str]]] = {}


def _sections(dump: str) -> dict[str, str]:
    """The dump's data, table by table (pg_dump writes one COPY block per table)."""
    tables: dict[str, list[str]] = defaultdict(list)
    current = None
    for line in dump.splitlines():
        if match := re.match(r"COPY public\.(\w+) ", line):
            current = match[1]
        elif line == "\\.":
            current = None
        elif current:
            tables[current].append(line)
    return {name: "\n".join(lines) for name, lines in tables.items()}


class Month:
    """Residents, staff and a checkpoint of one grid, used for a month through the bot, the API and the sign."""

    def __init__(self, app, client, wechat, sign_in, settings) -> None:
        self.app, self.client, self.wechat, self.settings = app, client, wechat, settings
        database = app.extensions["gongzhi"].database
        self.database = database
        with database.session() as s:
            from core.services.catalogue import load_catalogue

            load_catalogue(s, settings.catalogue_file)
            grids = factories.grid_tree(s)
            grids["G1"].boundary = factories.G1_BOX
            point = Checkpoint(label="CP0001", name="小区东门", grid=grids["G1"], lat=31.805, lng=117.305)
            s.add(point)
            factories.staff(s, "center", Role.DISTRICT_CENTER)
            factories.staff(s, "worker", Role.GRID_WORKER, "G1")
            self.round_id = gh.open_round(s).id
            s.flush()
            self.code = public_code(settings, point)
            s.commit()
        self.center = staff_support.token(client, "center")
        self.worker = staff_support.token(client, "worker")
        self.mini = {openid: sign_in(openid, UNIONID if openid == MINI[0] else None) for openid in MINI}
        self.phones: list[str] = []
        self.open_cases: list[tuple[str, str]] = []  # (number, who reported it)

    def phone(self) -> str:
        self.phones.append(next(_phones))
        return self.phones[-1]

    def bot_report(self, openid: str) -> None:
        w = self.wechat
        w.event(openid, "subscribe")
        w.post(build("image", openid, PicUrl="http://mmbiz.qpic.cn/x/0", MediaId=f"m{next(_msg_ids)}"))
        w.location(openid, 31.805, 117.305, label="幸福小区东门")
        w.text(openid, "东门路灯不亮，晚上很黑")
        reply = reply_text(w.post(build("text", openid, Content="提交", msg_id=next(_msg_ids))))
        number = re.search(r"GZ\d{8}-\d{6}", reply or "")
        assert number, reply
        self.open_cases.append((number[0], openid))

    def mini_report(self, openid: str) -> None:
        data = {
            "category": SUB_CATEGORY,
            "description": "垃圾桶满了，味道很大",
            "lat": "31.805",
            "lng": "117.305",
            "coord_system": "gcj02",
            "client_request_id": f"month-{next(_requests)}",
            "photos": [(io.BytesIO(images.photo_with_exif(400, 300)), "p.jpg")],
        }
        answer = self.client.post(
            "/api/v1/reports", data=data, headers=self.mini[openid], content_type="multipart/form-data"
        )
        assert answer.status_code == 201, answer.get_json()
        self.open_cases.append((answer.get_json()["number"], openid))

    def sign_report(self, day: int) -> None:
        # Each day's passer-by scans from a phone of their own (the sign page limits reports per address).
        address = {"REMOTE_ADDR": f"127.0.1.{day}"}
        page = self.client.get(f"/q/{self.code}", environ_base=address).get_data(as_text=True)
        data = {
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page)[1],
            "submission": re.search(r'name="submission" value="([^"]+)"', page)[1],
            "description": "楼道堆放杂物",
            "phone": self.phone(),
            "privacy_version": re.search(r'name="privacy_version" value="([^"]+)"', page)[1],
            "photos": [(io.BytesIO(images.photo_with_exif(400, 300)), "p.jpg")],
        }
        answer = self.client.post(
            f"/q/{self.code}", data=data, content_type="multipart/form-data", environ_base=address
        )
        assert answer.status_code == 303, answer.get_data(as_text=True)[:300]

    def follow(self, openid: str) -> None:
        others = [number for number, who in self.open_cases if who != openid]
        if others:
            assert self.client.post(f"/api/v1/cases/{others[-1]}/follow", headers=self.mini[openid]).status_code in (
                200,
                201,
            )

    def finish_one(self) -> None:
        if not self.open_cases:
            return
        number, who = self.open_cases.pop(0)
        url = f"/api/v1/staff/cases/{number}/actions"
        steps = [
            (self.center, {"action": "accept"}),
            (self.center, {"action": "dispatch", "assignee": "worker"}),
            (self.worker, {"action": "handle", "note": "已修复"}),
            (self.center, {"action": "verify", "passed": True}),
            (self.center, {"action": "close"}),
        ]
        for headers, body in steps:
            answer = self.client.post(url, json=body, headers=headers)
            assert answer.status_code == 200, (body, answer.get_json())
        comment = "修好了，谢谢"
        if who in self.mini:
            rated = self.client.post(
                f"/api/v1/cases/{number}/evaluation", json={"rating": 5, "comment": comment}, headers=self.mini[who]
            )
            assert rated.status_code == 200, rated.get_json()
        else:
            assert "感谢" in reply_text(self.wechat.text(who, f"评价 {number} 5 {comment}"))

    def grant_application(self, openid: str) -> None:
        body = {
            "round_id": self.round_id,
            "title": "楼道清洁行动",
            "category": "小区维护",
            "summary": "每周六组织楼道清洁",
            "beneficiaries": "3 栋 120 户",
            "schedule": "3 月至 8 月",
            "group_name": "志愿队",
            "team": [
                {"name": "张阿姨", "role": "队长", "me": True},
                {"name": "李", "role": "会计", "phone": self.phone()},
            ],
            "budget_lines": [{"item": "清洁工具", "quantity": 10, "unit_price_fen": 4550}],
        }
        answer = self.client.post("/api/v1/grants/applications", json=body, headers=self.mini[openid])
        assert answer.status_code == 201, answer.get_json()

    def tell_residents(self) -> None:
        """Run the notification jobs the outbox holds, as the worker would (customer-service messages)."""
        from worker import runtime
        from worker.jobs.notify import notify_case_event
        from worker.runtime import Runtime

        with self.database.session() as s:
            payloads = [
                m.payload for m in s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "case.status_changed"))
            ]
        redis = self.app.extensions["gongzhi"].redis
        runtime.install(Runtime(settings=self.settings, database=self.database, redis=redis))
        try:
            for payload in payloads:
                notify_case_event(**payload)
        finally:
            runtime.install(None)  # type: ignore[arg-type]

    def run(self) -> None:
        for day in range(1, DAYS + 1):
            kind = day % 5
            if kind == 0:
                self.bot_report(OA[day % len(OA)])
            elif kind == 1:
                self.mini_report(MINI[day % len(MINI)])
            elif kind == 2:
                self.sign_report(day)
            elif kind == 3:
                self.follow(MINI[day % len(MINI)])
            else:
                self.finish_one()
            if day == 10:
                self.grant_application(MINI[0])
            if day == 12:
                reply_text(self.wechat.text(OA[0], "我的上报"))
                reply_text(self.wechat.text(OA[1], "我的数据"))
            if day == 25:
                # WeChat's own reports: a periodic position, and someone unfollowing.
                self.wechat.post(build("event", OA[0], Event="LOCATION", Latitude="31.8", Longitude="117.3"))
                self.wechat.event(OA[3], "unsubscribe")
            if day == 20:
                # One resident leaves mid-month.
                reply_text(self.wechat.text(OA[2], "注销"))
                reply_text(self.wechat.text(OA[2], "确认注销"))
                # Writing again later, they are a new resident, who reads and agrees to the notice again.
                reply_text(self.wechat.text(OA[2], "同意"))
        self.client.post("/api/v1/subscriptions", json={"results": {"TPL1": "accept"}}, headers=self.mini[MINI[1]])
        self.tell_residents()


def _month_dump(app, client, wechat, sign_in, settings, database_url) -> tuple[dict[str, str], list[str]]:
    if "month" not in _DUMPS:
        month = Month(app, client, wechat, sign_in, settings)
        month.run()
        url = make_url(database_url).set(drivername="postgresql")
        dump = subprocess.run(
            ["pg_dump", "--data-only", "--no-owner", url.render_as_string(hide_password=False)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        _DUMPS["month"] = (_sections(dump), month.phones)
    return _DUMPS["month"]


@pytest.fixture
def month(app, client, wechat, sign_in, fake_wechat, database_url):
    settings = app.extensions["gongzhi"].settings
    fake_wechat.apps[settings.wechat_app_id] = settings.wechat_app_secret  # the jobs send messages
    return _month_dump(app, client, wechat, sign_in, settings, database_url)


def test_no_openid_or_unionid_outside_the_residents_table(month):
    tables, _phones = month
    identities = [*OA, *MINI, UNIONID]
    # The search finds what it looks for: the residents table holds them.
    assert sum(openid in tables["residents"] for openid in identities) >= len(identities) - 1  # one erased
    assert tables.get("cases") and tables.get("case_events") and tables.get("report_drafts")
    found = {
        (name, openid)
        for name, text in tables.items()
        if name != "residents"
        for openid in identities
        if openid in text
    }
    assert found == set()


def test_no_plain_phone_number_anywhere(month):
    tables, phones = month
    assert len(phones) >= 5
    found = {(name, phone) for name, text in tables.items() for phone in phones if phone in text}
    assert found == set()

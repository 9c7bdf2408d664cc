"""Running on several machines: Debian's nginx in front of two gunicorn instances with disks of their own, one
PostgreSQL, one Redis, one S3 bucket and two workers; residents report on every channel, one web instance dies
in the middle, and nothing is lost."""

from __future__ import annotations

import io
import itertools
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from core.glossary import PhotoStatus, Role
from core.media_urls import media_path
from core.models import Case, Photo
from core.services.catalogue import load_catalogue
from core.services.checkpoints import public_code
from tests.support import api, factories, images
from tests.support.http_client import HttpClient, HttpResponse
from tests.support.processes import wait_until
from tests.support.scan import form_fields
from tests.support.serving import Gunicorn, Nginx, get, nginx_binary
from tests.support.wechat_sender import WeChatSender, build, reply_text

pytestmark = [
    pytest.mark.slow,
    pytest.mark.real_services,
    pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (scripts/test-setup.sh)"),
]

# What a resident's app does with a request that got no answer from the service: send it again.
RETRYABLE = {502, 503, 504}
TRIES = 6
SUBMITS = {"wechat": "POST /wechat", "scan": "POST /q/-", "mini": "POST /api/v1/reports"}
# deploy/nginx/log.conf: "METHOD path" status bytes time upstream(s) upstream-time(s) request-id
LOG_LINE = re.compile(
    r'"(?P<request>[A-Z]+ \S+)" (?P<status>\d+) \S+ \S+ (?P<upstreams>.+?) (?:[-\d.]+(?:, )?)+ [0-9a-f]{32}$'
)
REPORTS_WHILE_ONE_DIES = 6  # per channel


class Residents:
    """Residents of the three channels, each through nginx, each sending again what went unanswered."""

    def __init__(self, base_url: str, settings, fake_wechat, code: str) -> None:  # type: ignore[no-untyped-def]
        self.base_url, self.settings, self.fake, self.code = base_url, settings, fake_wechat, code
        self.photo = images.photo_with_exif(1200, 900)
        self.serial = itertools.count(1)
        self.lock = threading.Lock()
        self.retries = 0
        self.reports: list[tuple[str, str]] = []  # (channel, case number or tracking token) the service confirmed

    def client(self, n: int) -> HttpClient:
        # A loopback address of its own, as every resident's phone has: the per-address limits see many clients.
        return HttpClient(self.base_url, source=f"127.0.{n // 200 + 1}.{n % 200 + 10}")

    def send(self, request: Callable[[], HttpResponse]) -> HttpResponse:
        for _ in range(TRIES):
            try:
                response = request()
            except requests.RequestException:
                response = None
            if response is not None and response.status_code not in RETRYABLE:
                return response
            with self.lock:
                self.retries += 1
        raise AssertionError(f"no answer after {TRIES} tries")

    def report(self, channel: str) -> None:
        n = next(self.serial)
        confirmed = getattr(self, channel)(n)
        with self.lock:
            self.reports.append((channel, confirmed))

    def wechat(self, n: int) -> str:
        openid, media_id = f"oFleetWeChat{n:04d}", f"fleet-media-{n}"
        self.fake.add_media(media_id, self.photo, "image/jpeg")
        sender = WeChatSender(self.client(n), self.settings.wechat_token, agree=False)
        # Each message is built once: WeChat sends the same message (same MsgId) again when it got no answer.
        messages = [
            build("text", openid, Content="同意"),
            build("image", openid, PicUrl="http://mmbiz.qpic.cn/x/0", MediaId=media_id),
            build("location", openid, Location_X=31.771203, Location_Y=117.305512, Scale=16, Label="合肥市包河区"),
        ]
        if n % 2:  # some say what is wrong, some let the photo speak (and nginx's round robin sees both parities)
            messages.append(build("text", openid, Content="小区东门的路灯不亮了"))
        for message in messages:
            assert self.send(lambda m=message: sender.post(m)).status_code == 200
        submit = build("text", openid, Content="提交")
        reply = reply_text(self.send(lambda: sender.post(submit)))
        assert reply and reply.startswith("提交成功！案件编号 GZ"), reply
        return reply.split("案件编号 ")[1].split("。")[0]

    def scan(self, n: int) -> str:
        client = self.client(n)
        page = self.send(lambda: client.get(f"/q/{self.code}"))
        assert page.status_code == 200, page.get_data(as_text=True)
        fields = form_fields(page)

        def post() -> HttpResponse:
            form = {**fields, "description": "东门垃圾堆了三天", "photos": [(io.BytesIO(self.photo), "a.jpg")]}
            return client.post(f"/q/{self.code}", data=form, content_type="multipart/form-data")

        answer = self.send(post)  # the 303 to the tracking page is followed, as a browser does
        assert answer.status_code == 200 and "/t/" in answer.raw.url, answer.get_data(as_text=True)[:500]
        return answer.raw.url.split("/t/")[1].split("?")[0]

    def mini(self, n: int) -> str:
        client = self.client(n)
        openid = f"oFleetMini{n:04d}"

        def sign_in() -> HttpResponse:
            code = f"fleet-login-{n}-{next(self.serial)}"  # wx.login() gives a new code for every try
            self.fake.add_login_code(code, openid, "session-key")
            return client.post("/api/v1/session", json={"code": code})

        signed_in = self.send(sign_in)
        assert signed_in.status_code == 200, signed_in.get_data(as_text=True)
        headers = {"Authorization": f"Bearer {signed_in.get_json()['token']}"}
        version = self.send(lambda: client.get("/api/v1/privacy")).get_json()["version"]
        body = {"version": version, "scopes": api.ALL_SCOPES}
        agreed = self.send(lambda: client.post("/api/v1/privacy/consents", json=body, headers=headers))
        assert agreed.status_code in (200, 201), agreed.get_data(as_text=True)
        created = self.send(
            lambda: api.post_report(client, headers, [self.photo], client_request_id=f"fleet-report-{n}")
        )
        assert created.status_code in (200, 201), created.get_data(as_text=True)
        number = created.get_json()["number"]
        shown = self.send(lambda: client.get(f"/api/v1/cases/{number}", headers=headers))  # the app shows the case
        assert shown.status_code == 200 and shown.get_json()["number"] == number
        return number


def submits(nginx: Nginx, instance: Gunicorn, channel: str) -> int:
    """How many of the channel's report requests `instance` answered, as nginx's access log tells."""
    count = 0
    for line in nginx.access_log().splitlines():
        found = LOG_LINE.search(line)
        assert found, line
        answered_by = found["upstreams"].split(", ")[-1]  # the last instance nginx tried gave the answer
        if found["request"] == SUBMITS[channel] and answered_by == f"127.0.0.1:{instance.port}":
            count += int(found["status"]) < 500
    return count


def settled_photos(database, expected: int) -> list[Photo] | None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        photos = list(s.scalars(select(Photo)))
    if len(photos) == expected and all(p.status != PhotoStatus.PENDING for p in photos):
        return photos
    return None


def photo_paths(base_url: str, numbers: list[str], settings, database) -> list[str]:  # type: ignore[no-untyped-def]
    """Every photo's /media/ link as the staff API shows it, and its thumbnail's, signed the same way."""
    staff = HttpClient(base_url)
    token = staff.post("/api/v1/staff/token", json={"username": "center", "password": factories.PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    paths = []
    for number in numbers:
        detail = staff.get(f"/api/v1/staff/cases/{number}", headers=headers)
        assert detail.status_code == 200, detail.get_data(as_text=True)
        [photo] = detail.get_json()["photos"]
        assert photo["status"] == "ready", photo
        paths.append("/media/" + photo["url"].split("/media/", 1)[1])
    with database.session() as s:
        paths += [media_path(settings, thumb) for thumb in s.scalars(select(Photo.thumb_path))]
    return paths


def assert_served(port: int, paths: list[str]) -> None:
    for path in paths:
        status, headers, body = get(port, path)
        assert (status, headers.get("content-type")) == (200, "image/jpeg"), (port, status)
        assert body.startswith(b"\xff\xd8") and b"TestPhone" not in body  # a JPEG, its EXIF gone


def test_two_web_instances_behind_nginx_share_everything_and_one_dying_loses_no_report(
    settings, clean_database, redis_client, s3_store, fake_wechat, start_worker, tmp_path
):
    began = time.monotonic()
    settings = settings.replace(**s3_store.settings)
    fake_wechat.apps[settings.wechat_mini_app_id] = settings.wechat_mini_app_secret
    with clean_database.session() as s:
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        load_catalogue(s, settings.catalogue_file)
        code = public_code(settings, factories.gate_checkpoint(s))
        s.commit()

    def own_disk(name: str) -> dict[str, str]:
        return {"TRUSTED_PROXY_HOPS": "1", "MEDIA_DIR": str(tmp_path / f"{name}-disk")}

    started: list = []
    try:
        a = Gunicorn(settings, tmp_path, "a", own_disk("a"))
        started.append(a)
        b = Gunicorn(settings, tmp_path, "b", own_disk("b"))
        started.append(b)
        nginx = Nginx([a.port, b.port], tmp_path)
        started.append(nginx)
        for name in ("worker-1", "worker-2"):
            start_worker(settings.replace(media_dir=str(tmp_path / f"{name}-disk")), name=name)
        residents = Residents(f"http://127.0.0.1:{nginx.port}", settings, fake_wechat, code)

        # Both instances take reports of every channel: round robin, one resident after another.
        for channel in SUBMITS:
            for _ in range(8):
                residents.report(channel)
                if submits(nginx, a, channel) and submits(nginx, b, channel):
                    break
            assert submits(nginx, a, channel) and submits(nginx, b, channel), channel
        before_kill = {channel: (submits(nginx, a, channel), submits(nginx, b, channel)) for channel in SUBMITS}
        wait_until(
            lambda: settled_photos(clean_database, len(residents.reports)),
            timeout=120,
            what="the workers to process the first photos",
        )
        numbers = numbers_of(clean_database, residents.reports)
        paths = photo_paths(f"http://127.0.0.1:{nginx.port}", numbers, settings, clean_database)
        for port in (a.port, b.port, nginx.port):  # each instance serves every photo, whoever took it
            assert_served(port, paths)

        # Residents keep reporting, four at a time, while instance a dies with requests in flight.
        first = len(residents.reports)
        planned = [channel for _ in range(REPORTS_WHILE_ONE_DIES) for channel in SUBMITS]
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(residents.report, channel) for channel in planned]
            wait_until(lambda: len(residents.reports) >= first + 4, timeout=120, what="reports before the kill")
            a.kill()
            at_kill = len(residents.reports)
            for future in futures:
                future.result()
        total = len(residents.reports)
        assert total == first + len(planned) and at_kill < total  # a died with reports still to come

        photos = wait_until(
            lambda: settled_photos(clean_database, total), timeout=180, what="the workers to process every photo"
        )
        assert all(p.status == PhotoStatus.READY for p in photos), [p.error for p in photos]
        numbers = numbers_of(clean_database, residents.reports)
        with clean_database.session() as s:  # every confirmed report once, and no case nobody was told of
            assert s.scalar(select(func.count()).select_from(Case)) == total == len(set(numbers))
            assert sorted(s.scalars(select(Case.number))) == sorted(numbers)
            assert [n for (n,) in s.execute(select(func.count()).select_from(Photo).group_by(Photo.case_id))] == [
                1
            ] * total

        # A new instance with an empty disk of its own serves every photo too: nothing lived on a.
        c = Gunicorn(settings, tmp_path, "c", own_disk("c"))
        started.append(c)
        paths = photo_paths(f"http://127.0.0.1:{nginx.port}", numbers, settings, clean_database)
        for port in (b.port, c.port, nginx.port):
            assert_served(port, paths)
        for disk in ("a", "b", "c", "worker-1", "worker-2"):
            folder = Path(tmp_path / f"{disk}-disk")
            assert not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()], disk

        bad_gateway = len([line for line in nginx.access_log().splitlines() if '" 502 ' in line])
        per_channel = {channel: sum(1 for ch, _ in residents.reports if ch == channel) for channel in SUBMITS}
        print(
            f"\nfleet: {total} reports {per_channel}; submits before the kill (a, b) {before_kill}; "
            f"after (a, b) { {ch: (submits(nginx, a, ch), submits(nginx, b, ch)) for ch in SUBMITS} }; "
            f"{at_kill - first} of {len(planned)} done at the kill; {residents.retries} requests sent again "
            f"({bad_gateway} answered 502 by nginx); {time.monotonic() - began:.1f} s"
        )
    finally:
        for process in reversed(started):
            process.stop()


def numbers_of(database, reports: list[tuple[str, str]]) -> list[str]:  # type: ignore[no-untyped-def]
    """The case numbers of the confirmed reports (a scan-page report is confirmed by its tracking link)."""
    with database.session() as s:
        by_token = {token: number for token, number in s.execute(select(Case.tracking_token, Case.number))}
    return [by_token[key] if channel == "scan" else key for channel, key in reports]

"""The soak: a mixed load for `--minutes` (10) against the whole service, sampling errors and memory as it runs.

Run `.venv/bin/python bench/soak.py [--minutes M] [--rate R]` (after `make bench-setup`) with PostgreSQL and
Redis on loopback. It starts the service under gunicorn (the project's gunicorn.conf.py, production
settings, a scratch database with the demo district), two `python -m worker` processes and the fake
WeChat API (tests/fakes/wechat_api.py) that both reach through WECHAT_API_BASE, signs mini-program
residents in through /api/v1/session, and drives wrk in slices of `--slice` seconds at about `--rate`
requests/s (a few connections, each pausing between requests: a moderate, steady load, not flat out).
Every 16 requests of a connection are:

- WeChat callbacks: 「帮助」, and one resident's photo, location, description and 「提交」 (a case
  whose photo the workers fetch from the fake media API and process);
- mini-program reads: the resident's cases four times, cases nearby once;
- five checkpoint scan pages (`/q/<code>`);
- one mini-program report with a phone photo (multipart, as bench/upload.py posts it).

Between slices a district-center staff member accepts the WeChat cases made meanwhile (so residents are
told: notification jobs), and the soak samples: wrk's answers, non-2xx and socket errors; rq's failed
jobs; failed photos and notifications; ERROR lines and tracebacks in the logs; the backlog (photos
still pending, outbox rows not yet relayed); and the RSS of gunicorn's master and workers and of each
worker's process tree. Target: no error of any kind, flat memory. At the end it waits for the backlog
to drain, prints the samples, writes them to bench/soak-last.csv and adds a line to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
import requests
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import case, func, select

from bench.harness import (
    BENCH_TOKEN,
    REDIS_URL,
    SIGN_LUA,
    Gunicorn,
    Load,
    lua_string,
    machine,
    now,
    production_settings,
    project_app,
    rss_mb,
    run_wrk,
    scratch_database,
)
from bench.mixed import (
    BOUNDARY,
    DESCRIPTIONS,
    LUA_MULTIPART,
    SUB_CATEGORY,
    lua_constants,
)
from bench.results import record
from core.db import Database
from core.glossary import CaseSource, CaseStatus, NotificationStatus, PhotoStatus
from core.models import Case, Checkpoint, Notification, OutboxMessage, Photo
from core.services.checkpoints import public_code
from core.services.demo import DEMO_PASSWORD, DISTRICT_BOX, load_demo
from tests.fakes.wechat_api import FakeWeChatAPI
from tests.support.images import photo_with_exif
from tests.support.processes import WorkerProcess, process_tree, wait_until
from worker.routes import QUEUES

SECTION = "## Soak (`bench/soak.py`)"
INTRO = """
The whole service for a fixed time under a steady mixed load from wrk (WeChat callbacks: help, draft
photo/location/text, 提交; mini-program case lists and nearby; checkpoint scan pages; mini-program reports
with a photo; staff accepting the WeChat cases between slices), with gunicorn (production settings), two
workers, the fake WeChat API, PostgreSQL and Redis. Errors: non-2xx, socket errors, rq failed jobs,
failed photos and notifications, ERROR lines in the logs. RSS: gunicorn master + workers; each worker's
long-lived processes (rq's per-job work horses left out), first sample → last. Target: 0 errors, flat
memory. The samples of the last run are in bench/soak-last.csv.

| date | machine | duration | req/s | requests | cases | errors | web RSS | growth | worker RSS | growth |
|---|---|---|---|---|---|---|---|---|---|---|
"""
CSV_PATH = Path(__file__).resolve().parent / "soak-last.csv"
LAT = (DISTRICT_BOX[1] + DISTRICT_BOX[3]) / 2
LNG = (DISTRICT_BOX[0] + DISTRICT_BOX[2]) / 2
MINI_RESIDENTS = 200  # reports rotate over them: a few per resident per 10 minutes, far below the limit
WX_RESIDENTS = 1000  # per wrk thread; a resident's photo, location, text and 提交 come in one cycle
MEDIA_IDS = 8
SCAN_PAGES = 40
CONNECTIONS = 4
CYCLE = 16  # requests in one cycle of LUA_SOAK's STEPS
OFFICIAL_ACCOUNT = ("wxsoak", "soak-secret")  # app id and secret, as the fake WeChat API knows them
MINI_PROGRAM = ("wxsoak-mini", "soak-mini-secret")

# One cycle of a connection's requests. The photo comes 12 requests before 「提交」: though a thread's
# connections run side by side, the draft is complete long before it is submitted.
LUA_SOAK = r"""
thread_no = 0
local threads = 0
local counter = 0
function setup(thread) thread:set("thread_no", threads); threads = threads + 1 end
function delay() return DELAY_MS end
local STEPS = {"help", "photo", "cases", "scan", "location", "nearby", "scan", "text",
               "cases", "scan", "report", "cases", "scan", "submit", "cases", "scan"}
local function envelope(openid, msg_type, fields, id)
  return "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[" .. openid ..
    "]]></FromUserName><CreateTime>" .. os.time() .. "</CreateTime><MsgType><![CDATA[" .. msg_type ..
    "]]></MsgType>" .. fields .. "<MsgId>" .. id .. "</MsgId></xml>"
end
local function text(content) return "<Content><![CDATA[" .. content .. "]]></Content>" end
local function wx(body)
  return wrk.format("POST", signed_query(BASE .. "t" .. thread_no, "soak"), {["Content-Type"] = "text/xml"}, body)
end
local function get(path, token)
  return wrk.format("GET", path, token and {["Authorization"] = "Bearer " .. token} or {})
end
function request()
  counter = counter + 1
  local n = BASE + thread_no * 100000000 + counter
  local cycle = CYCLE0 + math.floor((counter - 1) / #STEPS)
  local step = STEPS[((counter - 1) % #STEPS) + 1]
  local openid = "soak-wx-" .. thread_no .. "-" .. (cycle % WX_RESIDENTS)
  local token = TOKENS[((thread_no * STRIDE + cycle) % #TOKENS) + 1]
  if step == "help" then
    return wx(envelope("soak-help-" .. (n % 500), "text", text("帮助"), n))
  elseif step == "photo" then
    return wx(envelope(openid, "image", "<PicUrl><![CDATA[http://mmbiz.example/p]]></PicUrl><MediaId><![CDATA[" ..
      "soak-media-" .. (n % MEDIA_IDS) .. "]]></MediaId>", n))
  elseif step == "location" then
    return wx(envelope(openid, "location", "<Location_X>" .. LAT .. "</Location_X><Location_Y>" .. LNG ..
      "</Location_Y><Scale>16</Scale><Label><![CDATA[幸福路 18 号]]></Label>", n))
  elseif step == "text" then
    return wx(envelope(openid, "text", text(DESCRIPTIONS[(cycle % #DESCRIPTIONS) + 1]), n))
  elseif step == "submit" then
    return wx(envelope(openid, "text", text("提交"), n))
  elseif step == "cases" then
    return get("/api/v1/cases", token)
  elseif step == "nearby" then
    return get("/api/v1/cases/nearby?lat=" .. LAT .. "&lng=" .. LNG .. "&coord_system=gcj02", token)
  elseif step == "scan" then
    return get(SCAN_PATHS[(n % #SCAN_PATHS) + 1])
  end
  return report("/api/v1/reports", n, token)
end
"""


@dataclass
class Sample:
    """One row of the soak's time series."""

    seconds: int
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    failed_jobs: int
    failed_photos: int
    failed_notifications: int
    log_errors: int
    staff_errors: int
    cases: int
    notifications_sent: int
    pending_photos: int
    outbox_backlog: int
    web_rss_mb: float
    worker_rss_mb: float
    worker_rss_each_mb: str

    @property
    def errors(self) -> int:
        return (
            self.non_2xx
            + self.socket_errors
            + self.failed_jobs
            + self.failed_photos
            + self.failed_notifications
            + self.log_errors
            + self.staff_errors
        )


class Soak:
    """The running service and what the samples need to read from it."""

    def __init__(self, args: argparse.Namespace, work: Path, url: str, fake: FakeWeChatAPI, media_dir: str) -> None:
        self.args = args
        self.work = work
        self.fake = fake
        self.settings = production_settings(
            url,
            media_dir,
            wechat_api_base=fake.base_url,
            wechat_app_id=OFFICIAL_ACCOUNT[0],
            wechat_app_secret=OFFICIAL_ACCOUNT[1],
            wechat_mini_app_id=MINI_PROGRAM[0],
            wechat_mini_app_secret=MINI_PROGRAM[1],
        )
        self.database = Database(url)
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.server: Gunicorn | None = None
        self.workers: list[WorkerProcess] = []
        self.steady: list[set[int]] = []
        self.totals = Load(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        self.staff_errors = 0
        self.staff_token = ""
        self.cycles = 0  # request cycles begun so far, an upper bound for any one wrk thread

    # --- setting up ---------------------------------------------------------------------------

    def seed(self) -> list[str]:
        """The demo district, the photos the fake media API serves; the scan pages' paths."""
        with self.database.session() as s:
            load_demo(s, self.settings)
            s.commit()
            checkpoints = s.scalars(select(Checkpoint).order_by(Checkpoint.id).limit(SCAN_PAGES)).all()
            paths = [f"/q/{public_code(self.settings, point)}" for point in checkpoints]
        # What WeChat hands out for a photo sent in a chat: compressed to about 1280 px.
        for n in range(MEDIA_IDS):
            self.fake.add_media(f"soak-media-{n}", photo_with_exif(1280, 960, orientation=(6, 1, 3, 8)[n % 4]))
        # A mini-program photo as wx.chooseMedia compresses it.
        (self.work / "photo.jpg").write_bytes(photo_with_exif(1920, 1440))
        return paths

    def start(self) -> None:
        logs = self.work
        self.redis.flushdb()  # jobs of earlier runs name databases long dropped
        self.server = project_app(self.settings, logs / "gunicorn.log")
        self.workers = [WorkerProcess(self.settings, logs / f"worker-{n}.log", name="soak") for n in range(2)]

    def sign_in(self) -> None:
        """Mini-program residents signed in through /api/v1/session and the fake jscode2session; a staff token."""
        tokens = []
        for n in range(MINI_RESIDENTS):
            code = f"soak-code-{n}"
            self.fake.add_login_code(code, f"soak-mini-{n}", f"soak-session-{n}")
            answer = requests.post(f"{self.base_url}/api/v1/session", json={"code": code}, timeout=10)
            answer.raise_for_status()
            tokens.append(answer.json()["token"])
        (self.work / "tokens.txt").write_text("\n".join(tokens) + "\n")
        answer = requests.post(
            f"{self.base_url}/api/v1/staff/token",
            json={"username": "demo-district", "password": DEMO_PASSWORD},
            timeout=10,
        )
        answer.raise_for_status()
        self.staff_token = answer.json()["token"]

    def settle(self) -> None:
        """Wait for the workers to be up and idle, then note their long-lived processes (worker, rq's
        scheduler, outbox poller, cron): rq forks a work horse per job, which lives for that job only."""
        time.sleep(5)
        self.steady = [set(process_tree(worker.process.pid)) for worker in self.workers]

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    # --- the load -----------------------------------------------------------------------------

    def lua(self, slice_no: int, scan_paths: list[str]) -> str:
        """The slice's wrk script: a callback signature for every WeChat request (one signed query is
        good for one body), MsgIds and request ids unique to it, and residents carrying on from where the last
        slice left off (so each mini-program resident reports a few times per 10 minutes, not every slice)."""
        delay_ms = max(0, int(self.args.connections * 1000 / self.args.rate))
        constants = lua_constants(
            TOKEN=lua_string(BENCH_TOKEN),
            BASE=str((slice_no + 1) * 10**10),
            CYCLE0=str(self.cycles),
            DELAY_MS=str(delay_ms),
            WX_RESIDENTS=str(WX_RESIDENTS),
            MEDIA_IDS=str(MEDIA_IDS),
            STRIDE=str(MINI_RESIDENTS // self.args.threads),
            SCAN_PATHS="{" + ", ".join(lua_string(p) for p in scan_paths) + "}",
            PHOTO_PATH=lua_string(str(self.work / "photo.jpg")),
            TOKENS_PATH=lua_string(str(self.work / "tokens.txt")),
            PHOTO_FIELD=lua_string("photos"),
            BOUNDARY=lua_string(BOUNDARY),
            CATEGORY=lua_string(SUB_CATEGORY),
            LAT=lua_string(f"{LAT:.6f}"),
            LNG=lua_string(f"{LNG:.6f}"),
            DESCRIPTIONS="{" + ", ".join(lua_string(d) for d in DESCRIPTIONS) + "}",
        )
        return constants + SIGN_LUA + LUA_MULTIPART + LUA_SOAK

    def accept_new_cases(self) -> None:
        """A district-center member accepts the WeChat cases made since the last slice, so that their
        residents are told (a customer-service message: they wrote within 48 hours)."""
        with self.database.session() as s:
            numbers = s.scalars(
                select(Case.number).where(Case.source == CaseSource.WECHAT, Case.status == CaseStatus.REPORTED)
            ).all()
        for number in numbers:
            answer = requests.post(
                f"{self.base_url}/api/v1/staff/cases/{number}/actions",
                json={"action": "accept"},
                headers={"Authorization": f"Bearer {self.staff_token}"},
                timeout=10,
            )
            if answer.status_code != 200:
                self.staff_errors += 1
                print(f"accepting {number}: {answer.status_code} {answer.text[:200]}", flush=True)

    def add(self, load: Load) -> None:
        """Count a slice's load into the totals; the next slice's residents begin after this one's."""
        self.cycles += load.requests // CYCLE + 1
        t = self.totals
        self.totals = Load(
            t.requests + load.requests,
            t.seconds + load.seconds,
            0,
            load.p50,
            load.p95,
            load.p99,
            max(t.max, load.max),
            t.over_1s + load.over_1s,
            t.over_5s + load.over_5s,
            t.errors + load.errors,
            t.non_2xx + load.non_2xx,
        )

    # --- the samples --------------------------------------------------------------------------

    def sample(self, started: float) -> Sample:
        """Where the soak stands now."""
        assert self.server is not None
        with self.database.session() as s:

            def count(model, *where) -> int:
                return s.scalar(select(func.count()).select_from(model).where(*where))

            cases = count(Case)
            failed_photos = count(Photo, Photo.status == PhotoStatus.FAILED)
            pending_photos = count(Photo, Photo.status == PhotoStatus.PENDING)
            # Case notifications only: the demo's micro-grant applicants never wrote to the account, so the
            # demo's own grant notifications fail by design ("no route"), before the load starts.
            failed_notifications = count(
                Notification, Notification.status == NotificationStatus.FAILED, Notification.event_id.is_not(None)
            )
            sent = count(Notification, Notification.status == NotificationStatus.SENT)
            backlog = count(OutboxMessage, OutboxMessage.relayed_at.is_(None))
        failed_jobs = sum(FailedJobRegistry(queue=Queue(name, connection=self.redis)).count for name in QUEUES)
        each = [
            sum(rss_mb(pid) for pid in process_tree(w.process.pid) if pid in steady)
            for w, steady in zip(self.workers, self.steady, strict=True)
        ]
        t = self.totals
        return Sample(
            seconds=round(time.monotonic() - started),
            requests=t.requests,
            rate=round(t.requests / t.seconds, 1) if t.seconds else 0.0,
            p50_ms=t.p50,
            p99_ms=t.p99,
            non_2xx=t.non_2xx,
            socket_errors=t.errors,
            failed_jobs=failed_jobs,
            failed_photos=failed_photos,
            failed_notifications=failed_notifications,
            log_errors=self.log_errors(),
            staff_errors=self.staff_errors,
            cases=cases,
            notifications_sent=sent,
            pending_photos=pending_photos,
            outbox_backlog=backlog,
            web_rss_mb=round(self.server.rss_mb(), 1),
            worker_rss_mb=round(sum(each), 1),
            worker_rss_each_mb=" / ".join(f"{mb:.1f}" for mb in each),
        )

    def drained(self) -> bool:
        """Whether every photo has been processed and every outbox row relayed."""
        with self.database.session() as s:
            pending = s.scalar(select(func.count()).select_from(Photo).where(Photo.status == PhotoStatus.PENDING))
            backlog = s.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.relayed_at.is_(None))
            )
        return pending == 0 and backlog == 0

    def log_errors(self) -> int:
        """Tracebacks and ERROR/CRITICAL lines in gunicorn's and the workers' logs."""
        found = 0
        for log in self.work.glob("*.log"):
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("Traceback") or " ERROR " in line or "[ERROR]" in line or "CRITICAL" in line:
                    found += 1
        return found

    def failures(self) -> list[str]:
        """Why photos and notifications failed, each reason once with its count, to find the cause."""
        kind = case((Notification.event_id.is_(None), "grant"), else_="case")
        with self.database.session() as s:
            photos = s.execute(
                select(Photo.error, func.count()).where(Photo.status == PhotoStatus.FAILED).group_by(Photo.error)
            ).all()
            notifications = s.execute(
                select(kind, Notification.channel, Notification.error, func.count())
                .where(Notification.status == NotificationStatus.FAILED)
                .group_by(kind, Notification.channel, Notification.error)
            ).all()
        return [f"photo: {why} (× {n})" for why, n in photos] + [
            f"{what} notification {channel}: {why} (× {n})" for what, channel, why, n in notifications
        ]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self.server is not None:
            self.server.stop()
        self.database.dispose()
        self.redis.flushdb()


def print_row(sample: Sample) -> None:
    print(
        f"{sample.seconds:>6} s {sample.requests:>9,} {sample.rate:>7.1f} {sample.errors:>7} "
        f"{sample.cases:>7,} {sample.pending_photos:>7} {sample.web_rss_mb:>9.1f} {sample.worker_rss_mb:>11.1f}  "
        f"({sample.worker_rss_each_mb})",
        flush=True,
    )


def growth(first: float, last: float) -> str:
    return f"{(last - first) / first * 100:+.1f} %" if first else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--slice", type=int, default=30, help="seconds of load between samples")
    parser.add_argument("--rate", type=float, default=12, help="requests/s to aim at (wrk pauses between requests)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--threads", type=int, default=2)
    # A trial run (BENCH_RESULTS set) keeps its samples beside its results, not in the committed file.
    trial = os.environ.get("BENCH_RESULTS")
    parser.add_argument("--csv", type=Path, default=Path(trial).with_suffix(".soak.csv") if trial else CSV_PATH)
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so the servers, workers and scratch database are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    samples: list[Sample] = []
    with (
        tempfile.TemporaryDirectory() as work,
        tempfile.TemporaryDirectory() as media_dir,
        scratch_database("gongzhi_soak") as url,
        FakeWeChatAPI(*OFFICIAL_ACCOUNT, other_apps=dict([MINI_PROGRAM])) as fake,
    ):
        soak = Soak(args, Path(work), url, fake, media_dir)
        try:
            scan_paths = soak.seed()
            soak.start()
            soak.sign_in()
            soak.settle()
            print(f"soak: {args.minutes:g} min at ~{args.rate:g} req/s, {args.connections} connections; logs in {work}")
            print("  time  requests   req/s  errors   cases pending  web RSS MB  worker RSS MB")
            started = time.monotonic()
            deadline = started + args.minutes * 60
            slice_no = 0
            while (left := round(deadline - time.monotonic())) >= min(5, args.slice):
                seconds = min(args.slice, left)  # a remainder under 5 s is dropped, not run as a tiny slice
                load = run_wrk(soak.base_url, soak.lua(slice_no, scan_paths), args.connections, seconds, args.threads)
                soak.add(load)
                soak.accept_new_cases()
                samples.append(soak.sample(started))
                print_row(samples[-1])
                slice_no += 1
            # The load has stopped: the workers must catch up, and then everything must have gone through.
            wait_until(
                soak.drained,
                timeout=180,
                interval=1,
                what="the workers to finish the backlog",
            )
            time.sleep(3)  # the notification jobs of the last acceptances
            samples.append(soak.sample(started))
            print_row(samples[-1])
            for failure in soak.failures():
                print(failure)
        finally:
            soak.stop()
    write_csv(args.csv, samples)
    summarize(args, samples)


def write_csv(path: Path, samples: list[Sample]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[*asdict(samples[0]), "errors"])
        writer.writeheader()
        for sample in samples:
            writer.writerow({**asdict(sample), "errors": sample.errors})


def summarize(args: argparse.Namespace, samples: list[Sample]) -> None:
    first, last = samples[0], samples[-1]
    loaded = samples[-2] if len(samples) > 1 else last  # the last row under load gives the rate
    row = (
        f"| {now()} | {machine()} | {args.minutes:g} min | {loaded.rate:.1f} | {last.requests:,} | {last.cases:,} | "
        f"{last.errors} | {first.web_rss_mb:.0f} → {last.web_rss_mb:.0f} MB | "
        f"{growth(first.web_rss_mb, last.web_rss_mb)} | "
        f"{first.worker_rss_mb:.0f} → {last.worker_rss_mb:.0f} MB | {growth(first.worker_rss_mb, last.worker_rss_mb)} |"
    )
    record(SECTION, INTRO, row)
    print(
        f"{last.requests:,} requests, {last.cases:,} cases, {last.notifications_sent:,} notifications sent, "
        f"{last.errors} errors; web RSS {first.web_rss_mb:.0f} → {last.web_rss_mb:.0f} MB "
        f"({growth(first.web_rss_mb, last.web_rss_mb)}), workers {first.worker_rss_mb:.0f} → "
        f"{last.worker_rss_mb:.0f} MB ({growth(first.worker_rss_mb, last.worker_rss_mb)}); samples in {args.csv}"
    )
    if last.errors:
        raise SystemExit(f"the soak saw {last.errors} errors: {last}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()

"""Benchmark 4: status notifications fanned out by real worker processes, against plain sends of the same messages.

Run `.venv/bin/python bench/notify.py [--moves N] [--workers W]` with PostgreSQL and Redis on
loopback (as for the tests). In a scratch database it makes N/5 cases, each reported by its own
resident (an openid, following the account), and takes every case through the staff's five moves
(accept, dispatch, handle, verify, close) with `core.services.cases.perform`, all in one
transaction, as the console would. Status templates are configured for every status
(`WECHAT_STATUS_TEMPLATES=default:…`), so each move is one template message to its resident.

- The pipeline: from the commit of the moves — the outbox relayed right after it, as the web
  process does — until W `python -m worker` processes, started and idle beforehand, have sent
  every message to the fake WeChat API and marked every notification sent. The moves' other jobs
  (the assignee's notice, the platform push) run too, as they would in production.
- The baseline: the same N message bodies, as the fake received them, POSTed by W plain processes
  with `requests` (one keep-alive session each) to the same fake: what the HTTP sends alone cost.

It checks that every resident got exactly the messages they should — one per (case, status), none
missing, none twice, one notification row per move, each claimed once — prints messages/s for
both and their ratio, and appends a line to bench/RESULTS.md (BENCH_RESULTS elsewhere).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # run as a script from anywhere: the packages live one level up

import redis as redis_lib  # noqa: E402
import requests  # noqa: E402
from rq import Queue, Worker  # noqa: E402
from rq.registry import FailedJobRegistry  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bench.harness import REDIS_URL, machine, now, production_settings, scratch_database  # noqa: E402
from bench.results import record  # noqa: E402
from core.db import Database  # noqa: E402
from core.glossary import CaseSource, CaseStatus, NotificationStatus, Role  # noqa: E402
from core.models import Case, CaseEvent, Notification, OutboxMessage, Resident, StaffUser  # noqa: E402
from core.models.base import utcnow  # noqa: E402
from core.models.cases import case_followers  # noqa: E402
from core.services.cases import perform  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.fakes.wechat_api import FakeWeChatAPI  # noqa: E402
from tests.support.processes import WorkerProcess, wait_until  # noqa: E402
from worker.channels import CHANNEL_TEMPLATE  # noqa: E402
from worker.relay import RqDispatcher  # noqa: E402
from worker.routes import QUEUES  # noqa: E402
from worker.runtime import redis_for  # noqa: E402
from wxclient.official import make_wechat_client  # noqa: E402

SECTION = "## Status notifications (`bench/notify.py`)"
INTRO = """
N case moves (accept, dispatch, handle, verify, close; one resident following each case) made with
the service layer in one transaction, then told to the residents as template messages by W real
worker processes (outbox relay, rq job, notification row, claim, send to the fake WeChat API, mark
sent), from the commit until the last message is sent; against the same N message bodies POSTed
to the same fake by W plain `requests` processes. Target: duplicates 0 (and none missing).

| date | machine | moves | workers | pipeline | msgs/s | plain sends | msgs/s | ratio | duplicates | missing |
|---|---|---|---|---|---|---|---|---|---|---|
"""
TEMPLATE_PATH = "/cgi-bin/message/template/send"
TEMPLATE_ID = "bench_case_status"
# One case's way through the loop: (who acts, action, params). Every move is one status message.
LIFECYCLE: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("center", "accept", {"note": "已受理"}),
    ("center", "dispatch", {"assignee": "bench-dept", "note": "请处置"}),
    ("dept", "handle", {"note": "已清理完毕"}),
    ("center", "verify", {"passed": True}),
    ("center", "close", {"note": "办结"}),
)


# --- the scene: residents, cases, staff, moves ---------------------------------------------


def seed_cases(database: Database, cases: int, settings: Settings) -> None:
    """`cases` reported cases, each by a resident of its own who follows the account; two staff."""
    day = utcnow().astimezone(settings.tz).strftime("%Y%m%d")
    with database.session() as s:
        s.add_all(
            [
                StaffUser(username="bench-center", display_name="区中心", password_hash="-", role=Role.DISTRICT_CENTER),
                StaffUser(
                    username="bench-dept", display_name="城管", password_hash="-", role=Role.DEPARTMENT, unit_code="CG"
                ),
            ]
        )
        followed = utcnow() - timedelta(days=30)
        # A follower who wrote in long ago: only a template message reaches them (no 48-hour window).
        resident_ids = s.scalars(
            insert(Resident).returning(Resident.id, sort_by_parameter_order=True),
            [{"openid": f"o-bench-{n:06d}", "is_follower": True, "followed_at": followed} for n in range(cases)],
        ).all()
        case_ids = s.scalars(
            insert(Case).returning(Case.id, sort_by_parameter_order=True),
            [
                {
                    "number": f"GZ{day}-{n + 1:06d}",
                    "source": CaseSource.WECHAT,
                    "status": CaseStatus.REPORTED,
                    "description": "楼道灯坏了",
                    "reporter_id": resident_id,
                }
                for n, resident_id in enumerate(resident_ids)
            ],
        ).all()
        s.execute(
            insert(case_followers),
            [{"case_id": c, "resident_id": r} for c, r in zip(case_ids, resident_ids, strict=True)],
        )
        s.commit()


def perform_moves(session: Any, moves: int) -> int:
    """Take the cases through LIFECYCLE with `perform`, case after case, until `moves` moves; uncommitted."""
    staff = {
        "center": session.scalar(select(StaffUser).where(StaffUser.username == "bench-center")),
        "dept": session.scalar(select(StaffUser).where(StaffUser.username == "bench-dept")),
    }
    numbers = session.scalars(select(Case.number).order_by(Case.id)).all()
    done = 0
    for number in numbers:
        for who, action, params in LIFECYCLE:
            if done == moves:
                return done
            perform(session, staff[who], number, action, dict(params))
            done += 1
    return done


# --- the pipeline --------------------------------------------------------------------------


def wait_for_idle_workers(redis: Any, workers: int) -> None:
    """Until rq lists `workers` idle workers, and a little longer for their poller and cron to start."""

    def idle() -> bool:
        return sum(1 for w in Worker.all(connection=redis) if w.get_state() == "idle") >= workers

    wait_until(idle, timeout=120, interval=0.5, what=f"{workers} idle workers")
    time.sleep(3)  # the outbox poller and the cron are processes of their own, spawned beside each worker


def run_pipeline(settings: Settings, fake: FakeWeChatAPI, moves: int, workers: int, logs: Path) -> dict[str, Any]:
    """Seed, start the workers, commit the moves and time until every message is sent; returns figures."""
    database = Database(settings.database_url)
    redis = redis_for(settings)
    cases = -(-moves // len(LIFECYCLE))
    print(f"seeding {cases} cases …", flush=True)
    seed_cases(database, cases, settings)
    # Production has a token in Redis long before any move; fetch it now so no job waits on one.
    assert make_wechat_client(settings, redis).access_token
    started = [WorkerProcess(settings, logs / f"worker-{n}.log", name="bench-notify") for n in range(workers)]
    try:
        wait_for_idle_workers(redis, workers)
        print(f"performing {moves} moves in one transaction …", flush=True)
        session = database.session()
        began = time.perf_counter()
        done = perform_moves(session, moves)
        assert done == moves, f"only {done} moves possible"
        performed = time.perf_counter() - began
        fake.reset()
        session.commit()
        start = time.perf_counter()
        session.close()
        # What the web process does after its commit (UnitOfWork.commit → dispatcher.kick).
        RqDispatcher(database, redis, settings).kick()
        relayed = time.perf_counter() - start

        shown = [start]

        def all_sent() -> bool:
            received = fake.count(TEMPLATE_PATH)
            if time.perf_counter() - shown[0] > 10:  # a sign of life on long runs
                shown[0] = time.perf_counter()
                print(f"  {received} of {moves} messages after {shown[0] - start:.0f} s", flush=True)
            if received < moves:
                return False
            with database.session() as s:
                return s.scalar(select(func.count()).where(Notification.status == NotificationStatus.SENT)) >= moves

        # At least a message a second, or something is broken rather than slow.
        wait_until(all_sent, timeout=60 + moves, interval=0.2, what=f"{moves} messages to be sent")
        elapsed = time.perf_counter() - start
        # The moves' other jobs (assignee's notice, platform push) may still be running: let them end.
        wait_until(lambda: all(Queue(q, connection=redis).count == 0 for q in QUEUES), timeout=120, interval=0.5)
        time.sleep(1)
    except AssertionError:
        for worker in started:
            print(f"--- {worker.log_path.name}, last lines:\n{worker.log()[-3000:]}", file=sys.stderr)
        raise
    finally:
        for worker in started:
            worker.stop()
    figures = check(database, fake, moves)
    figures.update(
        seconds=elapsed,
        perform_seconds=performed,
        relay_seconds=relayed,
        failed_jobs=sum(FailedJobRegistry(q, connection=redis).count for q in QUEUES),
    )
    database.dispose()
    return figures


def check(database: Database, fake: FakeWeChatAPI, moves: int) -> dict[str, Any]:
    """Compare what the fake received with what each resident should have got; returns the counts."""
    with database.session() as s:
        expected = Counter(
            (openid, number, CaseStatus(status).label)
            for openid, number, status in s.execute(
                select(Resident.openid, Case.number, CaseEvent.to_status)
                .join(Case, CaseEvent.case_id == Case.id)
                .join(Resident, Case.reporter_id == Resident.id)
                .where(CaseEvent.action != "report")
            )
        )
        notes = s.execute(
            select(Notification.event_id, Notification.resident_id, Notification.channel, Notification.attempts)
        ).all()
        outbox_topics = Counter(s.scalars(select(OutboxMessage.topic)))
    calls = fake.calls()
    sends = [c for c in calls if c.path == TEMPLATE_PATH]
    received = Counter(
        (c.json["touser"], c.json["data"]["keyword1"]["value"], c.json["data"]["keyword2"]["value"]) for c in sends
    )
    per_note = Counter((event_id, resident_id) for event_id, resident_id, _, _ in notes)
    return {
        "expected": sum(expected.values()),
        "received": len(sends),
        "refused": sum(1 for c in sends if c.status != 200 or c.errcode not in (0, None)),
        # A (case, status) a resident got more than once, beyond the first.
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "missing": sum((expected - received).values()),
        "unexpected": sum((received - expected).values()),
        "notifications": len(notes),
        "notes_twice": sum(n - 1 for n in per_note.values() if n > 1),
        "claimed_twice": sum(1 for *_, attempts in notes if attempts != 1),
        "not_template": sum(1 for _, _, channel, _ in notes if channel != CHANNEL_TEMPLATE),
        "other_calls": Counter(c.path for c in calls if c.path != TEMPLATE_PATH),
        "outbox": outbox_topics,
        "bodies": [c.json for c in sends],
    }


# --- the baseline --------------------------------------------------------------------------


def _plain_sender(base_url: str, app_id: str, secret: str, bodies: list[dict[str, Any]], ready: Any, go: Any) -> None:
    """One baseline process: a keep-alive session and a token first, then every body POSTed in turn."""
    http = requests.Session()
    answer = http.get(
        f"{base_url}cgi-bin/token",
        params={"grant_type": "client_credential", "appid": app_id, "secret": secret},
        timeout=5,
    ).json()
    token = answer["access_token"]
    ready.wait()
    go.wait()
    url = f"{base_url}{TEMPLATE_PATH.lstrip('/')}"
    headers = {"Content-Type": "application/json; charset=utf-8"}
    for body in bodies:
        # Encoded as wechatpy encodes a POST body: JSON, Chinese as UTF-8.
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        reply = http.post(url, params={"access_token": token}, data=data, headers=headers, timeout=5).json()
        if reply.get("errcode") != 0:
            raise RuntimeError(f"the fake refused a plain send: {reply}")


def run_baseline(settings: Settings, fake: FakeWeChatAPI, bodies: list[dict[str, Any]], workers: int) -> float:
    """Seconds for `workers` plain processes to POST `bodies` (split evenly) to the fake."""
    context = multiprocessing.get_context("spawn")  # this process runs the fake's threads: no fork
    ready, go = context.Barrier(workers + 1), context.Event()
    base = settings.wechat_api_base
    senders = [
        context.Process(
            target=_plain_sender,
            args=(base, settings.wechat_app_id, settings.wechat_app_secret, bodies[n::workers], ready, go),
        )
        for n in range(workers)
    ]
    for sender in senders:
        sender.start()
    ready.wait(timeout=60)  # every sender has its session and token: the same start as the idle workers
    fake.reset()
    start = time.perf_counter()
    go.set()
    for sender in senders:
        sender.join()
    elapsed = time.perf_counter() - start
    if any(sender.exitcode for sender in senders):
        raise SystemExit("a plain sender failed")
    sent = fake.count(TEMPLATE_PATH)
    if sent != len(bodies):
        raise SystemExit(f"the plain senders sent {sent} of {len(bodies)} messages")
    return elapsed


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--logs", type=Path, help="keep the workers' logs in this directory (default: thrown away)")
    args = parser.parse_args()
    redis_lib.Redis.from_url(REDIS_URL).flushdb()  # no jobs or workers left over from another run
    with tempfile.TemporaryDirectory() as media_dir, scratch_database("gongzhi_bench_notify") as url:
        settings = production_settings(url, media_dir, wechat_status_templates=((("default", TEMPLATE_ID),)))
        fake = FakeWeChatAPI(settings.wechat_app_id, settings.wechat_app_secret).start()
        try:
            settings = settings.replace(wechat_api_base=fake.base_url)
            logs = args.logs or Path(media_dir) / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            got = run_pipeline(settings, fake, args.moves, args.workers, logs)
            print(f"pipeline: {got['seconds']:.2f} s; now the plain sends …", flush=True)
            baseline = run_baseline(settings, fake, got["bodies"], args.workers)
        finally:
            fake.stop()
    report(args.moves, args.workers, got, baseline)


def report(moves: int, workers: int, got: dict[str, Any], baseline: float) -> None:
    """Print the figures and checks, record the row; exit 1 if any resident was told wrongly."""
    rate, plain = moves / got["seconds"], moves / baseline
    ratio = rate / plain
    print(
        f"moves made in {got['perform_seconds']:.1f} s (one transaction), relay kick {got['relay_seconds']:.2f} s\n"
        f"outbox rows: {dict(got['outbox'])}; other API calls: {dict(got['other_calls'])}; "
        f"failed jobs: {got['failed_jobs']}\n"
        f"messages: {got['received']} received of {got['expected']} expected; refused {got['refused']}, "
        f"duplicates {got['duplicates']}, missing {got['missing']}, unexpected {got['unexpected']}\n"
        f"notifications: {got['notifications']} rows, {got['notes_twice']} twice for one (event, resident), "
        f"{got['claimed_twice']} claimed more than once, {got['not_template']} not template messages\n"
        f"pipeline: {got['seconds']:.2f} s ({rate:.1f} msgs/s); plain sends: {baseline:.2f} s ({plain:.1f} msgs/s); "
        f"ratio {ratio:.3f}; duplicates {got['duplicates']} (target 0)"
    )
    line = (
        f"| {now()} | {machine()} | {moves} | {workers} | {got['seconds']:.2f} s | {rate:.1f} | {baseline:.2f} s | "
        f"{plain:.1f} | {ratio:.3f} | {got['duplicates']} | {got['missing']} |"
    )
    record(SECTION, INTRO, line)
    wrong = (
        got["duplicates"]
        + got["missing"]
        + got["unexpected"]
        + got["refused"]
        + got["notes_twice"]
        + got["claimed_twice"]
        + got["not_template"]
        + abs(got["notifications"] - moves)
        + abs(got["expected"] - moves)
    )
    if wrong:
        raise SystemExit("some resident was not told exactly once per move: see the counts above")


if __name__ == "__main__":
    main()

"""Benchmark 2: mini-program report creation with one 1 MB photo, against a bare Flask upload of the same body.

Run `.venv/bin/python bench/upload.py [--seconds S] [--connections C]` (after `make bench-setup`) with
PostgreSQL and Redis on loopback. Both servers run under gunicorn with the project's gunicorn.conf.py
and are driven by wrk from its own process with the same multipart body: one ~1 MB phone photo
(12 MP, EXIF orientation and GPS), a category, a place, a description and a client_request_id
unique to each request.

- baseline: bench/apps/bare_flask.py's `/upload`, which stores the file and answers 201;
- the service: `POST /api/v1/reports` with production settings on a scratch PostgreSQL database
  with the demo district — token check, form validation, the photo checked (draft decode) and kept
  under MEDIA_DIR/uploads/, the case made with its number, timeline entry and `photo.fetch` outbox
  row, the row relayed to rq. No worker runs, so the photos stay as uploaded and can be counted.

A resident may report 10 times per 10 minutes, so each request is signed by one of many residents
(at least 2,000; each used a few times at most) and the limit is never what is measured. Afterwards
it checks that every answered request made exactly one case with one photo and one file under
MEDIA_DIR, and nothing else. It prints p50/p95 and req/s and their ratios to the baseline, and adds
a line to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from sqlalchemy import func, select

from bench.harness import (
    REDIS_URL,
    Gunicorn,
    Load,
    lua_string,
    machine,
    now,
    production_settings,
    project_app,
    run_wrk,
    scratch_database,
    wait_for_quiet,
)
from bench.mixed import (
    BOUNDARY,
    DESCRIPTIONS,
    LUA_MULTIPART,
    SUB_CATEGORY,
    files_under,
    lua_constants,
    mint_tokens,
    phone_photo,
)
from bench.results import record
from core import outbox as outbox_topics
from core.db import Database
from core.models import Case, OutboxMessage, Photo
from core.services.demo import DISTRICT_BOX, load_demo
from tests.support.processes import settings_env

SECTION = "## Mini-program report (`bench/upload.py`)"
INTRO = """
`POST /api/v1/reports` with one ~1 MB phone photo (12 MP JPEG, EXIF orientation and GPS) as multipart,
against bench/apps/bare_flask.py's `/upload` storing the same body; both under gunicorn (the project's
gunicorn.conf.py), wrk on loopback, one server at a time, a fresh client_request_id per request and
many residents, so the per-resident limit (10 per 10 minutes) never applies. Every answered request
must make exactly one case, one photo and one file under MEDIA_DIR. `Flask` is the bare baseline; `×` the
service's figure over the baseline's.

| date | machine | conns | photo | req/s | p50 | p95 | p99 | errors | Flask req/s | p50 | p95 | p50 × | p95 × | rate × |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
"""
LAT = (DISTRICT_BOX[1] + DISTRICT_BOX[3]) / 2
LNG = (DISTRICT_BOX[0] + DISTRICT_BOX[2]) / 2
WARM_UP_SECONDS = 2

REQUEST = """
thread_no = 0
local threads = 0
local counter = 0
function setup(thread) thread:set("thread_no", threads); threads = threads + 1 end
function request()
  counter = counter + 1
  local n = BASE + thread_no * 100000000 + counter
  -- Each thread walks its own stretch of residents, so no two requests of a run share one.
  local token = TOKENS[((thread_no * STRIDE + OFFSET + counter) % #TOKENS) + 1]
  return report(PATH, n, token)
end
"""


def lua_for(path: str, photo: Path, tokens: Path, base: int, stride: int, offset: int) -> str:
    """The wrk script posting the report body to `path`; `base` keeps request ids unique across runs."""
    constants = lua_constants(
        # The one byte that differs: the API's field is `photos`, bare Flask reads `photo`.
        PHOTO_FIELD=lua_string("photo" if path == "/upload" else "photos"),
        PHOTO_PATH=lua_string(str(photo)),
        TOKENS_PATH=lua_string(str(tokens)),
        BOUNDARY=lua_string(BOUNDARY),
        CATEGORY=lua_string(SUB_CATEGORY),
        LAT=lua_string(f"{LAT:.6f}"),
        LNG=lua_string(f"{LNG:.6f}"),
        DESCRIPTIONS="{" + ", ".join(lua_string(d) for d in DESCRIPTIONS) + "}",
        PATH=lua_string(path),
        BASE=str(base),
        STRIDE=str(stride),
        OFFSET=str(offset),
    )
    return constants + LUA_MULTIPART + REQUEST


def measure(server: Gunicorn, path: str, files: tuple[Path, Path], args: argparse.Namespace, stride: int) -> list[Load]:
    """A warm-up (every gunicorn worker up and warm), then the timed run; both loads, the timed one last."""
    photo, tokens = files
    warm = run_wrk(
        server.base_url,
        lua_for(path, photo, tokens, 10**12, stride, 0),
        args.connections,
        WARM_UP_SECONDS,
        args.threads,
    )
    # The timed run starts where the warm-up left off in each thread's stretch of residents.
    offset = warm.requests // args.threads + args.connections
    load = run_wrk(
        server.base_url, lua_for(path, photo, tokens, 0, stride, offset), args.connections, args.seconds, args.threads
    )
    wait_for_quiet(2)
    return [warm, load]


def check_stored(database: Database, media_dir: str, loads: list[Load], connections: int) -> tuple[int, list[str]]:
    """The cases made, and what is wrong with what was stored (an empty list when nothing is).

    A request still in flight when wrk stops is answered to no one but may have made its case, so
    the cases may exceed the answers by up to one per connection and run; never fall short of them.
    """
    answered = sum(load.requests - load.non_2xx for load in loads)
    unanswered = connections * len(loads) + sum(load.errors for load in loads)
    problems = []
    with database.session() as s:
        cases = s.scalar(select(func.count()).select_from(Case))
        photos = s.scalar(select(func.count()).select_from(Photo))
        per_case = select(Photo.case_id, func.count().label("n")).group_by(Photo.case_id).subquery()
        odd = s.scalar(select(func.count()).select_from(per_case).where(per_case.c.n != 1))
        uploads = set(s.scalars(select(Photo.upload_path)))
        outbox = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.topic == outbox_topics.PHOTO_FETCH)
        )
    stored = set(files_under(media_dir))
    if not answered <= cases <= answered + unanswered:
        problems.append(f"{answered} answered with 2xx but {cases} cases")
    if photos != cases or odd:
        problems.append(f"{cases} cases but {photos} photos ({odd} cases without exactly one)")
    if stored != uploads:
        problems.append(f"{len(stored)} files under MEDIA_DIR, {len(uploads)} photos; differ: {stored ^ uploads}")
    if outbox != photos:
        problems.append(f"{outbox} photo.fetch outbox rows for {photos} photos")
    return cases, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--residents", type=int, default=0, help="residents signing reports (default: plenty)")
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so the servers, workers and scratch database are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Far more residents than the service can take reports in a run: each is used a few times at most.
    residents = args.residents or max(2000, args.seconds * 300)
    stride = residents // args.threads
    results: dict[str, Load] = {}
    with (
        tempfile.TemporaryDirectory() as work,
        tempfile.TemporaryDirectory() as media_dir,
        scratch_database() as url,
    ):
        work_dir = Path(work)
        photo = work_dir / "photo.jpg"
        photo.write_bytes(phone_photo())
        print(f"photo: {photo.stat().st_size / 1e6:.2f} MB; seeding the demo district and {residents:,} residents …")
        settings = production_settings(url, media_dir)
        database = Database(url)
        with database.session() as s:
            load_demo(s, settings)
            s.commit()
        tokens = work_dir / "tokens.txt"
        tokens.write_text("\n".join(mint_tokens(database, settings, residents, "bench-upload")) + "\n")
        redis.Redis.from_url(REDIS_URL).flushdb()  # the jobs of earlier runs name databases long dropped
        env = {**settings_env(settings), "BENCH_UPLOAD_DIR": str(work_dir / "bare-uploads")}
        with Gunicorn("bench.apps.bare_flask:app", env, work_dir / "bare.log") as server:
            results["bare Flask"] = measure(server, "/upload", (photo, tokens), args, stride)[-1]
            print(f"    bare Flask: {cells(results['bare Flask'])}", flush=True)
        with project_app(settings, work_dir / "gongzhi.log") as server:
            loads = measure(server, "/api/v1/reports", (photo, tokens), args, stride)
            results["report"] = loads[-1]
            print(f"        report: {cells(results['report'])}", flush=True)
        cases, problems = check_stored(database, media_dir, loads, args.connections)
        database.dispose()
        redis.Redis.from_url(REDIS_URL).flushdb()  # no worker will ever run these jobs
        size = photo.stat().st_size
    report, bare = results["report"], results["bare Flask"]
    if report.errors or report.non_2xx or problems:
        raise SystemExit(f"the reports were not all answered and stored once: {report} {problems}")
    ratios = (report.p50 / bare.p50, report.p95 / bare.p95, report.rate / bare.rate)
    record(
        SECTION,
        INTRO,
        f"| {now()} | {machine()} | {args.connections} | {size / 1e6:.2f} MB | {report.rate:,.0f} | "
        f"{report.p50:.1f} ms | {report.p95:.1f} ms | {report.p99:.1f} ms | {report.errors + report.non_2xx} | "
        f"{bare.rate:,.0f} | {bare.p50:.1f} ms | {bare.p95:.1f} ms | "
        f"{ratios[0]:.2f} | {ratios[1]:.2f} | {ratios[2]:.2f} |",
    )
    print(
        f"report × bare Flask: p50 {ratios[0]:.2f}, p95 {ratios[1]:.2f}, req/s {ratios[2]:.2f}; "
        f"{cases:,} cases, each with one photo and one file, nothing else stored"
    )


def cells(load: Load) -> str:
    return (
        f"{load.rate:,.0f} req/s, p50 {load.p50:.1f} ms, p95 {load.p95:.1f} ms, p99 {load.p99:.1f} ms, "
        f"> 1 s {load.over_1s}, errors {load.errors}, non-2xx {load.non_2xx}"
    )


if __name__ == "__main__":
    main()

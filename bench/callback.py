"""Benchmark 1: the WeChat callback under wrk against a bare Flask `success` and a WeRoBot echo bot.

Run `.venv/bin/python bench/callback.py [--seconds S] [--connections C]` (after `make bench-setup`)
with PostgreSQL and Redis on loopback. In one run, each under gunicorn with the project's
gunicorn.conf.py and driven by wrk from its own process, one server at a time:

- baseline (a): a bare Flask endpoint that reads the body and answers `success`;
- baseline (b): WeRoBot's echo bot (signature checked, message parsed, the text echoed back);
- the service's callback, production settings on a scratch PostgreSQL database with the demo
  district, for three paths: the help text (「帮助」), draft-building messages (photo, location,
  text in turn, spread over 9,997 residents) and 「提交」 of a ready draft (one per request; every
  request must make exactly one case).

Every request has its own MsgId and its own signature (a signed query is good for one body). It
prints requests/s, p50/p99, answers slower than 1 s and 5 s, and each rate as a ratio of WeRoBot's
and bare Flask's, and adds one line per path to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from bench.harness import (
    BENCH_TOKEN,
    SIGN_LUA,
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
from bench.results import record
from core.db import Database
from core.models import Case, ReportDraft, Resident
from core.services.demo import DISTRICT_BOX, load_demo
from tests.support.processes import settings_env

SECTION = "## WeChat callback (`bench/callback.py`)"
INTRO = """
wrk against gunicorn (the project's gunicorn.conf.py) on loopback, one server at a time, plain-mode
callbacks with a fresh MsgId each. Baselines: a bare Flask endpoint answering `success`, and
WeRoBot 1.13.1's echo bot. Targets: help faster than WeRoBot; draft ≥ 0.5 × WeRoBot; 提交 ≥ 1,000/s
on PostgreSQL; p99 < 50 ms at 32 connections; none over 1 s.

| date | machine | path | conns | req/s | p50 | p99 | > 1 s | > 5 s | errors | × WeRoBot | × bare Flask |
|---|---|---|---|---|---|---|---|---|---|---|---|
"""
DRAFT_RESIDENTS = 9997  # not a multiple of 3, so each resident gets photo, location and text in turn
DESCRIPTIONS = ("路灯不亮了，晚上很黑", "井盖破损，有安全隐患", "垃圾没有清运，有异味", "楼道堆放杂物，堵塞消防通道")
LAT = (DISTRICT_BOX[1] + DISTRICT_BOX[3]) / 2
LNG = (DISTRICT_BOX[0] + DISTRICT_BOX[2]) / 2

# Each wrk thread numbers its requests 1, 2, 3 …; `n` below is unique across threads and runs.
LUA_COMMON = """
thread_no = 0
local threads = 0
local counter = 0
function setup(thread) thread:set("thread_no", threads); threads = threads + 1 end
local function envelope(openid, msg_type, fields, id)
  return "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[" .. openid ..
    "]]></FromUserName><CreateTime>" .. os.time() .. "</CreateTime><MsgType><![CDATA[" .. msg_type ..
    "]]></MsgType>" .. fields .. "<MsgId>" .. id .. "</MsgId></xml>"
end
local function text(content) return "<Content><![CDATA[" .. content .. "]]></Content>" end
local function post(body)
  return wrk.format("POST", signed_query(BASE .. "t" .. thread_no, "bench"), {["Content-Type"] = "text/xml"}, body)
end
"""

LUA_PATHS = {
    "help": """
function request()
  counter = counter + 1
  local id = BASE + thread_no * 100000000 + counter
  return post(envelope("bench-help-" .. (counter % 5000), "text", text("帮助"), id))
end
""",
    "draft": """
local descriptions = DESCRIPTIONS
function request()
  counter = counter + 1
  local id = BASE + thread_no * 100000000 + counter
  local openid = "bench-draft-" .. thread_no .. "-" .. (counter % DRAFT_RESIDENTS)
  local step = counter % 3
  if step == 0 then
    return post(envelope(openid, "image",
      "<PicUrl><![CDATA[http://mmbiz.example/p]]></PicUrl><MediaId><![CDATA[bench-m-" .. id .. "]]></MediaId>", id))
  elseif step == 1 then
    return post(envelope(openid, "location", "<Location_X>" .. LAT .. "</Location_X><Location_Y>" .. LNG ..
      "</Location_Y><Scale>16</Scale><Label><![CDATA[幸福路 18 号]]></Label>", id))
  end
  return post(envelope(openid, "text", text(descriptions[(counter % #descriptions) + 1]), id))
end
""",
    "submit": """
function request()
  counter = counter + 1
  local id = BASE + thread_no * 100000000 + counter
  return post(envelope("bench-ready-" .. thread_no .. "-" .. counter, "text", text("提交"), id))
end
""",
}
# The baselines get the same help message: WeRoBot echoes it, bare Flask ignores it.
LUA_PATHS["echo"] = LUA_PATHS["help"]


def lua_for(path: str, base: int) -> str:
    values = {
        "TOKEN": lua_string(BENCH_TOKEN),
        "BASE": str(base),
        "DRAFT_RESIDENTS": str(DRAFT_RESIDENTS),
        "DESCRIPTIONS": "{" + ", ".join(lua_string(d) for d in DESCRIPTIONS) + "}",
        "LAT": f"{LAT:.6f}",
        "LNG": f"{LNG:.6f}",
    }
    header = "".join(f"local {name} = {value}\n" for name, value in values.items())
    return header + SIGN_LUA + LUA_COMMON + LUA_PATHS[path]


def seed(database: Database, settings, ready_per_thread: int, threads: int) -> int:
    """The demo district, and `ready_per_thread` complete drafts per wrk thread for 「提交」; returns their count."""
    with database.session() as s:
        load_demo(s, settings)
        s.commit()
    report = {
        "description": DESCRIPTIONS[0],
        "lat": LAT,
        "lng": LNG,
        "coord_system": "gcj02",
        "location_label": "幸福路 18 号",
        "category_code": "0506",  # 路灯不亮, as the chat suggests for this description
        "suggested_codes": ["0506"],
    }
    made = 0
    for thread in range(threads):
        with database.session() as s:
            openids = [f"bench-ready-{thread}-{n}" for n in range(1, ready_per_thread + 1)]
            ids = s.scalars(insert(Resident).returning(Resident.id), [{"openid": o} for o in openids]).all()
            s.execute(
                insert(ReportDraft),
                [
                    {"resident_id": rid, "report": {**report, "wechat_media_ids": [f"ready-{rid}"]}, "replies": {}}
                    for rid in ids
                ],
            )
            s.commit()
            made += len(ids)
    return made


def measure(server: Gunicorn, path: str, args: argparse.Namespace, base: int) -> Load:
    # Two seconds of help messages first, so every worker process is up and warm when timing starts.
    run_wrk(server.base_url, lua_for("help", base + 5 * 10**9), args.connections, 2, args.threads)
    load = run_wrk(server.base_url, lua_for(path, base), args.connections, args.seconds, args.threads)
    wait_for_quiet()
    return load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ready", type=int, default=0, help="drafts per wrk thread for 提交 (default: enough)")
    args = parser.parse_args()
    ready = args.ready or int(args.seconds * 2500 / args.threads) + 1000
    results: dict[str, Load] = {}
    with tempfile.TemporaryDirectory() as media_dir, scratch_database() as url:
        logs = Path(media_dir)
        settings = production_settings(url, media_dir)
        env = settings_env(settings)
        database = Database(url)
        print(f"seeding the demo district and {ready * args.threads:,} ready drafts …", flush=True)
        prepared = seed(database, settings, ready, args.threads)
        for name, app in (("bare Flask", "bench.apps.bare_flask:app"), ("WeRoBot echo", "bench.apps.werobot_echo:app")):
            with Gunicorn(app, env, logs / f"{name}.log") as server:
                results[name] = measure(server, "echo", args, base=0)
                print(f"{name:>14}: {results[name].cells()}", flush=True)
        with project_app(settings, logs / "gongzhi.log") as server:
            for base, path in enumerate(("help", "draft", "submit"), start=1):
                results[path] = measure(server, path, args, base=base * 10**10)
                print(f"{path:>14}: {results[path].cells()}", flush=True)
        with database.session() as s:
            cases = s.scalar(select(func.count()).select_from(Case))
            strays = (
                s.scalar(select(func.count()).select_from(Resident).where(Resident.openid.like("bench-ready-%")))
                - prepared
            )
        database.dispose()
    submitted = results["submit"].requests
    if strays or cases < submitted:
        raise SystemExit(f"提交 did not make one case each: {submitted} answered, {cases} cases, {strays} strays")
    baseline, bare = results["WeRoBot echo"].rate, results["bare Flask"].rate
    for path, load in results.items():
        row = (
            f"| {now()} | {machine()} | {path} | {args.connections} | {load.cells()} | "
            f"{load.rate / baseline:.2f} | {load.rate / bare:.2f} |"
        )
        record(SECTION, INTRO, row)
    print(
        f"help × WeRoBot {results['help'].rate / baseline:.2f} (target > 1); "
        f"draft × WeRoBot {results['draft'].rate / baseline:.2f} (target ≥ 0.5); "
        f"提交 {results['submit'].rate:,.0f}/s (target ≥ 1,000), {cases:,} cases made"
    )


if __name__ == "__main__":
    main()

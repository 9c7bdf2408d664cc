"""Benchmark 6: scale — the staff queue and the figures page on generated districts of 10k, 100k and 1M cases."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # run as a script from anywhere: the packages live one level up

from sqlalchemy import Engine, event, select, text  # noqa: E402

from bench.harness import PG_ADMIN, machine, now, scratch_database  # noqa: E402
from bench.results import record  # noqa: E402
from core.db import Database  # noqa: E402
from core.models import Category, Grid, StaffUser  # noqa: E402
from core.services.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from core.services.queues import QueueFilter, queue  # noqa: E402
from core.settings import Settings  # noqa: E402

SECTION = "## Scale (`bench/scale.py`)"
INTRO = """
Generated districts on PostgreSQL: the demo district's 12 grids, staff and catalogue, and N cases spread
over 3 years (ids in time order; ~1.7% open — a few hundred to a few thousand per grid at 1M — the rest
closed, evaluated, rejected or merged; tiers, assignees, deadlines, overdue stamps, one timeline entry
each). The sizes grow in one database (10k → 100k → 1M, VACUUM ANALYZE after each step). Per size:
`core.services.queues.queue()` in-process with a fresh Session per call (page 1, and page 20 where
marked), and GET /console/figures through the Flask app (test client, signed in through the console's
form) for the district center and a community station, over the last 30 days and the last 365 days.
p50/p95 of R repetitions taken in turns; "× 10k" is the p95 over the same measurement's p95 at the smallest size.
Target: flat or logarithmic (1M ≤ ~3× 10k); where not, the plan (EXPLAIN (ANALYZE, BUFFERS), trimmed)
is in the file named in the last column.

| date | machine | cases | measurement | p50 | p95 | × 10k | plan |
|---|---|---|---|---|---|---|---|
"""
PLANS_DIR = Path(__file__).resolve().parent / "plans"
SPAN_DAYS = 3 * 365
NOT_FLAT = 3.0  # a 1M p95 over 3× the 10k p95 grows faster than logarithmically: show its plan
TZ_NAME = "Asia/Shanghai"

# Cases [lo, hi) of the final id space that belong to a size: the ids i with floor(i·n/m) > floor((i-1)·n/m)
# are n ids spread evenly over 1..m, so each size's cases cover the whole 3 years and ids stay in time
# order, as a real district's do; sizes that divide each other pick nested sets (10k ⊂ 100k ⊂ 1M).
# Everything a case's row says is drawn from its own random numbers, in one INSERT … SELECT.
CASES_SQL = """
WITH picked AS (
    SELECT i FROM generate_series(1, :m) AS i
    WHERE floor(i::numeric * :n / :m) > floor((i - 1)::numeric * :n / :m)
      AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = i)
), drawn AS (
    SELECT i,
           CAST(:now AS timestamptz) - make_interval(secs => (:m - i + random()) * :span_secs / :m) AS created,
           random() AS r_open, random() AS r_status, random() AS r_tier, random() AS r_src, random() AS r_grid,
           random() AS r_cat, random() AS r_t1, random() AS r_t2, random() AS r_t3, random() AS r_t4,
           random() AS r_rate, random() AS r_unit, random() AS r_out
    FROM picked
), aged AS (
    SELECT d.*, extract(epoch FROM CAST(:now AS timestamptz) - created) / 86400.0 AS age,
           1 + floor(r_grid * cardinality(CAST(:grid_ids AS int[])))::int AS g,
           1 + floor(r_cat * cardinality(CAST(:cat_ids AS int[])))::int AS k,
           CASE WHEN r_tier < 0.70 THEN 'community' WHEN r_tier < 0.90 THEN 'street' ELSE 'district' END AS tier
    FROM drawn d
), statused AS (
    -- Open while fresh (the backlog of the last weeks) and for a few stale cases; otherwise finished.
    SELECT a.*,
           CASE
             WHEN r_open < 0.95 * exp(-age / 15.0) OR r_open > 0.997 THEN
               CASE
                 WHEN age < 0.5 THEN (CASE WHEN r_status < 0.5 THEN 'reported'
                                           WHEN r_status < 0.75 THEN 'accepted' ELSE 'dispatched' END)
                 WHEN r_status < 0.08 THEN 'reported'
                 WHEN r_status < 0.15 THEN 'accepted'
                 WHEN r_status < 0.70 THEN 'dispatched'
                 WHEN r_status < 0.88 THEN 'handled'
                 ELSE 'verified'
               END
             WHEN r_status < 0.35 THEN 'closed'
             WHEN r_status < 0.90 THEN 'evaluated'
             WHEN r_status < 0.96 THEN 'rejected'
             ELSE 'duplicate'
           END AS status
    FROM aged a
), timed AS (
    SELECT s.*,
           CASE WHEN status NOT IN ('reported', 'rejected', 'duplicate')
                THEN least(created + make_interval(secs => 60 * (5 + r_t1 * 115)), CAST(:now AS timestamptz))
           END AS acc,
           (CAST(:limits AS int[]))[k] AS limit_h
    FROM statused s
), dispatched AS (
    SELECT t.*,
           CASE WHEN status NOT IN ('reported', 'accepted', 'rejected', 'duplicate')
                THEN least(acc + make_interval(secs => 60 * (5 + r_t2 * 235)), CAST(:now AS timestamptz)) END AS dis
    FROM timed t
), handled AS (
    SELECT d.*,
           CASE WHEN status IN ('handled', 'verified', 'closed', 'evaluated')
                -- quadratic: most within a day or two, about one in five past a 72-hour limit
                THEN least(dis + make_interval(secs => 3600 * (1 + r_t3 * r_t3 * 110)), CAST(:now AS timestamptz))
           END AS hand,
           dis + make_interval(hours => limit_h) AS deadline,
           CASE WHEN dis IS NULL THEN NULL
                WHEN tier = 'community' THEN (CAST(:workers AS int[]))[g]
                WHEN tier = 'street' THEN (CAST(:streets AS int[]))[g]
                ELSE (CAST(:departments AS int[]))[1 + floor(r_unit * cardinality(CAST(:departments AS int[])))::int]
           END AS who
    FROM dispatched d
)
INSERT INTO cases (
    id, number, status, source, description, category_id, lat, lng, coord_system, grid_id, anonymous,
    tracking_token, tier, assignee_id, handler_id, deadline_at, warned_at, overdue_at, assisting_units,
    accepted_at, dispatched_at, handled_at, closed_at, rating, created_at, updated_at
)
SELECT i,
       'GZ' || to_char(created AT TIME ZONE :tz, 'YYYYMMDD') || '-' || lpad(i::text, 7, '0'),
       status,
       CASE WHEN r_src < 0.45 THEN 'wechat' WHEN r_src < 0.70 THEN 'miniprogram' WHEN r_src < 0.80 THEN 'scan'
            WHEN r_src < 0.82 THEN 'open311' ELSE 'staff' END,
       '生成的案件 ' || i,
       (CAST(:cat_ids AS int[]))[k],
       31.785 + r_grid * 0.03, 117.28 + r_cat * 0.04, 'gcj02',
       -- one case in two hundred lies outside every grid
       CASE WHEN r_out < 0.005 THEN NULL ELSE (CAST(:grid_ids AS int[]))[g] END,
       false,
       md5('track-' || i),
       CASE WHEN dis IS NOT NULL THEN tier END,
       who,
       CASE WHEN hand IS NOT NULL THEN who END,
       deadline,
       CASE WHEN dis + make_interval(secs => 0.8 * 3600 * limit_h) < coalesce(hand, CAST(:now AS timestamptz))
            THEN dis + make_interval(secs => 0.8 * 3600 * limit_h) END,
       CASE WHEN deadline < coalesce(hand, CAST(:now AS timestamptz)) THEN deadline END,
       CASE WHEN tier = 'district' AND dis IS NOT NULL AND r_unit < 0.2 THEN '["SJ"]'::json END,
       acc, dis, hand,
       CASE WHEN status IN ('closed', 'evaluated')
            THEN least(hand + make_interval(secs => 3600 * (2 + r_t4 * 46)), CAST(:now AS timestamptz)) END,
       CASE WHEN status = 'evaluated' THEN
            CASE WHEN r_rate < 0.55 THEN 5 WHEN r_rate < 0.80 THEN 4 WHEN r_rate < 0.90 THEN 3
                 WHEN r_rate < 0.95 THEN 2 ELSE 1 END END,
       created,
       coalesce(hand, dis, acc, created)
FROM handled
"""
# Neither the queue nor the figures read the timeline; one entry per case gives the table a district's size.
EVENTS_SQL = """
INSERT INTO case_events (case_id, action, from_status, to_status, note, data, created_at)
SELECT c.id, 'report', NULL, 'reported', '', '{}', c.created_at FROM cases c
WHERE NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id)
"""


@dataclass
class District:
    """The demo district's ids the generator spreads cases over, and its scratch database."""

    url: str
    grid_ids: list[int]  # the base grids
    workers: list[int]  # the grid worker of each base grid, same order
    streets: list[int]  # the street center above each base grid, same order
    departments: list[int]
    categories: list[int]  # sub-categories
    limits: list[int]  # each sub-category's time limit in hours
    cases: int = 0
    generated_seconds: list[float] = field(default_factory=list)


def load_district(url: str) -> District:
    """The demo district (grids, staff, catalogue) in the scratch database, and the ids cases draw from."""
    database = Database(url)
    with database.session() as s:
        load_demo(s, Settings(database_url=url))
        s.commit()
        grids = list(s.scalars(select(Grid).where(Grid.level == "grid").order_by(Grid.path)))
        staff = {u.username: u for u in s.scalars(select(StaffUser))}

        def by_grid(role: str, grid: Grid) -> int:
            return next(u.id for u in staff.values() if u.role == role and u.grid is not None and u.grid.contains(grid))

        subs = list(s.scalars(select(Category).where(Category.parent_id.is_not(None)).order_by(Category.id)))
        district = District(
            url=url,
            grid_ids=[g.id for g in grids],
            workers=[
                next(u.id for u in staff.values() if u.role == "grid_worker" and u.grid_id == g.id) for g in grids
            ],
            streets=[by_grid("street_center", g) for g in grids],
            departments=[u.id for u in staff.values() if u.role == "department"],
            categories=[c.id for c in subs],
            limits=[c.time_limit_hours or 72 for c in subs],
        )
    database.dispose()
    return district


def grow(district: District, size: int, largest: int, at: datetime) -> float:
    """Add the cases of `size` the district lacks (see CASES_SQL), then VACUUM ANALYZE; returns seconds."""
    database = Database(district.url)
    start = time.perf_counter()
    with database.engine.begin() as conn:
        conn.execute(text("SELECT setseed(:seed)"), {"seed": size / (largest * 2.0)})
        conn.execute(
            text(CASES_SQL),
            {
                "m": largest,
                "n": size,
                "now": at,
                "span_secs": SPAN_DAYS * 86400,
                "tz": TZ_NAME,
                "grid_ids": district.grid_ids,
                "workers": district.workers,
                "streets": district.streets,
                "departments": district.departments,
                "cat_ids": district.categories,
                "limits": district.limits,
            },
        )
        conn.execute(text(EVENTS_SQL))
        conn.execute(text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
        district.cases = conn.scalar(text("SELECT count(*) FROM cases")) or 0
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    database.dispose()
    elapsed = time.perf_counter() - start
    district.generated_seconds.append(elapsed)
    return elapsed


class StatementLog:
    """Every SQL statement run while it is active, with its parameters and duration, on any engine."""

    def __init__(self) -> None:
        self.active = False
        self.statements: list[tuple[float, str, Any]] = []
        self._started: dict[int, float] = {}
        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.active:
            self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        started = self._started.pop(id(cursor), None)
        if self.active and started is not None:
            self.statements.append((time.perf_counter() - started, statement, parameters))

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[tuple[float, str, Any]]]:
        """The statements of the block, slowest first once it ends."""
        self.statements, self.active = [], True
        try:
            yield self.statements
        finally:
            self.active = False
            self.statements.sort(key=lambda s: s[0], reverse=True)


STATEMENTS = StatementLog()


@dataclass
class Measurement:
    """One thing timed at every size: a name for the table and plan files, and a call to time."""

    name: str
    run: Callable[[], None]
    rows: list[int] = field(default_factory=lambda: [-1])  # cases on the page, for queues


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0–1) of `values`, by linear interpolation between order statistics."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timed(measurements: list[Measurement], repeat: int) -> dict[str, list[float]]:
    """Milliseconds of `repeat` calls of each measurement, after two untimed ones (caches and pools warmed).

    The calls go round the measurements in turn, so that a burst of load from other work on the
    machine spreads over all of them instead of landing on one.
    """
    times: dict[str, list[float]] = {m.name: [] for m in measurements}
    for round_ in range(repeat + 2):
        for m in measurements:
            start = time.perf_counter()
            m.run()
            if round_ >= 2:
                times[m.name].append((time.perf_counter() - start) * 1000)
    return times


def queue_measurements(database: Database) -> list[Measurement]:
    """queue() for realistic staff: each call in a fresh Session with the person loaded, as a request has."""
    asks = [
        ("queue-worker-mine", "demo-worker-1-1-1", QueueFilter(view="mine")),
        ("queue-station-new", "demo-station-1-1", QueueFilter(view="new")),
        ("queue-station-all", "demo-station-1-1", QueueFilter(view="all")),
        ("queue-station-all-p20", "demo-station-1-1", QueueFilter(view="all", page=20)),
        ("queue-district-overdue", "demo-district", QueueFilter(view="overdue")),
        ("queue-district-all", "demo-district", QueueFilter(view="all")),
        ("queue-district-all-p20", "demo-district", QueueFilter(view="all", page=20)),
    ]

    def call(username: str, wanted: QueueFilter) -> tuple[Callable[[], None], list[int]]:
        rows = [0]  # the cases on the last page fetched, to show that the queue is not empty

        def run() -> None:
            with database.session() as s:
                staff = s.scalar(select(StaffUser).where(StaffUser.username == username))
                assert staff is not None
                rows[0] = len(queue(s, staff, wanted).cases)

        return run, rows

    made = []
    for name, username, wanted in asks:
        run, shown = call(username, wanted)
        made.append(Measurement(name, run, shown))
    return made


def figures_measurements(client_for: Callable[[str], Any], today: datetime) -> list[Measurement]:
    """GET /console/figures (and its CSV once) for the district center and a community station."""
    day = today.date()
    periods = {
        "30d": {"from": (day - timedelta(days=29)).isoformat(), "to": day.isoformat()},
        "365d": {"from": (day - timedelta(days=364)).isoformat(), "to": day.isoformat()},
    }
    asks = [
        ("figures-district-30d", "demo-district", periods["30d"], False),
        ("figures-district-365d", "demo-district", periods["365d"], False),
        ("figures-district-365d-csv", "demo-district", periods["365d"], True),
        ("figures-station-30d", "demo-station-1-1", periods["30d"], False),
        ("figures-station-365d", "demo-station-1-1", periods["365d"], False),
    ]

    def call(username: str, period: dict[str, str], csv: bool) -> Callable[[], None]:
        client = client_for(username)
        query = {**period, **({"format": "csv"} if csv else {})}

        def run() -> None:
            response = client.get("/console/figures", query_string=query)
            if response.status_code != 200:
                raise RuntimeError(f"/console/figures for {username}: {response.status_code}")

        return run

    return [Measurement(name, call(username, period, csv)) for name, username, period, csv in asks]


def signed_in_clients(app: Any) -> Callable[[str], Any]:
    """A test client per username, each signed in once through the console's own form."""
    from tests.support.console import console_login

    clients: dict[str, Any] = {}

    def client_for(username: str) -> Any:
        if username not in clients:
            clients[username] = app.test_client()
            console_login(clients[username], username, DEMO_PASSWORD)
        return clients[username]

    return client_for


def explain(url: str, measurement: Measurement, size: int, limit: int = 2) -> Path:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest statements on cases of one run of `measurement`, to bench/plans/."""
    with STATEMENTS.capture() as captured:
        measurement.run()
    # The statements on the cases table are the ones that can grow; the small lookups only add noise.
    statements = sorted(captured, key=lambda s: ("FROM cases" not in s[1], -s[0]))
    database = Database(url)
    parts = [f"# {measurement.name} at {size:,} cases: the {limit} slowest statements on cases of one run\n"]
    with database.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for seconds, statement, parameters in statements[:limit]:
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = [row[0] for row in cursor.fetchall()]
            raw.rollback()
            parts.append(f"## {seconds * 1000:.1f} ms\n\n{statement.strip()}\n\n{trim(plan)}\n")
    database.dispose()
    PLANS_DIR.mkdir(exist_ok=True)
    path = PLANS_DIR / f"scale-{measurement.name}-{size}.txt"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def trim(plan: list[str], keep: int = 60) -> str:
    """The plan's first `keep` lines and its timing lines: deep plans repeat themselves below that."""
    if len(plan) <= keep:
        return "\n".join(plan)
    tail = [line for line in plan[keep:] if line.startswith(("Planning", "Execution"))]
    return "\n".join([*plan[:keep], f"   … {len(plan) - keep - len(tail)} lines left out", *tail])


@dataclass
class Result:
    """p50/p95 of one measurement at one size."""

    size: int
    name: str
    p50: float
    p95: float
    plan: Path | None = None


def main() -> None:
    """Generate the sizes one after another in one scratch database and measure at each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="case counts, ascending, comma-separated")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per measurement and size")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (its URL is printed)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    at = datetime.now(UTC)
    started = time.perf_counter()
    results: list[Result] = []
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(kept_database() if args.keep else scratch_database("gongzhi_scale"))
        media_dir = stack.enter_context(tempfile.TemporaryDirectory())
        district = load_district(url)
        import wsgi

        app = wsgi.create_app(Settings(database_url=url, media_dir=media_dir, secret_key="bench-scale"))
        stack.callback(lambda: getattr(app.extensions["gongzhi"].dispatcher, "close", lambda: None)())
        database = Database(url)
        stack.callback(database.dispose)
        measurements = queue_measurements(database) + figures_measurements(signed_in_clients(app), at)
        for size in sizes:
            seconds = grow(district, size, sizes[-1], at)
            print(f"{district.cases:,} cases: generated in {seconds:.1f} s", flush=True)
            times = timed(measurements, args.repeat)
            for m in measurements:
                result = Result(size, m.name, percentile(times[m.name], 0.5), percentile(times[m.name], 0.95))
                base = next((r for r in results if r.name == m.name), None)
                if base is not None and result.p95 > NOT_FLAT * base.p95:
                    result.plan = explain(url, m, size)
                results.append(result)
                shown = f"{m.rows[0]:3} rows" if m.rows[0] >= 0 else "        "
                timing = f"p50 {result.p50:8.1f} ms  p95 {result.p95:8.1f} ms"
                print(f"  {m.name:28} {shown} {timing}{ratio_text(result, results)}")
    total = time.perf_counter() - started
    report(results, district, total)


@contextlib.contextmanager
def kept_database() -> Iterator[str]:
    """A scratch database that outlives the run, for looking at plans afterwards."""
    import uuid

    from sqlalchemy import create_engine

    from core.migrations import upgrade_database

    name = f"gongzhi_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(url)
    print(f"keeping {url}", flush=True)
    yield url


def ratio(result: Result, results: list[Result]) -> float:
    """The p95 of `result` over the same measurement's p95 at the smallest size."""
    base = next(r for r in results if r.name == result.name)
    return result.p95 / base.p95 if base.p95 else float("nan")


def ratio_text(result: Result, results: list[Result]) -> str:
    text_ = f"  × {ratio(result, results):.2f}"
    return text_ + (f"  plan: {result.plan.relative_to(PROJECT_ROOT)}" if result.plan else "")


def report(results: list[Result], district: District, total: float) -> None:
    """Print the generation and run times and add one row per (size, measurement) to bench/RESULTS.md."""
    generated = " + ".join(f"{s:.0f} s" for s in district.generated_seconds)
    print(f"generation: {generated}; whole run {total / 60:.1f} min")
    when, where = now(), machine()
    for r in results:
        plan = f"`{r.plan.relative_to(PROJECT_ROOT)}`" if r.plan else ""
        row = (
            f"| {when} | {where} | {r.size:,} | {r.name} | {r.p50:.1f} ms | {r.p95:.1f} ms | "
            f"{ratio(r, results):.2f} | {plan} |"
        )
        record(SECTION, INTRO, row)
    note = f"| {when} | {where} | — | generation {generated}, whole run {total / 60:.1f} min | | | | |"
    record(SECTION, INTRO, note)


if __name__ == "__main__":
    main()

"""The figures per area and period against a generated plan whose answers are worked out here, not read back."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from core.glossary import CaseSource, CaseStatus, Tier
from core.models import Case
from core.services.figures import Figures, figures, figures_by_grid, to_csv_rows
from tests.support.factories import grid_tree

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 1, tzinfo=TZ)
END = datetime(2026, 11, 1, tzinfo=TZ)
PATHS = {"G1": "/D/S/C/G1/", "G2": "/D/S/C/G2/", "X": "/D/S2/X/", None: None}
AFTER_DISPATCH = (
    CaseStatus.DISPATCHED,
    CaseStatus.HANDLED,
    CaseStatus.VERIFIED,
    CaseStatus.CLOSED,
    CaseStatus.EVALUATED,
)
AFTER_HANDLING = AFTER_DISPATCH[1:]


@dataclass
class Planned:
    grid: str | None
    created_at: datetime
    source: CaseSource
    status: CaseStatus
    dispatch_after: int | None = None  # minutes
    handle_after: int | None = None  # minutes after dispatch
    limit: int | None = None  # minutes from dispatch to deadline
    tier: Tier | None = None
    rating: int | None = None

    @property
    def in_period(self) -> bool:
        return START <= self.created_at < END


def make_plan(seed: int = 20261121, n: int = 100) -> list[Planned]:
    rng = random.Random(seed)
    statuses = [
        *[CaseStatus.REJECTED] * 6,
        *[CaseStatus.DUPLICATE] * 5,
        *[CaseStatus.REPORTED] * 5,
        *[CaseStatus.DISPATCHED] * 8,
        *[CaseStatus.HANDLED] * 8,
        *[CaseStatus.CLOSED] * 30,
        *[CaseStatus.EVALUATED] * 38,
    ]
    plan = []
    for i in range(n):
        edges = {9: END, 19: START - timedelta(microseconds=1), 29: END - timedelta(microseconds=1)}
        if i in edges:
            created = edges[i]  # END is out, a microsecond before START is out, one before END is in
        elif i % 10 == 9:  # outside the period
            created = rng.choice([END + timedelta(days=3), START - timedelta(days=9)])
        elif i == 0:
            created = START  # the start belongs to the period
        else:
            created = START + timedelta(minutes=rng.randrange(31 * 24 * 60 - 1))
        item = Planned(
            grid=rng.choice(["G1", "G1", "G2", "X", "X", None] if i % 7 else ["G1"]),
            created_at=created,
            source=CaseSource.STAFF if rng.random() < 0.3 else rng.choice(list(CaseSource)[:4]),
            status=rng.choice(statuses),
        )
        if item.status in AFTER_DISPATCH:
            item.dispatch_after = rng.randrange(1, 600)
            item.tier = rng.choices(list(Tier), weights=[80, 16, 4])[0]
            item.limit = None if rng.random() < 0.1 else rng.randrange(60, 72 * 60)
        if item.status in AFTER_HANDLING:
            if item.limit is None or rng.random() < 0.2:
                item.handle_after = rng.randrange(1, 80 * 60)  # may be late
            else:
                item.handle_after = rng.choice([item.limit, rng.randrange(1, item.limit + 1), item.limit + 1])
        if item.status is CaseStatus.EVALUATED:
            item.rating = rng.choice([None, 1, 2, 3, 4, 5, 5, 4])
        plan.append(item)
    return plan


def store(session, plan: list[Planned]) -> None:
    grids = grid_tree(session)
    for i, p in enumerate(plan):
        dispatched = p.created_at + timedelta(minutes=p.dispatch_after) if p.dispatch_after is not None else None
        session.add(
            Case(
                number=f"T{i:06d}",
                source=p.source,
                status=p.status,
                grid=grids[p.grid] if p.grid else None,
                created_at=p.created_at,
                dispatched_at=dispatched,
                handled_at=dispatched + timedelta(minutes=p.handle_after) if p.handle_after is not None else None,
                deadline_at=dispatched + timedelta(minutes=p.limit) if p.limit is not None else None,
                tier=p.tier,
                rating=p.rating,
                closed_at=p.created_at + timedelta(days=5) if p.status in AFTER_HANDLING[2:] else None,
            )
        )
    session.flush()


def share(numerator: int, denominator: int) -> float | None:
    return float(Fraction(numerator, denominator)) if denominator else None


def expected(plan: list[Planned], grids: set[str | None] | None) -> Figures:
    """The figures worked out from the plan alone; `grids` None is the whole district."""
    cases = [p for p in plan if p.in_period and (grids is None or p.grid in grids)]
    handled_with_deadline = [p for p in cases if p.handle_after is not None and p.limit is not None]
    finished = [p for p in cases if p.status in (CaseStatus.CLOSED, CaseStatus.EVALUATED)]
    counted = [p for p in cases if p.status not in (CaseStatus.REJECTED, CaseStatus.DUPLICATE)]
    rated = [p.rating for p in cases if p.rating is not None]
    to_dispatch = [p.dispatch_after for p in cases if p.dispatch_after is not None]
    to_handle = [p.handle_after for p in cases if p.handle_after is not None]
    return Figures(
        cases_in=len(cases),
        by_source={s: sum(p.source is s for p in cases) for s in CaseSource},
        on_time_rate=share(sum(p.handle_after <= p.limit for p in handled_with_deadline), len(handled_with_deadline)),
        resolution_rate=share(len(finished), len(counted)),
        satisfaction_rate=share(sum(r >= 4 for r in rated), len(rated)),
        self_discovery_rate=share(sum(p.source is CaseSource.STAFF for p in cases), len(cases)),
        median_minutes_to_dispatch=float(statistics.median(to_dispatch)) if to_dispatch else None,
        median_minutes_to_handle=float(statistics.median(to_handle)) if to_handle else None,
        tier_shares={t: share(sum(p.tier is t for p in finished), len(finished)) for t in Tier},
    )


def assert_same(got: Figures, want: Figures) -> None:
    assert got.cases_in == want.cases_in
    assert got.by_source == want.by_source
    for name in ("on_time_rate", "resolution_rate", "satisfaction_rate", "self_discovery_rate"):
        assert getattr(got, name) == getattr(want, name), name  # exact: the same fraction, the same float
    assert got.tier_shares == want.tier_shares
    for name in ("median_minutes_to_dispatch", "median_minutes_to_handle"):
        want_value = getattr(want, name)
        assert getattr(got, name) == (None if want_value is None else pytest.approx(want_value, abs=1e-6)), name


@pytest.fixture
def plan(session) -> list[Planned]:
    made = make_plan()
    store(session, made)
    return made


def test_the_plan_covers_what_it_should(plan):
    inside = [p for p in plan if p.in_period]
    assert 80 <= len(inside) < len(plan)
    assert {p.status for p in inside} >= {CaseStatus.REJECTED, CaseStatus.DUPLICATE, CaseStatus.EVALUATED}
    handled = [p for p in inside if p.handle_after is not None and p.limit is not None]
    assert any(p.handle_after == p.limit for p in handled) and any(p.handle_after > p.limit for p in handled)
    assert any(p.rating is not None and p.rating < 4 for p in inside)
    assert {p.tier for p in inside if p.tier} == set(Tier)
    assert any(p.created_at == START for p in plan) and any(p.created_at == END for p in plan)


@pytest.mark.parametrize(
    ("area", "grids"),
    [(None, None), ("/D/", {"G1", "G2", "X"}), ("/D/S/", {"G1", "G2"}), ("/D/S2/", {"X"}), ("/D/S/C/G1/", {"G1"})],
)
def test_figures_of_an_area_match_the_plan(session, plan, area, grids):
    got = figures(session, area_path=area, start=START, end=END, tz=TZ)
    assert_same(got, expected(plan, grids))


def test_figures_by_grid_match_the_plan(session, plan):
    streets = figures_by_grid(session, area_path=None, start=START, end=END, tz=TZ)
    assert [(code, name) for code, name, _ in streets] == [("S", "网格S"), ("S2", "网格S2")]
    assert_same(streets[0][2], expected(plan, {"G1", "G2"}))
    assert_same(streets[1][2], expected(plan, {"X"}))
    grids = figures_by_grid(session, area_path="/D/S/C/", start=START, end=END, tz=TZ)
    assert [code for code, _, _ in grids] == ["G1", "G2"]
    for code, _, got in grids:
        assert_same(got, expected(plan, {code}))
    assert figures_by_grid(session, area_path="/D/S/C/G1/", start=START, end=END, tz=TZ) == []


def test_naive_bounds_are_read_in_the_district_time_zone(session, plan):
    naive = figures(session, area_path=None, start=START.replace(tzinfo=None), end=END.replace(tzinfo=None), tz=TZ)
    assert_same(naive, expected(plan, None))


def test_nothing_to_divide_gives_none(session):
    grids = grid_tree(session)
    session.add(Case(number="R1", source=CaseSource.WECHAT, status=CaseStatus.REJECTED, grid=grids["G1"]))
    session.add(Case(number="R2", source=CaseSource.WECHAT, status=CaseStatus.DUPLICATE, grid=grids["G1"]))
    session.flush()
    now = datetime.now(TZ)
    got = figures(session, area_path="/D/S/", start=now - timedelta(days=1), end=now + timedelta(days=1), tz=TZ)
    assert got.cases_in == 2 and got.self_discovery_rate == 0.0
    assert got.resolution_rate is None and got.on_time_rate is None and got.satisfaction_rate is None
    assert got.median_minutes_to_dispatch is None and got.median_minutes_to_handle is None
    assert got.tier_shares == dict.fromkeys(Tier)
    empty = figures(session, area_path="/D/S2/", start=START, end=END, tz=TZ)
    assert empty.cases_in == 0 and empty.by_source == dict.fromkeys(CaseSource, 0)
    assert empty.self_discovery_rate is None and empty.resolution_rate is None
    streets = figures_by_grid(session, area_path=None, start=now - timedelta(days=1), end=now, tz=TZ)
    assert [f.cases_in for _, _, f in streets] == [2, 0] and streets[1][2].satisfaction_rate is None


@pytest.mark.parametrize(("dispatch", "median"), [([10, 30, 20], 20.0), ([10, 30, 20, 50], 25.0), ([7], 7.0)])
def test_medians_for_odd_and_even_counts(session, dispatch, median):
    grids = grid_tree(session)
    for i, minutes in enumerate(dispatch):
        created = START + timedelta(hours=i)
        dispatched = created + timedelta(minutes=minutes)
        session.add(
            Case(
                number=f"M{i}",
                source=CaseSource.STAFF,
                status=CaseStatus.HANDLED,
                grid=grids["X"],
                created_at=created,
                dispatched_at=dispatched,
                handled_at=dispatched + timedelta(minutes=minutes * 2, seconds=30),
            )
        )
    session.flush()
    for got in (
        figures(session, area_path=None, start=START, end=END, tz=TZ),
        figures_by_grid(session, area_path=None, start=START, end=END, tz=TZ)[1][2],
    ):
        assert got.median_minutes_to_dispatch == pytest.approx(median, abs=1e-6)
        assert got.median_minutes_to_handle == pytest.approx(median * 2 + 0.5, abs=1e-6)


def test_csv_rows_have_a_chinese_header_and_one_row_per_area():
    f = Figures(
        cases_in=3,
        by_source={s: (3 if s is CaseSource.STAFF else 0) for s in CaseSource},
        on_time_rate=2 / 3,
        resolution_rate=None,
        satisfaction_rate=1.0,
        self_discovery_rate=1.0,
        median_minutes_to_dispatch=12.25,
        median_minutes_to_handle=None,
        tier_shares={Tier.COMMUNITY: 0.8, Tier.STREET: 0.2, Tier.DISTRICT: 0.0},
    )
    header, row = to_csv_rows([("S", "街道S", f)])
    assert header[:3] == ["区域编码", "区域名称", "案件数"] and "按期处置率" in header and "微循环占比" in header
    assert len(row) == len(header)
    values = dict(zip(header, row, strict=True))
    assert values["按期处置率"] == "66.7%" and values["问题解决率"] == ""
    assert values["来源：网格员主动发现"] == "3" and values["派遣用时中位数（分钟）"] == "12.2"
    assert values["处置用时中位数（分钟）"] == "" and values["大循环占比"] == "0.0%"

"""A lived-in month for the demo district: cases from every source in every status, photos, check-ins, notices.

Everything made here is marked as demo data: each case's intake key starts with `demo:`, its description
with 【演示】, and each resident's openid with `demo-`. Loading again adds nothing (the marker case
`demo:month:0001` says it is there). Rows are inserted directly with their real timelines — one
CaseEvent per move, at the moment it happened — rather than through the loop's services, which stamp
every move "now" and queue notifications for the worker to send.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.db import dialect_insert
from core.glossary import CaseSource, CaseStatus, CoordSystem, GridLevel, PhotoStatus, Tier
from core.models import (
    Case,
    CaseEvent,
    CaseNumberCounter,
    Category,
    Checkpoint,
    Grid,
    Photo,
    Resident,
    StaffUser,
    case_followers,
)
from core.models.base import utcnow
from core.numbering import format_number
from core.services.demo_activity import add_check_ins, add_notifications
from core.settings import Settings

S = CaseStatus
MARKER = "demo:month:"
DEMO_PREFIX = "【演示】"
DAYS = 30
CASES = 320
RESIDENTS = 60
SCENES = 12  # distinct demo photos, drawn once each and shared by many cases

# How often each source appears, as in a district where the official account is the main channel.
SOURCE_WEIGHTS = {
    CaseSource.WECHAT: 40,
    CaseSource.MINIPROGRAM: 20,
    CaseSource.SCAN: 20,
    CaseSource.STAFF: 14,
    CaseSource.OPEN311: 6,
}
# Where a case's story stops, before the clock does (a recent case stops earlier by itself).
END_WEIGHTS = {
    S.REPORTED: 4,
    S.ACCEPTED: 4,
    S.DISPATCHED: 14,
    S.HANDLED: 6,
    S.VERIFIED: 4,
    S.CLOSED: 24,
    S.EVALUATED: 36,
    S.REJECTED: 5,
    S.DUPLICATE: 3,
}
PATH = (S.ACCEPTED, S.DISPATCHED, S.HANDLED, S.VERIFIED, S.CLOSED, S.EVALUATED)
PLACES = ("小区东门", "3栋楼下", "菜市场入口", "公交站台", "幼儿园门口", "沿街商铺前", "口袋公园", "地下车库入口")
REMARKS = ("已经好几天了，请尽快处理。", "影响居民出行。", "晚上尤其明显。", "老人小孩经过不安全。", "希望有人来看看。")
COMMENTS = {5: "处理很及时，谢谢！", 4: "解决了，就是慢了点。", 3: "还行。", 2: "拖得太久。", 1: "没有真正解决。"}


@dataclass(frozen=True)
class StoredImage:
    """A processed demo photo under MEDIA_DIR: the picture, its thumbnail, its size and digest."""

    path: str
    thumb_path: str
    width: int
    height: int
    sha256: str


# Given a scene number (0 … SCENES-1), draws and stores that demo photo once and returns where it is.
PhotoMaker = Callable[[int], StoredImage]


@dataclass
class MonthSummary:
    """What the demo month holds (or already held)."""

    added: bool = False
    cases: int = 0
    photos: int = 0
    check_ins: int = 0
    notifications: int = 0
    by_status: Counter[str] = field(default_factory=Counter)

    def describe(self) -> str:
        """One line for the terminal."""
        if not self.added:
            return "演示案件已存在，未重复生成"
        statuses = "、".join(f"{S(status).label} {n}" for status, n in sorted(self.by_status.items()))
        return (
            f"演示案件 {self.cases} 件（{statuses}），照片 {self.photos} 张，"
            f"签到 {self.check_ins} 次，通知 {self.notifications} 条"
        )


def load_demo_month(
    session: Session, settings: Settings, photos: PhotoMaker, *, now: datetime | None = None, seed: int = 2026
) -> MonthSummary:
    """Add a month of demo cases, photos, check-ins and notifications ending at `now`, unless already there.

    Needs the demo district (core.services.demo.load_demo) and its catalogue; flushes, the caller commits.
    """
    if session.scalar(select(Case.id).where(Case.intake_key == f"{MARKER}0001")) is not None:
        return MonthSummary()
    return _Month(session, settings, photos, now or utcnow(), random.Random(seed)).load()


class _Month:
    def __init__(self, session: Session, settings: Settings, photos: PhotoMaker, now: datetime, rng: random.Random):
        self.session, self.settings, self.photos, self.now, self.rng = session, settings, photos, now, rng
        self.summary = MonthSummary(added=True)
        grids = session.scalars(select(Grid).where(Grid.level == GridLevel.GRID).order_by(Grid.code)).all()
        if not grids:
            raise ValueError("the demo month needs the demo district: load_demo first")
        self.grids = list(grids)
        self.staff = {s.username: s for s in session.scalars(select(StaffUser))}
        self.categories = list(
            session.scalars(select(Category).where(Category.parent_id.is_not(None)).order_by(Category.code))
        )
        self.checkpoints: dict[int, list[Checkpoint]] = {}
        for checkpoint in session.scalars(select(Checkpoint).order_by(Checkpoint.label)):
            self.checkpoints.setdefault(checkpoint.grid_id, []).append(checkpoint)
        self.residents: list[Resident] = []
        self.photo_rows: list[dict[str, Any]] = []
        self.notices: list[tuple[Case, CaseEvent]] = []

    def load(self) -> MonthSummary:
        self._residents()
        starts = sorted(self.now - timedelta(minutes=self.rng.randint(30, DAYS * 24 * 60)) for _ in range(CASES))
        numbers = self._numbers(starts)
        with self.session.no_autoflush:
            cases = [
                self._case(i, created, number)
                for i, (created, number) in enumerate(zip(starts, numbers, strict=True), start=1)
            ]
        self.session.flush()
        self.session.execute(
            insert(case_followers),
            [{"case_id": c.id, "resident_id": c.reporter_id} for c in cases if c.reporter_id is not None],
        )
        self._photos(cases)
        self.summary.notifications = add_notifications(self.session, self.notices, self.rng)
        grids = [(grid, self._worker(grid), self.checkpoints.get(grid.id, [])) for grid in self.grids]
        self.summary.check_ins = add_check_ins(self.session, grids, self.now, self.settings.tz, self.rng, DAYS)
        self.session.flush()
        self.summary.cases = len(cases)
        self.summary.by_status = Counter(c.status.value for c in cases)
        return self.summary

    def _residents(self) -> None:
        for n in range(1, RESIDENTS + 1):
            mini = n % 3 == 0  # every third one came through the mini-program
            resident = Resident(
                openid=None if mini else f"demo-oa-{n:03d}",
                mini_openid=f"demo-mini-{n:03d}" if mini else None,
                nickname=f"演示居民{n:02d}",
                is_follower=not mini,
                followed_at=self.now - timedelta(days=DAYS + n),
                created_at=self.now - timedelta(days=DAYS + n),
            )
            self.session.add(resident)
            self.residents.append(resident)
        self.session.flush()

    def _numbers(self, starts: list[datetime]) -> list[str]:
        """Case numbers for cases created at `starts` (in order), taking each day's block from its counter at once."""
        tz = self.settings.tz
        per_day = Counter(start.astimezone(tz).date() for start in starts)
        next_of: dict[date, int] = {}
        for day, count in per_day.items():
            statement = (
                dialect_insert(self.session)(CaseNumberCounter)
                .values(day=day, last=count)
                .on_conflict_do_update(
                    index_elements=[CaseNumberCounter.day], set_={"last": CaseNumberCounter.last + count}
                )
                .returning(CaseNumberCounter.last)
            )
            next_of[day] = self.session.execute(statement).scalar_one() - count + 1
        numbers = []
        for start in starts:
            day = start.astimezone(tz).date()
            numbers.append(format_number(day, next_of[day]))
            next_of[day] += 1
        return numbers

    def _case(self, index: int, created: datetime, number: str) -> Case:
        rng = self.rng
        source = rng.choices(list(SOURCE_WEIGHTS), weights=list(SOURCE_WEIGHTS.values()))[0]
        grid = rng.choice(self.grids)
        category = rng.choice(self.categories)
        checkpoint = rng.choice(self.checkpoints[grid.id]) if source == CaseSource.SCAN else None
        lng, lat = (checkpoint.lng, checkpoint.lat) if checkpoint else _point_in(grid, rng)
        place = checkpoint.name if checkpoint else f"{grid.name}·{rng.choice(PLACES)}"
        mini = [r for r in self.residents if r.mini_openid]
        official = [r for r in self.residents if r.openid]
        reporter = None
        if source == CaseSource.MINIPROGRAM:
            reporter = rng.choice(mini)
        elif source in (CaseSource.WECHAT, CaseSource.SCAN):
            reporter = rng.choice(official)
        finder = self._worker(grid) if source == CaseSource.STAFF else None
        case = Case(
            number=number,
            source=source,
            intake_key=f"{MARKER}{index:04d}",
            description=f"{DEMO_PREFIX}{place}{category.name}，{rng.choice(REMARKS)}",
            category=category,
            lat=lat,
            lng=lng,
            coord_system=CoordSystem.GCJ02,
            location_label=place,
            grid=grid,
            checkpoint=checkpoint,
            reporter_id=reporter.id if reporter else None,
            reporter_staff_id=finder.id if finder else None,
            tracking_token=secrets.token_urlsafe(16),
            created_at=created,
            updated_at=created,
        )
        self.session.add(case)
        event = self._event(case, "report", None, S.REPORTED, created, resident=reporter, staff=finder)
        if reporter is not None:
            self.notices.append((case, event))
        self._story(case, created, reporter)
        return case

    def _story(self, case: Case, at: datetime, reporter: Resident | None) -> None:
        """Walk the case along the loop towards its drawn end, stopping where the clock does."""
        rng = self.rng
        end = rng.choices(list(END_WEIGHTS), weights=list(END_WEIGHTS.values()))[0]
        grid = case.grid
        assert grid is not None and case.category is not None
        station = self._above(grid, "demo-station")
        at += timedelta(minutes=rng.randint(3, 90))
        if end in (S.REJECTED, S.DUPLICATE):
            if at < self.now:
                note = "不属于受理范围" if end == S.REJECTED else "与已有案件重复"
                self._move(case, "reject" if end == S.REJECTED else "duplicate", end, at, station, reporter, note)
            return
        if end == S.REPORTED:
            return
        limit = timedelta(hours=case.category.time_limit_hours or 72)
        late = rng.random() < 0.15
        steps: list[tuple[CaseStatus, str, timedelta]] = [
            (S.ACCEPTED, "accept", timedelta()),
            (S.DISPATCHED, "dispatch", timedelta(minutes=rng.randint(5, 120))),
            (S.HANDLED, "handle", limit * (rng.uniform(1.05, 1.6) if late else rng.uniform(0.1, 0.85))),
            (S.VERIFIED, "verify", timedelta(minutes=rng.randint(20, 240))),
            (S.CLOSED, "close", timedelta(minutes=rng.randint(10, 180))),
            (S.EVALUATED, "evaluate", timedelta(hours=rng.uniform(1, 48))),
        ]
        for status, action, wait in steps[: PATH.index(end) + 1]:
            at += wait
            if at >= self.now:
                break
            if status == S.DISPATCHED:
                self._dispatch(case, at, station)
            elif status == S.HANDLED:
                self._move(case, action, status, at, case.assignee, reporter, "已到现场处置完毕")
                if rng.random() < 0.6:
                    self.photo_rows.append({"case": case, "event": case.events[-1], "at": at})
            elif status == S.EVALUATED:
                rating = rng.choices((5, 4, 3, 2, 1), weights=(50, 25, 12, 8, 5))[0]
                case.rating, case.rating_comment = rating, COMMENTS[rating]
                self._move(case, action, status, at, None, reporter, COMMENTS[rating], data={"rating": rating})
            else:
                actor = self._above(grid, "demo-leader") if status == S.VERIFIED else station
                self._move(case, action, status, at, actor, reporter, "")
        if case.status == S.DISPATCHED and case.deadline_at is not None:
            limit_left = case.deadline_at - self.now
            if limit_left <= timedelta():
                case.overdue_at = case.deadline_at
            if case.dispatched_at and self.now >= case.dispatched_at + (case.deadline_at - case.dispatched_at) * 0.8:
                case.warned_at = case.dispatched_at + (case.deadline_at - case.dispatched_at) * 0.8

    def _dispatch(self, case: Case, at: datetime, station: StaffUser) -> None:
        assert case.category is not None and case.grid is not None
        tier = case.category.default_tier or Tier.COMMUNITY
        if tier == Tier.DISTRICT:
            assignee = self.staff[self.rng.choice(("demo-dept-cg", "demo-dept-sj", "demo-dept-pcs", "demo-dept-jj"))]
        elif tier == Tier.STREET:
            assignee = self._above(case.grid, "demo-street")
        else:
            assignee = self._worker(case.grid)
        case.tier, case.assignee = tier, assignee
        case.deadline_at = at + timedelta(hours=case.category.time_limit_hours or 72)
        data: dict[str, Any] = {"assignee": assignee.username, "tier": tier.value, "assisting": []}
        self._move(case, "dispatch", S.DISPATCHED, at, station, None, "", data=data)

    def _move(
        self,
        case: Case,
        action: str,
        status: CaseStatus,
        at: datetime,
        staff: StaffUser | None,
        reporter: Resident | None,
        note: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        previous = case.status
        resident = reporter if action == "evaluate" else None
        event = self._event(case, action, previous, status, at, staff=staff, resident=resident, note=note, data=data)
        stamp = {
            S.ACCEPTED: "accepted_at",
            S.DISPATCHED: "dispatched_at",
            S.HANDLED: "handled_at",
            S.CLOSED: "closed_at",
        }
        if status in stamp:
            setattr(case, stamp[status], at)
        if status == S.HANDLED and staff is not None:
            case.handler = staff
        case.updated_at = at
        if reporter is not None and action != "evaluate":
            self.notices.append((case, event))

    def _event(
        self,
        case: Case,
        action: str,
        from_status: CaseStatus | None,
        to_status: CaseStatus,
        at: datetime,
        *,
        staff: StaffUser | None = None,
        resident: Resident | None = None,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> CaseEvent:
        case.status = to_status
        event = CaseEvent(
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor_staff=staff,
            actor_resident_id=resident.id if resident else None,
            note=note,
            data=data or {},
            created_at=at,
        )
        case.events.append(event)
        return event

    def _photos(self, cases: list[Case]) -> None:
        """Before-photos on about half the cases, after-photos on the handlings chosen in _story."""
        rows: list[dict[str, Any]] = []
        for case in cases:
            if self.rng.random() < 0.55:
                for _ in range(self.rng.choice((1, 1, 2, 3))):
                    rows.append(self._photo(case.id, None, case.created_at))
        for after in self.photo_rows:
            rows.append(self._photo(after["case"].id, after["event"].id, after["at"]))
        if rows:
            self.session.execute(insert(Photo), rows)
        self.summary.photos = len(rows)

    def _photo(self, case_id: int, event_id: int | None, at: datetime) -> dict[str, Any]:
        image = self.photos(self.rng.randrange(SCENES))
        return {
            "case_id": case_id,
            "event_id": event_id,
            "status": PhotoStatus.READY,
            "path": image.path,
            "thumb_path": image.thumb_path,
            "width": image.width,
            "height": image.height,
            "sha256": image.sha256,
            "processed_at": at + timedelta(seconds=5),
            "created_at": at,
        }

    def _worker(self, grid: Grid) -> StaffUser:
        """The demo grid worker of base grid `grid` (codes: district 6, street 3, community 3, grid 3 digits)."""
        s, c, g = int(grid.code[6:9]), int(grid.code[9:12]), int(grid.code[12:15])
        return self.staff[f"demo-worker-{s}-{c}-{g}"]

    def _above(self, grid: Grid, prefix: str) -> StaffUser:
        """The demo account `prefix` of the street (demo-street) or community (others) of base grid `grid`."""
        s, c = int(grid.code[6:9]), int(grid.code[9:12])
        return self.staff[f"{prefix}-{s}" if prefix == "demo-street" else f"{prefix}-{s}-{c}"]


def _point_in(grid: Grid, rng: random.Random) -> tuple[float, float]:
    """A point inside the base grid's (rectangular) demo boundary, away from its edges."""
    assert grid.boundary is not None
    ring = grid.boundary["coordinates"][0]
    lngs, lats = [p[0] for p in ring], [p[1] for p in ring]
    return (
        round(rng.uniform(min(lngs), max(lngs)) * 0.8 + (min(lngs) + max(lngs)) / 2 * 0.2, 6),
        round(rng.uniform(min(lats), max(lats)) * 0.8 + (min(lats) + max(lats)) / 2 * 0.2, 6),
    )

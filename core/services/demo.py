"""A demo district near Hefei (grids, checkpoints, staff, catalogue), loaded idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.glossary import CoordSystem, GridLevel, Role
from core.models import Checkpoint, Grid, StaffUser
from core.services.catalogue import load_catalogue
from core.services.checkpoint_admin import serial_label
from core.services.demo_grants import load_grant_demo
from core.services.staff import create_staff
from core.settings import Settings

# Printed by `flask demo` for people to sign in with; public, so the demo is for trial databases only.
DEMO_PASSWORD = "demo-pass-2026"
DISTRICT_CODE = "340111"
DISTRICT_NAME = "共治示范区"
# Each street takes a west/east half of the district; its two communities its south/north halves.
STREETS = (("方兴街道", ("方兴社区", "乐园社区")), ("滨湖街道", ("滨湖社区", "云谷社区")))
GRID_ORDINALS = ("第一网格", "第二网格", "第三网格")
# (west, south, east, north) in GCJ-02 degrees: ~0.04° × 0.03° around 31.80°N, 117.30°E (Baohe).
DISTRICT_BOX = (117.28, 31.785, 117.32, 31.815)
# Spots cycle over the grids, three per grid, each at a fixed fraction of its grid's box.
SPOTS = (
    "小区东门", "3栋楼下", "垃圾分类亭", "菜市场入口", "消防通道", "社区广场",
    "公交站台", "非机动车棚", "幼儿园门口", "口袋公园", "沿街商铺", "地下车库入口",
)  # fmt: skip
SPOT_POSITIONS = ((0.25, 0.3), (0.5, 0.7), (0.75, 0.45))
DEPARTMENTS = (("CG", "区城管局"), ("SJ", "区市场监管局"), ("PCS", "方兴派出所"), ("JJ", "交警包河大队"))
# Staff without a grid act on the whole district.
WHOLE_DISTRICT = "全区"

Box = tuple[float, float, float, float]


class DemoAccount(NamedTuple):
    """One demo sign-in, as printed for people to try."""

    username: str
    password: str
    role: str  # the Chinese label of the role
    grid: str  # the name of the grid the account is scoped to, or 全区


@dataclass
class DemoSummary:
    """What the demo consists of, what this run added, and the accounts to sign in with."""

    grids: int = 0  # areas of every level, district included
    checkpoints: int = 0
    staff: int = 0
    grids_added: int = 0
    checkpoints_added: int = 0
    staff_added: int = 0
    categories_added: int = 0
    categories_updated: int = 0
    accounts: list[DemoAccount] = field(default_factory=list)

    def describe(self) -> str:
        """A few lines for the terminal: what the demo holds, what this run added, and the accounts."""
        totals = (
            f"区域 {self.grids} 个（新增 {self.grids_added}），巡查点 {self.checkpoints} 个"
            f"（新增 {self.checkpoints_added}），账号 {self.staff} 个（新增 {self.staff_added}）；"
            f"服务清单新增 {self.categories_added} 项、更新 {self.categories_updated} 项"
        )
        rows = ["\t".join(account) for account in self.accounts]
        return "\n".join([totals, "用户名\t密码\t角色\t所属网格", *rows])


def load_demo(session: Session, settings: Settings) -> DemoSummary:
    """Add whatever of the demo district is missing; flushes only, the caller commits."""
    add = _Loader(session)
    district = add.grid(DISTRICT_CODE, DISTRICT_NAME, GridLevel.DISTRICT, None, DISTRICT_BOX)
    add.staff("demo-district", "区网格中心值班员", Role.DISTRICT_CENTER, None)
    serial = 0
    for s, ((street_name, communities), street_box) in enumerate(
        zip(STREETS, _split(DISTRICT_BOX, len(STREETS), axis=0), strict=True), start=1
    ):
        street = add.grid(f"{district.code}{s:03d}", street_name, GridLevel.STREET, district, street_box)
        add.staff(f"demo-street-{s}", f"{street_name}分中心", Role.STREET_CENTER, street)
        for c, (name, box) in enumerate(zip(communities, _split(street_box, 2, axis=1), strict=True), start=1):
            community = add.grid(f"{street.code}{c:03d}", name, GridLevel.COMMUNITY, street, box)
            add.staff(f"demo-station-{s}-{c}", f"{name}工作站", Role.COMMUNITY_STATION, community)
            add.staff(f"demo-leader-{s}-{c}", f"{name}网格长", Role.GRID_LEADER, community)
            for g, (ordinal, grid_box) in enumerate(zip(GRID_ORDINALS, _split(box, 3, axis=0), strict=True), start=1):
                grid = add.grid(f"{community.code}{g:03d}", name + ordinal, GridLevel.GRID, community, grid_box)
                add.staff(f"demo-worker-{s}-{c}-{g}", f"{grid.name}网格员", Role.GRID_WORKER, grid)
                for fx, fy in SPOT_POSITIONS:
                    serial += 1
                    spot = SPOTS[(serial - 1) % len(SPOTS)]
                    add.checkpoint(serial, f"{grid.name}·{spot}", grid, grid_box, fx, fy)
    for unit_code, unit_name in DEPARTMENTS:
        add.staff(f"demo-dept-{unit_code.lower()}", unit_name, Role.DEPARTMENT, None, unit_code)
    add.staff("demo-committee", "评审委员（示范）", Role.COMMITTEE, None)
    add.summary.categories_added, add.summary.categories_updated = load_catalogue(session, settings.catalogue_file)
    session.flush()
    load_grant_demo(session, DEMO_PASSWORD)
    return add.summary


def _split(box: Box, parts: int, axis: int) -> list[Box]:
    """`box` cut into equal strips along lng (axis 0) or lat (axis 1).

    Each cut is computed once and shared by both neighbours, so the strips tile `box` exactly.
    """
    lo, hi = box[axis], box[axis + 2]
    cuts = [lo, *(round(lo + (hi - lo) * i / parts, 6) for i in range(1, parts)), hi]
    if axis == 0:
        return [(a, box[1], b, box[3]) for a, b in pairwise(cuts)]
    return [(box[0], a, box[2], b) for a, b in pairwise(cuts)]


def _polygon(box: Box) -> dict[str, Any]:
    """A GeoJSON Polygon of `box`: lng first, ring closed and counter-clockwise."""
    w, s, e, n = box
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


class _Loader:
    """Looks each demo row up by its code or username and creates only the missing ones."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.summary = DemoSummary()

    def grid(self, code: str, name: str, level: GridLevel, parent: Grid | None, box: Box) -> Grid:
        """The grid with `code`, created with its boundary if missing; an existing one is left as it is."""
        self.summary.grids += 1
        grid = self.session.scalar(select(Grid).where(Grid.code == code))
        if grid is None:
            grid = Grid(
                code=code,
                name=name,
                level=level,
                parent=parent,
                path=f"{parent.path if parent else '/'}{code}/",
                boundary=_polygon(box),
                coord_system=CoordSystem.GCJ02,
            )
            self.session.add(grid)
            self.session.flush()
            self.summary.grids_added += 1
        return grid

    def checkpoint(self, serial: int, name: str, grid: Grid, box: Box, fx: float, fy: float) -> None:
        """The checkpoint numbered `serial`, created at fraction (fx, fy) of its grid's box if missing."""
        self.summary.checkpoints += 1
        label = serial_label(serial)
        if self.session.scalar(select(Checkpoint.id).where(Checkpoint.label == label)) is not None:
            return
        w, s, e, n = box
        self.session.add(
            Checkpoint(
                label=label,
                name=name,
                grid=grid,
                lng=round(w + (e - w) * fx, 6),
                lat=round(s + (n - s) * fy, 6),
                coord_system=CoordSystem.GCJ02,
            )
        )
        self.summary.checkpoints_added += 1

    def staff(
        self, username: str, display_name: str, role: Role, grid: Grid | None, unit_code: str | None = None
    ) -> None:
        """The demo account `username`, created if missing, and listed in the summary."""
        clause = StaffUser.username == username
        if unit_code:
            clause = or_(clause, StaffUser.unit_code == unit_code)
        existing = self.session.scalar(select(StaffUser).where(clause))
        if existing is not None and existing.username != username:
            return  # a real unit already holds this unit_code; do not offer a login that does not exist
        if existing is None:
            create_staff(
                self.session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                grid_code=grid.code if grid else None,
                display_name=display_name,
                unit_code=unit_code,
            )
            self.summary.staff_added += 1
        self.summary.staff += 1
        scope = grid.name if grid else WHOLE_DISTRICT
        self.summary.accounts.append(DemoAccount(username, DEMO_PASSWORD, role.label, scope))

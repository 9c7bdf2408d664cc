"""Patrols: staff check-ins at checkpoints (约束点签到), who may see them, coverage, and the WeChat binding.

A check-in proves that a staff member passed a checkpoint. Who may check in where, and who may
see which check-ins, follows the grid hierarchy: the district center everywhere; every other role
with a grid (street center, community station, grid leader, grid worker, a department unit placed
on a grid) within that grid's subtree; an account without a grid, and the grant committee, nowhere.

A staff member binds their WeChat openid to their account with a one-time code: the staff API
issues it, the staff member sends 「绑定 <code>」 to the official account. Afterwards their scans of
a sign in the official account are check-ins. Codes live in Redis, passed in as a plain client.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, contains_eager

from core.errors import Forbidden, InvalidInput, NotFound
from core.geo import Point
from core.glossary import CoordSystem, GridLevel, Role
from core.models import CheckIn, Checkpoint, Grid, StaffUser
from core.models.base import utcnow
from core.services.assignees import record_position

SOURCES = ("page", "wechat", "api")
# A second scan of the same checkpoint by the same person within this window is the same check-in.
DOUBLE_SCAN_WINDOW = timedelta(minutes=5)
MAX_CHECK_INS = 500
# Who sees the check-ins of everyone in their area; anyone else sees only their own.
OVERSEERS = frozenset({Role.DISTRICT_CENTER, Role.STREET_CENTER, Role.COMMUNITY_STATION, Role.GRID_LEADER})

BINDING_TTL_SECONDS = 10 * 60
# Wrong codes one openid may send within BINDING_TTL_SECONDS before binding is refused for a while.
MAX_BINDING_ATTEMPTS = 5
# Wrong codes all senders together may send within BINDING_TTL_SECONDS: many openids spraying guesses
# over the code space (each guess a different code, so no per-openid count sees them) are stopped too.
MAX_BINDING_GUESSES = 30
_CODE = re.compile(r"\d{6}")
_KEY_CODE = "gongzhi:bind:code:{code}"  # -> staff id
_KEY_STAFF = "gongzhi:bind:staff:{staff_id}"  # -> the staff member's current code
_KEY_FAILURES = "gongzhi:bind:failures:{openid}"  # -> wrong codes sent
_KEY_GUESSES = "gongzhi:bind:guesses"  # -> wrong codes sent by anyone within the window


@dataclass(frozen=True)
class CheckInEntry:
    """One check-in with the person who made it (CheckIn has no `staff` relationship of its own)."""

    check_in: CheckIn
    staff: StaffUser


@dataclass(frozen=True)
class GridCoverage:
    """How much of one base grid was patrolled on a day: checkpoints visited out of all of them."""

    grid_code: str
    name: str
    visited: int
    total: int

    @property
    def ratio(self) -> float | None:
        """visited / total; None for a grid without checkpoints (nothing to cover)."""
        return self.visited / self.total if self.total else None


# --- who acts where -------------------------------------------------------------------------------


def area_path(staff: StaffUser) -> str | None:
    """The path prefix of the part of the grid `staff` acts in: "/" for all of it, None for none."""
    if staff.role == Role.DISTRICT_CENTER:
        return "/"
    if staff.role in (Role.COMMITTEE, Role.AUDITOR) or staff.grid is None:
        return None  # the auditor patrols nothing, even if given a grid by mistake
    return staff.grid.path


def may_check_in(staff: StaffUser, checkpoint: Checkpoint) -> bool:
    """Whether `staff` may check in at `checkpoint`: an active account whose area contains it."""
    area = area_path(staff)
    return staff.is_active and area is not None and checkpoint.grid.path.startswith(area)


def _scope(session: Session, viewer: StaffUser, grid_code: str | None) -> str | None:
    """The path prefix of what `viewer` asked to see and may see; None when that is nothing."""
    area = area_path(viewer)
    if area is None:
        raise Forbidden("您的账号没有所辖网格，不能查看巡查记录")
    if not grid_code:
        return area
    grid = session.scalar(select(Grid).where(Grid.code == grid_code))
    if grid is None:
        raise NotFound(f"网格 {grid_code} 不存在")
    if grid.path.startswith(area):
        return grid.path
    if area.startswith(grid.path):
        return area
    return None  # a grid outside the viewer's area: they see nothing of it


def _local_day(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local calendar day starts and ends (each midnight resolved on its own)."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


# --- check-ins ------------------------------------------------------------------------------------


def parse_position(
    lat: float | None, lng: float | None, coord_system: CoordSystem | str | None
) -> tuple[float, float, CoordSystem] | None:
    if lat is None and lng is None:
        if coord_system is not None:
            raise InvalidInput("给了坐标系却没有给坐标（lat、lng）")
        return None
    if lat is None or lng is None:
        raise InvalidInput("坐标需要同时给出 lat 和 lng")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lng)):
        raise InvalidInput("lat、lng 必须是数字")
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise InvalidInput("坐标超出范围：lat 应在 -90 到 90 之间，lng 应在 -180 到 180 之间")
    if coord_system is None:
        raise InvalidInput("请注明坐标系 coord_system：gcj02（微信、国内地图）或 wgs84（GPS）")
    try:
        system = CoordSystem(coord_system)
    except ValueError:
        raise InvalidInput(f"未知坐标系：{coord_system}（可选：gcj02、wgs84）") from None
    return float(lat), float(lng), system


def record_check_in(
    session: Session,
    staff: StaffUser,
    checkpoint: Checkpoint,
    *,
    source: str,
    lat: float | None = None,
    lng: float | None = None,
    coord_system: CoordSystem | str | None = None,
    now: datetime | None = None,
) -> CheckIn:
    """Record that `staff` passed `checkpoint`, and remember where they were.

    Only staff whose area contains the checkpoint's grid may check in there (Forbidden otherwise).
    A scan of the same checkpoint by the same person within DOUBLE_SCAN_WINDOW of their last one
    returns that check-in instead of adding another. The staff member's last known position
    becomes the given one (with its coordinate system), or else the checkpoint's. Flushes only.
    """
    if source not in SOURCES:
        raise InvalidInput(f"未知签到来源：{source}")
    if not may_check_in(staff, checkpoint):
        raise Forbidden(f"「{checkpoint.name}」不在您负责的网格内，不能签到")
    position = parse_position(lat, lng, coord_system)
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given; use an aware one")
    # One check-in at a time per person: two scans arriving together must not both be new.
    session.execute(select(StaffUser.id).where(StaffUser.id == staff.id).with_for_update())
    earlier = session.scalar(
        select(CheckIn)
        .where(
            CheckIn.staff_id == staff.id,
            CheckIn.checkpoint_id == checkpoint.id,
            CheckIn.at > now - DOUBLE_SCAN_WINDOW,
            CheckIn.at <= now,
        )
        .order_by(CheckIn.at.desc())
        .limit(1)
    )
    # Someone checking in is out on patrol: on duty, and where they said (or at the checkpoint).
    where = Point(*position) if position is not None else Point(checkpoint.lat, checkpoint.lng, checkpoint.coord_system)
    record_position(staff, where, on_duty=True, at=now)
    if earlier is not None:
        session.flush()
        return earlier
    check_in = CheckIn(
        staff_id=staff.id,
        checkpoint=checkpoint,
        at=now,
        lat=position[0] if position else None,
        lng=position[1] if position else None,
        coord_system=position[2] if position else None,
        source=source,
    )
    session.add(check_in)
    session.flush()
    return check_in


def check_ins(
    session: Session,
    viewer: StaffUser,
    *,
    grid_code: str | None = None,
    username: str | None = None,
    day: date | None = None,
    tz: ZoneInfo,
    limit: int = MAX_CHECK_INS,
) -> list[CheckInEntry]:
    """The check-ins `viewer` may see, newest first, with each one's staff member and checkpoint.

    Filtered to the viewer's area (the district center sees all) — a grid worker or department
    sees only their own — and optionally to a grid's
    subtree, one person (by username) and one local day in `tz`. One query, at most `limit` rows.
    """
    prefix = _scope(session, viewer, grid_code)
    if prefix is None:
        return []
    query = (
        select(CheckIn, StaffUser)
        .join(StaffUser, StaffUser.id == CheckIn.staff_id)
        .join(CheckIn.checkpoint)
        .join(Checkpoint.grid)
        .options(contains_eager(CheckIn.checkpoint).contains_eager(Checkpoint.grid))
        .order_by(CheckIn.at.desc(), CheckIn.id.desc())
        .limit(limit)
    )
    if prefix != "/":
        query = query.where(Grid.path.startswith(prefix, autoescape=True))
    if viewer.role not in OVERSEERS:
        # A grid worker's (or a department's) check-ins say where they were and when: each sees
        # only their own; those who lead an area see its people's.
        query = query.where(CheckIn.staff_id == viewer.id)
    if username:
        query = query.where(StaffUser.username == username)
    if day is not None:
        start, end = _local_day(day, tz)
        query = query.where(CheckIn.at >= start, CheckIn.at < end)
    return [CheckInEntry(check_in, staff) for check_in, staff in session.execute(query)]


def coverage(
    session: Session, viewer: StaffUser, *, day: date, tz: ZoneInfo, grid_code: str | None = None
) -> list[GridCoverage]:
    """For each base grid in the viewer's area (or under `grid_code`): checkpoints visited on `day`.

    A checkpoint counts as visited when anyone checked in there during the local day in `tz`.
    Two grouped queries, however many grids; grids in path order.
    """
    prefix = _scope(session, viewer, grid_code)
    if prefix is None:
        return []
    in_scope = [Grid.level == GridLevel.GRID]
    if prefix != "/":
        in_scope.append(Grid.path.startswith(prefix, autoescape=True))
    totals = session.execute(
        select(Grid.id, Grid.code, Grid.name, func.count(Checkpoint.id))
        .outerjoin(Checkpoint, Checkpoint.grid_id == Grid.id)
        .where(*in_scope)
        .group_by(Grid.id, Grid.code, Grid.name, Grid.path)
        .order_by(Grid.path)
    ).all()
    start, end = _local_day(day, tz)
    visited = dict(
        session.execute(
            select(Checkpoint.grid_id, func.count(distinct(CheckIn.checkpoint_id)))
            .join(CheckIn, CheckIn.checkpoint_id == Checkpoint.id)
            .join(Grid, Grid.id == Checkpoint.grid_id)
            .where(*in_scope, CheckIn.at >= start, CheckIn.at < end)
            .group_by(Checkpoint.grid_id)
        )
        .tuples()
        .all()
    )
    return [GridCoverage(code, name, visited.get(grid_id, 0), total) for grid_id, code, name, total in totals]


# --- the WeChat binding ---------------------------------------------------------------------------


def staff_for_openid(session: Session, openid: str | None) -> StaffUser | None:
    """The active staff account bound to this WeChat openid, or None."""
    if not openid:
        return None
    return session.scalar(select(StaffUser).where(StaffUser.openid == openid, StaffUser.is_active.is_(True)))


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def issue_binding_code(redis: Any, staff: StaffUser, *, ttl_seconds: int = BINDING_TTL_SECONDS) -> str:
    """A fresh 6-digit code that binds the sender's WeChat to `staff`, valid once for `ttl_seconds`.

    The staff member's previous code, if any, stops working.
    """
    for _ in range(20):
        code = f"{secrets.randbelow(10**6):06d}"
        if redis.set(_KEY_CODE.format(code=code), staff.id, ex=ttl_seconds, nx=True):
            break
    else:  # a million codes, nearly all free: twenty collisions in a row means something is wrong
        raise RuntimeError("no free binding code")
    staff_key = _KEY_STAFF.format(staff_id=staff.id)
    with redis.pipeline() as pipe:
        pipe.get(staff_key)
        pipe.set(staff_key, code, ex=ttl_seconds)
        previous, _ = pipe.execute()
    previous = _text(previous)
    # Only while that code is still this person's: once used or expired it may have gone to someone else.
    if previous and previous != code and _text(redis.get(_KEY_CODE.format(code=previous))) == str(staff.id):
        redis.delete(_KEY_CODE.format(code=previous))
    return code


def bind_openid(session: Session, redis: Any, openid: str, code: str) -> StaffUser:
    """Bind `openid` to the staff account that `code` was issued to; the code is used up.

    Refused: after MAX_BINDING_ATTEMPTS wrong codes from this openid (for BINDING_TTL_SECONDS), after
    MAX_BINDING_GUESSES wrong codes from anyone (until BINDING_TTL_SECONDS after the first of them),
    a code that is wrong, used or expired, an inactive account, and an openid already bound to
    another account (the code is used up all the same). Binding again to the same account changes
    nothing; an account bound before to another openid moves to this one. Flushes only.
    """
    if not openid:
        raise InvalidInput("缺少微信身份，无法绑定")
    failures_key = _KEY_FAILURES.format(openid=openid)
    if int(_text(redis.get(failures_key)) or 0) >= MAX_BINDING_ATTEMPTS:
        raise Forbidden("绑定码错误次数过多，请 10 分钟后再试")
    if int(_text(redis.get(_KEY_GUESSES)) or 0) >= MAX_BINDING_GUESSES:
        raise Forbidden("绑定尝试过于频繁，请 10 分钟后再试")
    code = (code or "").strip()
    staff_id = None
    if _CODE.fullmatch(code):
        with redis.pipeline() as pipe:  # read and delete at once: a code works only once
            pipe.get(_KEY_CODE.format(code=code))
            pipe.delete(_KEY_CODE.format(code=code))
            staff_id, _ = pipe.execute()
    staff = session.get(StaffUser, int(staff_id)) if staff_id else None
    if staff is None or not staff.is_active:
        with redis.pipeline() as pipe:
            pipe.incr(failures_key)
            pipe.expire(failures_key, BINDING_TTL_SECONDS)
            pipe.incr(_KEY_GUESSES)
            pipe.expire(_KEY_GUESSES, BINDING_TTL_SECONDS, nx=True)  # a window from the first wrong guess
            pipe.execute()
        raise InvalidInput("绑定码无效或已过期，请在工作端重新获取")
    redis.delete(failures_key, _KEY_STAFF.format(staff_id=staff.id))
    owner = session.scalar(select(StaffUser).where(StaffUser.openid == openid))
    if owner is not None and owner.id != staff.id:
        raise Forbidden("这个微信已绑定其他工作账号，请先联系管理员解除绑定")
    staff.openid = openid
    session.flush()
    return staff

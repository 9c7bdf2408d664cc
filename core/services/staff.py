"""Staff accounts: creation, sign-in, and which cases each person may see."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import String, cast, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.security import check_password_hash, generate_password_hash

from core.errors import Forbidden, InvalidInput
from core.glossary import Role
from core.models import Case, Grid, StaffUser
from core.models.base import utcnow

MIN_PASSWORD = 8
# Checked against when the username is unknown, so that sign-in takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-password")


def create_staff(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    grid_code: str | None = None,
    display_name: str | None = None,
    unit_code: str | None = None,
) -> StaffUser:
    """Add a staff account; roles below the district center must be scoped to a grid."""
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"未知角色：{role}（可选：{', '.join(r.value for r in Role)}）") from None
    if not username or len(username) > 64:
        raise InvalidInput("用户名不能为空，且不超过 64 个字符")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"密码至少 {MIN_PASSWORD} 位")
    if session.scalar(select(StaffUser).where(StaffUser.username == username)):
        raise InvalidInput(f"用户名 {username} 已存在")
    grid = None
    if grid_code:
        grid = session.scalar(select(Grid).where(Grid.code == grid_code))
        if grid is None:
            raise InvalidInput(f"网格 {grid_code} 不存在")
    elif role not in (Role.DISTRICT_CENTER, Role.COMMITTEE, Role.DEPARTMENT):
        raise InvalidInput(f"角色 {role.value} 需要 --grid 指定所属网格")
    staff = StaffUser(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password),
        role=role,
        grid=grid,
        unit_code=unit_code,
    )
    session.add(staff)
    session.flush()
    return staff


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """The active staff user with these credentials, or None."""
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if staff is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not staff.is_active or not check_password_hash(staff.password_hash, password):
        return None
    return staff


class SignInRefused(Forbidden):
    """Wrong credentials, or an account locked after too many failures; the message says which."""

    code = "invalid_credentials"


def sign_in(session: Session, username: str, password: str, *, max_failures: int, lock_seconds: int) -> StaffUser:
    """Check a sign-in, counting failures in a row: the `max_failures`-th locks the account.

    While locked even the right password is refused, so guessing gains nothing; a success resets
    the count. The caller commits either way, since a failure is itself worth keeping.
    """
    now = utcnow()
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username).with_for_update())
    if staff is not None and staff.locked_until is not None and staff.locked_until > now:
        minutes = max(1, round((staff.locked_until - now).total_seconds() / 60))
        raise SignInRefused(f"登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试", code="locked")
    if authenticate(session, username, password) is None:
        if staff is not None:
            staff.failed_logins += 1
            if staff.failed_logins >= max_failures:
                staff.locked_until = now + timedelta(seconds=lock_seconds)
                staff.failed_logins = 0
        raise SignInRefused("用户名或密码错误")
    assert staff is not None
    staff.failed_logins = 0
    staff.locked_until = None
    return staff


def can_see(staff: StaffUser, case: Case) -> bool:
    """Whether `staff` works on `case`: within their part of the grid, as its assignee or handler,
    or as a department assisting on it (协办). Must agree with `visible_cases`."""
    if staff.role == Role.DISTRICT_CENTER:
        return True
    if staff.role == Role.COMMITTEE:
        return False
    if case.assignee_id == staff.id or case.handler_id == staff.id:
        return True
    if staff.unit_code and staff.unit_code in (case.assisting_units or []):
        return True
    if staff.grid is None:
        return False
    return staff.grid.contains(case.grid)


def visible_cases(staff: StaffUser) -> ColumnElement[bool]:
    """The SQL condition selecting the cases `staff` may see: `can_see` for a whole table."""
    if staff.role == Role.DISTRICT_CENTER:
        return true()
    if staff.role == Role.COMMITTEE:
        return false()
    clauses: list[ColumnElement[bool]] = [Case.assignee_id == staff.id, Case.handler_id == staff.id]
    if staff.unit_code:
        # assisting_units is a JSON list of codes; its text holds each code in quotes.
        clauses.append(cast(Case.assisting_units, String).contains(f'"{staff.unit_code}"', autoescape=True))
    if staff.grid is not None:
        clauses.append(Case.grid_id.in_(staff.grid.subtree_ids()))
    return or_(*clauses)

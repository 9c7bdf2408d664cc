"""Staff accounts: creation, sign-in, and which cases each person may see."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import String, cast, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.security import check_password_hash, generate_password_hash

from core.errors import Forbidden, InvalidInput, NotFound
from core.glossary import Role
from core.models import Case, Grid, StaffUser
from core.models.base import utcnow
from core.services import staff_totp

log = logging.getLogger(__name__)

MIN_PASSWORD = 10
# Of lower-case letters, upper-case letters, digits and everything else, a password holds at least this many.
MIN_PASSWORD_KINDS = 3
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
    check_password_policy(username, password)
    if session.scalar(select(StaffUser).where(StaffUser.username == username)):
        raise InvalidInput(f"用户名 {username} 已存在")
    grid = None
    if grid_code:
        grid = session.scalar(select(Grid).where(Grid.code == grid_code))
        if grid is None:
            raise InvalidInput(f"网格 {grid_code} 不存在")
    elif role not in (Role.DISTRICT_CENTER, Role.COMMITTEE, Role.DEPARTMENT, Role.AUDITOR):
        raise InvalidInput(f"角色 {role.value} 需要 --grid 指定所属网格")
    staff = StaffUser(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password),
        password_changed_at=utcnow(),
        role=role,
        grid=grid,
        unit_code=unit_code,
    )
    session.add(staff)
    session.flush()
    return staff


def check_password_policy(username: str, password: str) -> None:
    """Refuse a password shorter than MIN_PASSWORD, of fewer than three kinds of character, or
    holding the username; it applies whenever a password is set (create, change, set-password)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"密码至少 {MIN_PASSWORD} 位")
    kinds = sum(
        any(test(c) for c in password) for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    if kinds < MIN_PASSWORD_KINDS:
        raise InvalidInput("密码须包含小写字母、大写字母、数字、符号中的至少三类")
    # Not the username, nor built on it (a short one like "li" may occur by chance, so only from 4 characters).
    name, lowered = username.lower(), password.lower()
    if name and (lowered == name or (len(name) >= 4 and name in lowered)):
        raise InvalidInput("密码不能是用户名，也不能包含用户名")


def set_password(staff: StaffUser, password: str) -> None:
    """Give `staff` a new password (policy checked); every session and token of theirs ends."""
    check_password_policy(staff.username, password)
    staff.password_hash = generate_password_hash(password)
    staff.password_changed_at = utcnow()
    end_all_sessions(staff)


def change_password(staff: StaffUser, current: str, new: str) -> None:
    """A staff member's own change: the current password first, then the new one as `set_password`."""
    if not check_password_hash(staff.password_hash, current):
        raise InvalidInput("当前密码不正确")
    if new == current:
        raise InvalidInput("新密码不能与当前密码相同")
    set_password(staff, new)


def end_all_sessions(staff: StaffUser) -> None:
    """Void every console session and bearer token of `staff` at once (they carry the old version)."""
    staff.token_version = (staff.token_version or 0) + 1


def disable_staff(staff: StaffUser) -> None:
    """Disable the account: no sign-in, and its sessions and tokens end now."""
    staff.is_active = False
    end_all_sessions(staff)


def find_staff(session: Session, username: str) -> StaffUser:
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if staff is None:
        raise NotFound(f"没有用户名为 {username} 的工作人员")
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
    """Sign-in refused. Wrong password, unknown user, locked account: one answer for all three.

    For the access log only (never shown): `reason` (password, second_factor, locked) and the
    id of the account tried, when one of that name exists.
    """

    code = "invalid_credentials"

    def __init__(self, message: str, *, reason: str = "password", staff_id: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.staff_id = staff_id


class TooManyAttempts(Forbidden):
    """This client address failed too often lately; it may not try any account for a while."""

    code = "too_many_attempts"


# One answer whatever went wrong, so that nobody learns which accounts exist or are locked.
REFUSED = "用户名或密码错误；多次错误后将暂时锁定，请稍后再试"
CLIENT_LIMITED = "登录尝试过于频繁，请稍后再试"
_KEY_PAIR = "gongzhi:login:pair:{account}:{client}"  # -> failures in a row of this account from this client
_KEY_CLIENT = "gongzhi:login:client:{client}:{window}"  # -> failures from this client in this window


@dataclass(frozen=True)
class SignInLimits:
    """How many failures lock one account for one client address, and how many stop a client outright."""

    max_failures: int
    lock_seconds: int
    client_max_failures: int
    client_window_seconds: int


def _account_key(username: str) -> str:
    # Any string may be typed as a username: hash it, so keys stay short and hold nothing typed.
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _client_key(client: str, window_seconds: int) -> str:
    return _KEY_CLIENT.format(client=client, window=int(time.time()) // max(window_seconds, 1))


def _count(redis: Any, key: str) -> int:
    value = redis.get(key)
    return int(value) if value else 0


def _limited(redis: Any, username: str, client: str, limits: SignInLimits) -> tuple[bool, bool]:
    """(client over its limit, this account locked for this client); with Redis down, neither."""
    try:
        client_count = _count(redis, _client_key(client, limits.client_window_seconds))
        pair_count = _count(redis, _KEY_PAIR.format(account=_account_key(username), client=client))
    except RedisError:
        log.warning("sign-in limits not checked: Redis is unreachable", exc_info=True)
        return False, False
    return client_count >= limits.client_max_failures, pair_count >= limits.max_failures


def _record_failure(redis: Any, username: str, client: str, limits: SignInLimits) -> None:
    pair = _KEY_PAIR.format(account=_account_key(username), client=client)
    per_client = _client_key(client, limits.client_window_seconds)
    try:
        with redis.pipeline() as pipe:
            pipe.incr(pair)
            pipe.expire(pair, limits.lock_seconds)
            pipe.incr(per_client)
            pipe.expire(per_client, limits.client_window_seconds * 2)
            pipe.execute()
    except RedisError:
        log.warning("sign-in failure not counted: Redis is unreachable", exc_info=True)


def _record_success(redis: Any, username: str, client: str) -> None:
    try:
        redis.delete(_KEY_PAIR.format(account=_account_key(username), client=client))
    except RedisError:
        log.warning("sign-in failures not reset: Redis is unreachable", exc_info=True)


def sign_in(
    session: Session,
    redis: Any,
    username: str,
    password: str,
    *,
    client: str,
    limits: SignInLimits,
    second_factor: str | None = None,
    secret_key: str = "",
) -> StaffUser:
    """Check a sign-in from `client` (an address), counting failures in Redis.

    `limits.max_failures` failures in a row of one account from one client lock that account for
    that client alone for `limits.lock_seconds` (even the right password is refused, so guessing
    gains nothing), and nobody elsewhere is locked out by them; a success resets the count.
    `limits.client_max_failures` failures from one client within `limits.client_window_seconds`
    stop it trying any account (TooManyAttempts). Wrong password, unknown user, inactive and
    locked account all raise the same SignInRefused, after the same password check; so does a
    missing or wrong `second_factor` (TOTP or recovery code) of an account that has enrolled one
    (its secret sealed with `secret_key`). With Redis
    unreachable the limits are not applied (logged) and the password alone decides.
    """
    client_limited, locked = _limited(redis, username, client, limits)
    if client_limited:
        raise TooManyAttempts(CLIENT_LIMITED)
    staff = authenticate(session, username, password)
    reason = "locked" if locked else "password"
    if (
        staff is not None
        and not locked
        and staff.totp_secret is not None
        and not staff_totp.check(staff, second_factor, secret_key=secret_key)
    ):
        staff, reason = None, "second_factor"
    if staff is None or locked:
        _record_failure(redis, username, client, limits)
        tried = session.scalar(select(StaffUser.id).where(StaffUser.username == username))
        raise SignInRefused(REFUSED, reason=reason, staff_id=tried)
    _record_success(redis, username, client)
    return staff


def can_see(staff: StaffUser, case: Case) -> bool:
    """Whether `staff` works on `case`: within their part of the grid, as its assignee or handler,
    or as a department assisting on it (协办). Must agree with `visible_cases`."""
    if staff.role == Role.DISTRICT_CENTER:
        return True
    if staff.role in (Role.COMMITTEE, Role.AUDITOR):
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
    if staff.role in (Role.COMMITTEE, Role.AUDITOR):
        return false()
    clauses: list[ColumnElement[bool]] = [Case.assignee_id == staff.id, Case.handler_id == staff.id]
    if staff.unit_code:
        # assisting_units is a JSON list of codes; its text holds each code in quotes.
        clauses.append(cast(Case.assisting_units, String).contains(f'"{staff.unit_code}"', autoescape=True))
    if staff.grid is not None:
        clauses.append(Case.grid_id.in_(staff.grid.subtree_ids()))
    return or_(*clauses)

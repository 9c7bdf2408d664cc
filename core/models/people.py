"""The people: residents known by their WeChat identities, and staff users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.glossary import CoordSystem, Role
from core.models.base import Base, Timestamped, str_enum
from core.models.places import Grid
from core.privacy.columns import EncryptedString


class Resident(Timestamped, Base):
    """A person known by WeChat openid (official account and/or mini-program; unionid links them)."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    mini_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), unique=True)
    nickname: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(EncryptedString)  # sealed at rest (core/privacy)
    is_follower: Mapped[bool] = mapped_column(default=False)
    followed_at: Mapped[datetime | None]
    unfollowed_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    last_lat: Mapped[float | None]
    last_lng: Mapped[float | None]
    last_coord_system: Mapped[CoordSystem | None] = mapped_column(str_enum(CoordSystem, 8))
    last_located_at: Mapped[datetime | None]
    # Set when the resident had their personal data erased (core/privacy/erasure.py): the row stays,
    # empty, so that history pointing at it (timeline, notifications, the access log) stays whole.
    erased_at: Mapped[datetime | None]


class StaffUser(Timestamped, Base):
    """A grid worker, grid leader, patrol officer, center operator or department unit."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    unit_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Raised on a password change, disabling and "sign out everywhere": every session and token
    # carrying an older version is void at once.
    token_version: Mapped[int] = mapped_column(default=0)
    password_changed_at: Mapped[datetime | None]
    # Two factors: the TOTP secret, encrypted (core/services/staff_totp.py), never shown or logged after
    # enrolment; the unused recovery codes as SHA-256 hashes; the last time step accepted (no replays).
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_recovery: Mapped[list[str] | None] = mapped_column(JSON)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    on_duty: Mapped[bool] = mapped_column(default=False)
    last_lat: Mapped[float | None]
    last_lng: Mapped[float | None]
    last_coord_system: Mapped[CoordSystem | None] = mapped_column(str_enum(CoordSystem, 8))
    last_located_at: Mapped[datetime | None]

    grid: Mapped[Grid | None] = relationship()

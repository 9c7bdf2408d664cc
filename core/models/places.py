"""The places: the grid hierarchy and the checkpoints posted in it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Select, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.glossary import CoordSystem, GridLevel
from core.models.base import Base, Timestamped, str_enum, utcnow


class Grid(Timestamped, Base):
    """One area of the hierarchy district → street → community → grid, with its boundary."""

    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[GridLevel] = mapped_column(str_enum(GridLevel))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    # The codes from the district down to this grid, "/D/S/C/G/": a prefix selects a whole subtree.
    path: Mapped[str] = mapped_column(String(256), index=True)
    # A GeoJSON geometry (Polygon or MultiPolygon), in `coord_system`.
    boundary: Mapped[dict[str, Any] | None]
    coord_system: Mapped[CoordSystem] = mapped_column(str_enum(CoordSystem, 8), default=CoordSystem.GCJ02)
    # Moved by every change, through the app or (on PostgreSQL, by a trigger) by hand: the routing
    # index of every process compares it to notice a boundary redrawn anywhere.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped[Grid | None] = relationship(remote_side=[id])

    def contains(self, other: Grid | None) -> bool:
        """Whether `other` is this grid or lies inside it."""
        return other is not None and other.path.startswith(self.path)

    def subtree_ids(self) -> Select[tuple[int]]:
        """The ids of this grid and every grid inside it, for `… IN (…)` (the path prefix, LIKE-escaped)."""
        return select(Grid.id).where(Grid.path.startswith(self.path, autoescape=True))

    def lineage(self) -> list[Grid]:
        """This grid and every grid above it, nearest first."""
        chain: list[Grid] = []
        node: Grid | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class Checkpoint(Timestamped, Base):
    """A fixed point with a posted QR sign (巡查二维码)."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Printed on the sign for people (CP0001); the QR carries the signed public code (core/codes.py).
    label: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    lat: Mapped[float]
    lng: Mapped[float]
    coord_system: Mapped[CoordSystem] = mapped_column(str_enum(CoordSystem, 8), default=CoordSystem.GCJ02)
    key_version: Mapped[int] = mapped_column(default=1)

    grid: Mapped[Grid] = relationship()


class CheckIn(Base):
    """A patrol officer's proof of passing a checkpoint (约束点签到): who, which checkpoint, when, where."""

    __tablename__ = "check_ins"
    __table_args__ = (Index("ix_check_ins_checkpoint_at", "checkpoint_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    coord_system: Mapped[CoordSystem | None] = mapped_column(str_enum(CoordSystem, 8))
    source: Mapped[str] = mapped_column(String(16))  # page, wechat, api

    checkpoint: Mapped[Checkpoint] = relationship()

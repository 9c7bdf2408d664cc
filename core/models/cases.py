"""Cases, their append-only timeline, who follows them, and the daily number counter."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.glossary import CaseSource, CaseStatus, CoordSystem, Tier
from core.models.base import Base, Timestamped, str_enum, utcnow
from core.models.catalogue import Category
from core.models.people import Resident, StaffUser
from core.models.places import Checkpoint, Grid
from core.privacy.columns import EncryptedString

case_followers = Table(
    "case_followers",
    Base.metadata,
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("resident_id", ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True),
)


class Case(Timestamped, Base):
    """One reported problem on its way through the closed loop."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_grid", "status", "grid_id"),
        Index("ix_cases_created_at", "created_at"),
        # An area's cases of a period (the figures below the district): one range per grid.
        Index("ix_cases_grid_created", "grid_id", "created_at"),
        # The queues "mine" (a person's dispatched cases by deadline) and "overdue" (dispatched, by
        # deadline): both find their first page in the index, however many cases a person ever had.
        Index("ix_cases_assignee_status_deadline", "assignee_id", "status", "deadline_at"),
        Index("ix_cases_status_deadline", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus), default=CaseStatus.REPORTED)
    source: Mapped[CaseSource] = mapped_column(str_enum(CaseSource, 16))
    # What made this case, so that a repeated delivery finds it instead of making another.
    intake_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    coord_system: Mapped[CoordSystem | None] = mapped_column(str_enum(CoordSystem, 8))
    location_label: Mapped[str | None] = mapped_column(String(256))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))  # indexed by ix_cases_grid_created
    checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    reporter_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    anonymous: Mapped[bool] = mapped_column(default=False)
    # A phone number the reporter left for call-backs (scan page); never shown publicly.
    # Sealed at rest (core/privacy); staff see it masked and reveal it through an audited POST.
    contact_phone: Mapped[str | None] = mapped_column(EncryptedString)
    # The unguessable key of the public tracking page /t/<token>.
    tracking_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    tier: Mapped[Tier | None] = mapped_column(str_enum(Tier, 16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))  # see ix_cases_assignee_…
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    deadline_at: Mapped[datetime | None]
    # The deadline sweep stamps these once each: a warning at 80% of the time limit, overdue at 100%.
    warned_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    # How routing placed the case (e.g. outside every grid), and open cases it may repeat (numbers).
    routing_note: Mapped[str | None] = mapped_column(Text)
    possible_duplicates: Mapped[list[str] | None] = mapped_column(JSON)
    # At district level (大循环): the assisting department units (协办) beside the assignee (主办).
    assisting_units: Mapped[list[str] | None] = mapped_column(JSON)
    accepted_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(Text)
    # When retention or the reporter's erasure took the personal data out (core/privacy/anonymise.py).
    anonymised_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    category: Mapped[Category | None] = relationship()
    grid: Mapped[Grid | None] = relationship()
    checkpoint: Mapped[Checkpoint | None] = relationship()
    reporter: Mapped[Resident | None] = relationship(foreign_keys=[reporter_id])
    assignee: Mapped[StaffUser | None] = relationship(foreign_keys=[assignee_id])
    handler: Mapped[StaffUser | None] = relationship(foreign_keys=[handler_id])
    followers: Mapped[list[Resident]] = relationship(secondary=case_followers)
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id", passive_deletes=True)


class CaseEvent(Base):
    """One entry of a case's timeline: who moved it, when, from where to where, and why."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[CaseStatus | None] = mapped_column(str_enum(CaseStatus))
    to_status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus))
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="events")
    actor_staff: Mapped[StaffUser | None] = relationship()


@event.listens_for(Session, "before_flush")
def _timeline_is_append_only(session: Session, _context: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, CaseEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("case events are append-only")


class CaseNumberCounter(Base):
    """The last case number given on each day, in the district's time zone."""

    __tablename__ = "case_number_counters"

    day: Mapped[date] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)

"""Micro-grant tables: rounds and their money sources, the committee, applications and what follows them.

Money is integer fen everywhere. Lists that belong to one row and are never queried on their own
(categories, rubric, budget lines, team, scores) are JSON columns of that row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.glossary import PhotoStatus
from core.grants.terms import Decision, GrantStatus, MemberKind
from core.models.base import Base, Timestamped, str_enum, utcnow
from core.privacy.columns import EncryptedJSON, EncryptedString
from core.privacy.contact import phone_hash

if TYPE_CHECKING:
    from core.models.places import Grid


class GrantRound(Timestamped, Base):
    """One call for projects (e.g. 乐治方兴 2027 第一期) with its budget, window, caps and rubric.

    A round belongs to a grid (the district's by default): only staff whose area holds that grid run
    it (core/grants/rounds.py `runs`), and committee members only the rounds they sit on.
    """

    __tablename__ = "grant_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    budget_fen: Mapped[int]
    cap_per_application_fen: Mapped[int]
    # {category: cap in fen}; a category without an entry has only the per-application cap.
    category_caps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # [{"key", "name", "weight"}]; weights are positive integers.
    rubric: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    # Days between progress reports after approval, and how many of them before the final one.
    report_every_days: Mapped[int] = mapped_column(default=30)
    reports_due: Mapped[int] = mapped_column(default=2)
    decisions_published_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    grid: Mapped[Grid] = relationship()
    sources: Mapped[list[GrantSource]] = relationship(order_by="GrantSource.position", back_populates="round")
    members: Mapped[list[GrantMember]] = relationship(order_by="GrantMember.id", back_populates="round")


class GrantSource(Base):
    """A funder of a round and its share in basis points; a round's shares add up to 10000."""

    __tablename__ = "grant_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("grant_rounds.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    share_bp: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)

    round: Mapped[GrantRound] = relationship(back_populates="sources")


class GrantMember(Timestamped, Base):
    """A committee member's seat in one round: a StaffUser of role committee, with kind and conflicts.

    `resident_id` and `phone` are the member's identity as a resident: a team that lists that
    resident (or that phone) is the member's own group, and the member is recused from it.
    """

    __tablename__ = "grant_members"
    __table_args__ = (UniqueConstraint("round_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("grant_rounds.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    kind: Mapped[MemberKind] = mapped_column(str_enum(MemberKind, 16))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    phone: Mapped[str | None] = mapped_column(EncryptedString)
    # The phone's keyed hash (core.privacy.contact.phone_hash): recusal compares it, never the number.
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    # Application ids the member declared a conflict with, each with the reason given.
    conflicts: Mapped[dict[str, Any]] = mapped_column(default=dict)

    round: Mapped[GrantRound] = relationship(back_populates="members")

    @validates("phone")
    def _hash_phone(self, _key: str, phone: str | None) -> str | None:
        # The hash follows the phone however it is set, so recusal never compares a stale one.
        self.phone_hash = phone_hash(phone)
        return phone


class GrantApplication(Timestamped, Base):
    """One project's application, and after approval the grant itself."""

    __tablename__ = "grant_applications"
    __table_args__ = (Index("ix_grant_applications_round_status", "round_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("grant_rounds.id"))
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    group_name: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text, default="")
    beneficiaries: Mapped[str] = mapped_column(Text, default="")
    schedule: Mapped[str] = mapped_column(Text, default="")
    # [{"name", "role", "resident_id"?, "phone"?}], sealed at rest as one value (names and phones).
    team: Mapped[list[dict[str, Any]]] = mapped_column(EncryptedJSON, default=list)
    # [{"item", "quantity", "unit_price_fen", "total_fen"}]
    budget_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requested_fen: Mapped[int] = mapped_column(default=0)
    status: Mapped[GrantStatus] = mapped_column(str_enum(GrantStatus, 16), default=GrantStatus.DRAFT)
    # The committee's decision, recorded before it is published with the round's others.
    decision: Mapped[Decision | None] = mapped_column(str_enum(Decision, 16))
    decision_fen: Mapped[int | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    approved_fen: Mapped[int | None]
    # {source id as text: fen}, fixed at approval so later disbursements reconcile against it.
    split: Mapped[dict[str, Any]] = mapped_column(default=dict)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    round: Mapped[GrantRound] = relationship()


class GrantEvent(Base):
    """One move of an application, on its timeline; the applicant is told about it."""

    __tablename__ = "grant_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("grant_applications.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[GrantStatus | None] = mapped_column(str_enum(GrantStatus, 16))
    to_status: Mapped[GrantStatus] = mapped_column(str_enum(GrantStatus, 16))
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[GrantApplication] = relationship()


class GrantScore(Base):
    """One member's score sheet for one application: {criterion key: 0–5 or null for n/a}."""

    __tablename__ = "grant_scores"
    __table_args__ = (UniqueConstraint("application_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("grant_applications.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("grant_members.id"))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrantSupport(Base):
    """A resident's support (点赞支持) for a submitted application; once per resident."""

    __tablename__ = "grant_supports"
    __table_args__ = (UniqueConstraint("application_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("grant_applications.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrantDisbursement(Base):
    """One tranche paid to a grant from one funding source."""

    __tablename__ = "grant_disbursements"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("grant_applications.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("grant_sources.id"))
    tranche: Mapped[int]
    amount_fen: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    paid_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrantReport(Base):
    """A progress report a grant owes by `due_on`; filled in when the grantee files it."""

    __tablename__ = "grant_reports"
    __table_args__ = (UniqueConstraint("application_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("grant_applications.id"), index=True)
    sequence: Mapped[int]
    final: Mapped[bool] = mapped_column(default=False)
    due_on: Mapped[date]
    text: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    # Each stamped once by the reminder sweep (core/grants/progress.py).
    reminded_at: Mapped[datetime | None]
    late_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]


class GrantFile(Base):
    """A photo or attachment of an application or of one of its reports, stored under MEDIA_DIR.

    A photo is kept as it came under MEDIA_DIR/uploads/ (`upload_path`) until the worker has made its
    clean copy (`path`, no EXIF), as a case's photo is; only a `ready` file is ever listed or served.
    A PDF attachment is kept as it came and is ready at once.
    """

    __tablename__ = "grant_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("grant_applications.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("grant_reports.id"))
    kind: Mapped[str] = mapped_column(String(16))  # photo, attachment
    status: Mapped[PhotoStatus] = mapped_column(str_enum(PhotoStatus, 16), default=PhotoStatus.PENDING)
    upload_path: Mapped[str | None] = mapped_column(String(256))
    path: Mapped[str | None] = mapped_column(String(256))
    error: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(128), default="")
    content_type: Mapped[str] = mapped_column(String(64), default="image/jpeg")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

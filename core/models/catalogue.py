"""The service catalogue (管理服务清单): major categories and their sub-categories."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.glossary import Tier
from core.models.base import Base, str_enum


class Category(Base):
    """A major category (no parent) or a sub-category with its tier, time limit and closing standard."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    kind: Mapped[str | None] = mapped_column(String(8))  # 部件 or 事件, after GB/T 30428
    default_tier: Mapped[Tier | None] = mapped_column(str_enum(Tier, 16))
    time_limit_hours: Mapped[int | None]
    closing_standard: Mapped[str | None] = mapped_column(Text)
    # Words residents use for it, space-separated, for suggesting a category from a description.
    keywords: Mapped[str | None] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id])

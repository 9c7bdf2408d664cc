"""Intake: a resident's report becomes a case, with its photos and attachments queued for the worker."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import case_loop, outbox
from core.errors import InvalidInput
from core.glossary import CaseSource, CoordSystem
from core.models import Attachment, Case, Category, Checkpoint, Photo, Resident
from core.numbering import next_case_number
from core.services.routing import route_case
from core.settings import Settings
from core.text import clean

MAX_PHOTOS = 9
MAX_ATTACHMENTS = 9
MAX_DESCRIPTION = 2000


@dataclass
class ReportInput:
    """What a resident reports, whichever way it came in."""

    description: str = ""
    wechat_media_ids: list[str] = field(default_factory=list)
    lat: float | None = None
    lng: float | None = None
    coord_system: CoordSystem | None = None
    location_label: str | None = None
    checkpoint_label: str | None = None
    category_code: str | None = None
    anonymous: bool = False
    # Photos uploaded through a page or the API, kept in the store (their keys).
    uploads: list[str] = field(default_factory=list)
    contact_phone: str | None = None
    # Voice and video messages: {"kind": "voice" | "video", "media_id": …, "format": …}.
    attachments: list[dict[str, str]] = field(default_factory=list)
    # Categories suggested from the description, best first; the resident may pick another by number.
    suggested_codes: list[str] = field(default_factory=list)
    category_chosen: bool = False
    # The privacy notice version and consent scopes it was reported under, kept on its intake event.
    privacy: dict[str, object] | None = None

    def is_empty(self) -> bool:
        return not (
            self.description
            or self.wechat_media_ids
            or self.uploads
            or self.attachments
            or self.lat is not None
            or self.checkpoint_label
        )

    def problems(self) -> list[str]:
        """What is missing or wrong, in words for the resident; empty when it can be submitted."""
        found = []
        if not (self.description.strip() or self.wechat_media_ids or self.uploads):
            found.append("请发送照片或用文字描述问题")
        if self.lat is None and self.checkpoint_label is None:
            found.append("请发送位置")
        if len(self.wechat_media_ids) + len(self.uploads) > MAX_PHOTOS:
            found.append(f"照片最多 {MAX_PHOTOS} 张")
        if len(self.description) > MAX_DESCRIPTION:
            found.append(f"描述最多 {MAX_DESCRIPTION} 字")
        if self.lat is not None and not (-90 <= self.lat <= 90 and -180 <= (self.lng or 0) <= 180):
            found.append("位置无效")
        return found


def submit_report(
    session: Session,
    settings: Settings,
    *,
    resident: Resident | None,
    report: ReportInput,
    source: CaseSource,
    intake_key: str | None,
) -> tuple[Case, bool]:
    """Create a case from `report` in the caller's transaction; returns (case, created).

    The same `intake_key` (a WeChat MsgId, a client request id) always answers with the case it
    made first, so a retried delivery or a double tap never makes a second case. Photos and
    attachments are queued through the outbox, so they are fetched only once the case is committed.
    """
    if intake_key:
        existing = session.scalar(select(Case).where(Case.intake_key == intake_key))
        if existing is not None:
            return existing, False
    problems = report.problems()
    if problems:
        raise InvalidInput("；".join(problems))

    checkpoint = None
    if report.checkpoint_label:
        checkpoint = session.scalar(select(Checkpoint).where(Checkpoint.label == report.checkpoint_label))
        if checkpoint is None:
            raise InvalidInput("巡查点不存在")
    category = None
    if report.category_code:
        category = session.scalar(select(Category).where(Category.code == report.category_code))
        if category is None:
            raise InvalidInput("问题类别不存在")

    located = report.lat is not None
    case = Case(
        number=next_case_number(session, settings.tz),
        source=source,
        intake_key=intake_key,
        description=clean(report.description, MAX_DESCRIPTION),
        category=category,
        lat=report.lat if located else (checkpoint.lat if checkpoint else None),
        lng=report.lng if located else (checkpoint.lng if checkpoint else None),
        coord_system=report.coord_system if located else (checkpoint.coord_system if checkpoint else None),
        location_label=clean(report.location_label, 256) or (checkpoint.name if checkpoint else None),
        checkpoint=checkpoint,
        grid_id=checkpoint.grid_id if checkpoint else None,
        reporter=resident,
        anonymous=report.anonymous,
        contact_phone=clean(report.contact_phone, 32) or None,
        tracking_token=secrets.token_urlsafe(16),
    )
    if resident is not None:
        case.followers.append(resident)
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        # A concurrent delivery of the same message won the race; answer with its case.
        existing = session.scalar(select(Case).where(Case.intake_key == intake_key)) if intake_key else None
        if existing is None:
            raise
        return existing, False
    route_case(session, case, settings)
    intake_data = {"privacy": report.privacy} if report.privacy else None
    case_loop.record_report(session, case, resident=resident, data=intake_data)
    photos = [Photo(case_id=case.id, wechat_media_id=media_id) for media_id in report.wechat_media_ids]
    photos += [Photo(case_id=case.id, upload_path=path) for path in report.uploads]
    for photo in photos[:MAX_PHOTOS]:
        session.add(photo)
        session.flush()
        outbox.add(session, outbox.PHOTO_FETCH, {"photo_id": photo.id})
    for item in report.attachments[:MAX_ATTACHMENTS]:
        attachment = Attachment(
            case_id=case.id, kind=item["kind"], wechat_media_id=item["media_id"], format=item.get("format")
        )
        session.add(attachment)
        session.flush()
        outbox.add(session, outbox.ATTACHMENT_FETCH, {"attachment_id": attachment.id})
    return case, True

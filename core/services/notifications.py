"""What WeChat reports after a template message was sent: delivered, refused, or lost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.glossary import NotificationStatus
from core.models import Notification
from core.models.base import utcnow

DELIVERED = "success"
# The reasons WeChat gives after "failed:" in a TEMPLATESENDJOBFINISH event, as staff should read them.
FAILURE_REASONS = {
    "user block": "用户拒收",
    "system failed": "系统原因发送失败",
}
_STATUS_LENGTH = 64  # Notification.delivery_status


def record_delivery(session: Session, msgid: str, status: str, *, at: datetime | None = None) -> Notification | None:
    """Record WeChat's delivery receipt for the template message `msgid`; the caller commits.

    `status` is the event's raw Status: `success`, `failed:user block` or `failed: system failed`.
    It is kept as given in `delivery_status`; a failure also marks the notification failed with a
    Chinese reason for staff. `at` is when WeChat said so (the event's CreateTime), else now.

    Idempotent: WeChat repeats an event it got no answer to, and the first receipt recorded stands.
    Returns the notification, or None when no notification has that msgid.
    """
    note = session.scalar(select(Notification).where(Notification.wechat_msgid == str(msgid)))
    if note is None or note.delivery_status is not None:
        return note
    raw = status.strip()
    note.delivery_status = raw[:_STATUS_LENGTH]
    note.delivered_at = at or utcnow()
    kind, _, reason = raw.partition(":")
    if kind.strip().lower() == "failed":
        reason = reason.strip()
        note.status = NotificationStatus.FAILED
        note.error = FAILURE_REASONS.get(reason.lower(), f"发送失败：{reason or raw}")
    return note

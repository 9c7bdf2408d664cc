"""Tell every follower of a case that it moved, once per (event, resident, channel)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from bot.client import WeChatTransportError
from core.glossary import NotificationStatus
from core.models import CaseEvent, Notification, Resident
from core.models.base import utcnow
from core.notices import status_notice
from worker import runtime

log = logging.getLogger(__name__)

CHANNEL_CUSTOMER_SERVICE = "oa_custom"  # the official account's customer-service message
# WeChat's answers that no retry can change.
UNDELIVERABLE = {
    43004: "居民已取消关注",
    45015: "超过 48 小时未互动，客服消息无法送达",
    40003: "openid 无效",
}


def _notification_for(session: Session, event: CaseEvent, resident: Resident, content: str) -> Notification:
    query = select(Notification).where(
        Notification.event_id == event.id,
        Notification.resident_id == resident.id,
        Notification.channel == CHANNEL_CUSTOMER_SERVICE,
    )
    found = session.scalar(query)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            found = Notification(
                event_id=event.id, resident_id=resident.id, channel=CHANNEL_CUSTOMER_SERVICE, content=content
            )
            session.add(found)
    except IntegrityError:  # another worker recorded it first
        found = session.scalar(query)
        assert found is not None
    session.commit()
    return found


def _settle(session: Session, note: Notification, exc: Exception, *, final: bool, reason: str) -> None:
    """Record a failed send: failed for good (visible to staff), or pending for the job's retry."""
    note.status = NotificationStatus.FAILED if final else NotificationStatus.PENDING
    note.error = (f"{reason}：{exc}" if final else str(exc))[:500]
    session.commit()


def notify_case_event(event_id: int, case_id: int | None = None) -> int:
    """Send the followers of the event's case a WeChat message about it; returns how many were sent.

    A notification already sent is skipped, so a retried job sends only what is still missing.
    One that a killed worker left in `sending` is not sent again (it may have arrived) and is
    marked failed for staff to see.
    """
    rt = runtime.current()
    sent = 0
    with rt.database.session() as session:
        event = session.get(CaseEvent, event_id)
        if event is None:
            return 0
        case = event.case
        content = status_notice(case, event)
        for resident in case.followers:
            if not resident.openid or (resident.unfollowed_at is not None and not resident.is_follower):
                continue
            note = _notification_for(session, event, resident, content)
            if note.status == NotificationStatus.SENDING:
                note.status = NotificationStatus.FAILED
                note.error = "上次发送中断，为免重复未再发送"
                session.commit()
                continue
            if note.status != NotificationStatus.PENDING:
                continue
            note.status = NotificationStatus.SENDING
            note.attempts += 1
            session.commit()
            try:
                rt.wechat.message.send_text(resident.openid, content)
            except WeChatTransportError as exc:
                # A timeout or 5xx after the request went out: it may have arrived, so never resend.
                _settle(session, note, exc, final=exc.may_have_reached_server, reason="发送结果未知，为免重复未再发送")
                if not exc.may_have_reached_server:
                    raise
                continue
            except WeChatClientException as exc:
                final = exc.errcode in UNDELIVERABLE
                _settle(session, note, exc, final=final, reason=UNDELIVERABLE.get(exc.errcode, ""))
                if not final:
                    raise
                continue
            note.status = NotificationStatus.SENT
            note.sent_at = utcnow()
            note.error = None
            session.commit()
            sent += 1
    return sent

"""Tell every follower of a case that it moved: one message per (event, resident), on one channel."""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from core.glossary import NotificationStatus
from core.models import Case, CaseEvent, Notification, Resident
from core.models.base import utcnow
from core.notices import status_notice
from core.services.consents import take_one
from core.settings import Settings
from worker import runtime
from worker.channels import CHANNEL_MINI, CHANNEL_TEMPLATE, choose_route, mini_data, template_data
from wxclient.mini import send_subscribe
from wxclient.official import WeChatTransportError

log = logging.getLogger(__name__)

# WeChat's answers that no retry can change.
UNDELIVERABLE = {
    43004: "居民已取消关注",
    45015: "超过 48 小时未互动，客服消息无法送达",
    40003: "openid 无效",
    40037: "模板 ID 无效，请检查 WECHAT_STATUS_TEMPLATES",
    43101: "用户未订阅或已拒收小程序订阅消息",
    47003: "订阅消息内容不符合模板要求",
}
INTERRUPTED = "上次发送中断，为免重复未再发送"
TEMPLATE_GONE = "模板设置（WECHAT_STATUS_TEMPLATES / WECHAT_MINI_STATUS_TEMPLATES）已不含此状态的模板，未发送"


def _recorded(session: Session, event: CaseEvent, resident: Resident) -> Notification | None:
    """The resident's notification about `event`, on whichever channel it was first recorded."""
    query = (
        select(Notification)
        .where(Notification.event_id == event.id, Notification.resident_id == resident.id)
        .order_by(Notification.id)
        .limit(1)
    )
    return session.scalar(query)


def _notification_for(
    session: Session, settings: Settings, event: CaseEvent, resident: Resident, content: str
) -> Notification:
    """The one notification of `resident` about `event`: found, or recorded on the channel chosen now.

    Once recorded, its channel is kept: a rerun after the resident followed, unfollowed or wrote
    in must not tell them a second time on another channel.
    """
    found = _recorded(session, event, resident)
    if found is not None:
        return found
    # The unique constraint covers (event, resident, channel) only; locking the resident's row keeps
    # two concurrent runs from recording the event on two channels. It also rereads the resident, so
    # the choice sees their latest follow state and last message.
    resident = session.scalars(
        select(Resident).where(Resident.id == resident.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    found = _recorded(session, event, resident)
    if found is None:
        route = choose_route(
            resident, event, settings, utcnow(), take_quota=lambda template_id: take_one(session, resident, template_id)
        )
        found = Notification(event_id=event.id, resident_id=resident.id, channel=route.channel, content=content)
        if route.unreachable:
            # Recorded so staff see why the resident was not told; never sent, never retried.
            found.status = NotificationStatus.FAILED
            found.error = route.unreachable
            log.info("event %s: resident %s cannot be reached: %s", event.id, resident.id, route.unreachable)
        try:
            with session.begin_nested():
                session.add(found)
        except IntegrityError:  # another worker recorded it first (databases without row locks)
            found = _recorded(session, event, resident)
            assert found is not None
    session.commit()
    return found


def _settle(session: Session, note: Notification, exc: Exception, *, final: bool, reason: str) -> None:
    """Record a failed send: failed for good (visible to staff), or pending for the job's retry."""
    note.status = NotificationStatus.FAILED if final else NotificationStatus.PENDING
    note.error = (f"{reason}：{exc}" if final else str(exc))[:500]
    session.commit()


def _fail(session: Session, note: Notification, reason: str) -> None:
    note.status = NotificationStatus.FAILED
    note.error = reason
    session.commit()


def claim_for_sending(session: Session, note: Notification) -> bool:
    """Take a pending notification for sending, and commit: of two runs of a job at once (a job rq
    retried as abandoned while its first run still went on), only one may send it."""
    claimed = session.execute(
        update(Notification)
        .where(Notification.id == note.id, Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.SENDING, attempts=Notification.attempts + 1)
    )
    session.commit()  # also expires `note`, so it is read again as the claim left it
    return claimed.rowcount == 1


def _template_of(settings: Settings, channel: str, event: CaseEvent) -> str | None:
    if channel == CHANNEL_TEMPLATE:
        return settings.template_for(event.to_status)
    if channel == CHANNEL_MINI:
        return settings.mini_template_for(event.to_status)
    return None


def _send(note: Notification, case: Case, event: CaseEvent, resident: Resident, template_id: str | None) -> None:
    """Hand the message to WeChat on the notification's channel; keep a template message's msgid."""
    rt = runtime.current()
    if note.channel == CHANNEL_MINI:
        assert template_id is not None and resident.mini_openid
        page = f"{rt.settings.wechat_mini_page}?number={case.number}"
        send_subscribe(rt.mini, resident.mini_openid, template_id, mini_data(case, event, rt.settings), page)
    elif note.channel == CHANNEL_TEMPLATE:
        assert template_id is not None and resident.openid
        data = template_data(case, event, rt.settings)
        result = rt.wechat.message.send_template(resident.openid, template_id, data)
        msgid = result.get("msgid") if isinstance(result, dict) else None
        # The msgid ties WeChat's later TEMPLATESENDJOBFINISH receipt to this row.
        note.wechat_msgid = str(msgid) if msgid is not None else None
    else:
        rt.wechat.message.send_text(resident.openid, note.content)


def notify_case_event(event_id: int, case_id: int | None = None) -> int:
    """Send the followers of the event's case a WeChat message about it; returns how many were sent.

    The channel (template or customer-service message) is chosen per resident by worker.channels.
    A notification already sent or failed for good is skipped, so a retried job sends only what is
    still missing. One that a killed worker left in `sending` is not sent again (it may have
    arrived) and is marked failed for staff to see.
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
            note = _notification_for(session, rt.settings, event, resident, content)
            if note.status == NotificationStatus.SENDING:
                _fail(session, note, INTERRUPTED)
                continue
            if note.status != NotificationStatus.PENDING:
                continue
            template_id = _template_of(rt.settings, note.channel, event)
            if note.channel in (CHANNEL_TEMPLATE, CHANNEL_MINI) and not template_id:
                _fail(session, note, TEMPLATE_GONE)  # the settings changed between two runs
                continue
            if not claim_for_sending(session, note):
                continue  # another run of this job took it a moment ago
            try:
                _send(note, case, event, resident, template_id)
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

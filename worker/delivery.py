"""Telling someone once: record the message, claim it, choose the channel, send, and mark what happened.

Residents (the followers of a case, the applicant of a grant) are told through a Notification row:
one per (event, resident), on the channel `worker.channels.choose_channel` picks when it is first
recorded, taken for sending by a conditional UPDATE (`pending → sending`), then marked sent or
failed. Staff (deadline alerts, late grant reports) are sent a customer-service message once per
Redis key, set with NX *before* the send.

Either way a send is never repeated once it may have reached WeChat: a clean failure (the request
never went out, or WeChat answered something a retry may change) is left for the job's retry, a
timeout after the request went out or a killed worker is recorded and not sent again, and WeChat's
"not reachable" answers are recorded, not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from core.glossary import NotificationStatus
from core.models import Notification, Resident, StaffUser
from core.models.base import utcnow
from core.services.consents import take_one
from core.settings import Settings
from worker.channels import CHANNEL_MINI, CHANNEL_TEMPLATE, Message, choose_channel, template_of
from worker.runtime import Runtime
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
RESULT_UNKNOWN = "发送结果未知，为免重复未再发送"
TEMPLATE_GONE = "模板设置（WECHAT_STATUS_TEMPLATES / WECHAT_MINI_STATUS_TEMPLATES）已不含此状态的模板，未发送"


@dataclass(frozen=True)
class Refusal:
    """A send that failed: `final` when no retry may send it (it may have arrived, or never will)."""

    error: Exception
    final: bool
    reason: str


def attempt(send: Callable[[], object]) -> Refusal | None:
    """Run `send`; None when WeChat took it, else how it failed (errors other than WeChat's propagate)."""
    try:
        send()
    except WeChatTransportError as exc:
        # A timeout or 5xx after the request went out: it may have arrived, so it is never resent.
        return Refusal(exc, final=exc.may_have_reached_server, reason=RESULT_UNKNOWN)
    except WeChatClientException as exc:
        return Refusal(exc, final=exc.errcode in UNDELIVERABLE, reason=UNDELIVERABLE.get(exc.errcode, ""))
    return None


def notify_resident(session: Session, rt: Runtime, message: Message, resident: Resident) -> bool:
    """Tell `resident` about `message.event` once, on one channel; whether it was sent now.

    A notification already sent or failed for good is skipped, so a retried job sends only what is
    still missing. One that a killed worker left in `sending` is not sent again (it may have
    arrived) and is marked failed for staff to see. A failure a retry may mend raises, for rq.
    """
    note = _notification_for(session, rt.settings, message, resident)
    if note.status == NotificationStatus.SENDING:
        _fail(session, note, INTERRUPTED)
        return False
    if note.status != NotificationStatus.PENDING:
        return False
    template_id = template_of(rt.settings, note.channel, message.event.to_status)
    if note.channel in (CHANNEL_TEMPLATE, CHANNEL_MINI) and not template_id:
        _fail(session, note, TEMPLATE_GONE)  # the settings changed between two runs
        return False
    if not claim_for_sending(session, note):
        return False  # another run of this job took it a moment ago
    refusal = attempt(lambda: _send(rt, note, message, resident, template_id))
    if refusal is not None:
        # Failed for good (visible to staff), or pending again for the job's retry.
        note.status = NotificationStatus.FAILED if refusal.final else NotificationStatus.PENDING
        note.error = (f"{refusal.reason}：{refusal.error}" if refusal.final else str(refusal.error))[:500]
        session.commit()
        if not refusal.final:
            raise refusal.error
        return False
    note.status = NotificationStatus.SENT
    note.sent_at = utcnow()
    note.error = None
    session.commit()
    return True


def claim_for_sending(session: Session, note: Notification) -> bool:
    """Take a pending notification for sending, and commit: of two runs of a job at once (a job rq
    retried as abandoned while its first run still went on), only one may send it."""
    claimed = cast(
        "CursorResult[Any]",  # an UPDATE's result counts its rows
        session.execute(
            update(Notification)
            .where(Notification.id == note.id, Notification.status == NotificationStatus.PENDING)
            .values(status=NotificationStatus.SENDING, attempts=Notification.attempts + 1)
        ),
    )
    session.commit()  # also expires `note`, so it is read again as the claim left it
    return claimed.rowcount == 1


def notify_staff(rt: Runtime, staff: StaffUser | None, text: str, *, key: str, ttl: int, what: str) -> bool:
    """Send `text` to `staff`'s bound WeChat once per Redis `key`; whether it was sent now.

    The key is set *before* the send: a retry after a clean failure (the key is deleted) sends
    again; a retry after a send that may have reached WeChat (a timeout after the request, a killed
    worker) finds the key and does not. `what` names the message in the log.
    """
    if staff is None or not staff.openid:
        log.info("%s: no staff member with a bound WeChat account, not sent", what)
        return False
    openid = staff.openid
    if not rt.redis.set(key, f"sending:{staff.id}", nx=True, ex=ttl):
        return False  # sent, failed for good, or in doubt: never twice
    refusal = attempt(lambda: rt.wechat.message.send_text(openid, text))
    if refusal is not None:
        if not refusal.final:
            rt.redis.delete(key)
            raise refusal.error  # rq retries it
        rt.redis.set(key, f"failed:{staff.id}:{str(refusal.error)[:200]}", ex=ttl)
        log.warning("%s: %s (%s)", what, refusal.reason, refusal.error)
        return False
    rt.redis.set(key, f"sent:{staff.id}", ex=ttl)
    return True


def _recorded(session: Session, message: Message, resident: Resident) -> Notification | None:
    """The resident's notification about the event, on whichever channel it was first recorded."""
    query = select(Notification).filter_by(**message.about, resident_id=resident.id)
    return session.scalar(query.order_by(Notification.id).limit(1))


def _notification_for(session: Session, settings: Settings, message: Message, resident: Resident) -> Notification:
    """The one notification of `resident` about the event: found, or recorded on the channel chosen now.

    Once recorded, its channel is kept: a rerun after the resident followed, unfollowed or wrote
    in must not tell them a second time on another channel.
    """
    found = _recorded(session, message, resident)
    if found is not None:
        return found
    # The unique constraints cover (event, resident, channel) only; locking the resident's row keeps
    # two concurrent runs from recording the event on two channels. It also rereads the resident, so
    # the choice sees their latest follow state and last message.
    resident = session.scalars(
        select(Resident).where(Resident.id == resident.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    found = _recorded(session, message, resident)
    if found is None:
        channel = choose_channel(
            resident,
            message.event.to_status,
            settings,
            utcnow(),
            take_quota=lambda template_id: take_one(session, resident, template_id),
        )
        found = Notification(**message.about, resident_id=resident.id, channel=channel.name, content=message.text)
        if channel.unreachable:
            # Recorded so staff see why the resident was not told; never sent, never retried.
            found.status = NotificationStatus.FAILED
            found.error = channel.unreachable
            log.info("%s: resident %s cannot be reached: %s", message.name, resident.id, channel.unreachable)
        try:
            with session.begin_nested():
                session.add(found)
        except IntegrityError:  # another worker recorded it first (databases without row locks)
            found = _recorded(session, message, resident)
            assert found is not None
    session.commit()
    return found


def _fail(session: Session, note: Notification, reason: str) -> None:
    note.status = NotificationStatus.FAILED
    note.error = reason
    session.commit()


def _send(rt: Runtime, note: Notification, message: Message, resident: Resident, template_id: str | None) -> None:
    """Hand the message to WeChat on the notification's channel; keep a template message's msgid."""
    if note.channel == CHANNEL_MINI:
        assert template_id is not None and resident.mini_openid
        send_subscribe(rt.mini, resident.mini_openid, template_id, message.mini_fields, message.mini_page)
    elif note.channel == CHANNEL_TEMPLATE:
        assert template_id is not None and resident.openid
        result = rt.wechat.message.send_template(resident.openid, template_id, message.template_fields)
        msgid = result.get("msgid") if isinstance(result, dict) else None
        # The msgid ties WeChat's later TEMPLATESENDJOBFINISH receipt to this row.
        note.wechat_msgid = str(msgid) if msgid is not None else None
    else:
        rt.wechat.message.send_text(resident.openid, note.content)

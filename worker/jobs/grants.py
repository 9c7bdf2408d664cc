"""Micro-grant messages: the applicant is told of each move (and reminder) of their application; staff of late reports.

The applicant is told exactly as a case's followers are (worker/jobs/notify.py, worker/channels.py):
one Notification per (grant event, resident), on the channel `choose_route` picks — the mini-program
subscribe message while they allowed one, else the official account's template message to a
follower, else a customer-service message within 48 hours, else a failed record saying why.
Template ids come from the same settings, keyed by the grant status (`approved`, …) or `default`.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from core.glossary import NotificationStatus
from core.grants import progress
from core.grants.terms import GrantStatus
from core.models import GrantApplication, GrantEvent, GrantReport, Notification, Resident, StaffUser
from core.models.base import utcnow
from core.services.consents import take_one
from core.settings import Settings
from worker import runtime
from worker.channels import CHANNEL_MINI, CHANNEL_TEMPLATE, choose_route
from worker.jobs.notify import INTERRUPTED, TEMPLATE_GONE, UNDELIVERABLE, claim_for_sending
from wxclient.mini import send_subscribe
from wxclient.official import WeChatTransportError

log = logging.getLogger(__name__)

GRANT_PAGE = "pages/grant/detail"
LATE_KEY = "gz:grant-late:{report_id}"
LATE_TTL = 365 * 24 * 3600


def notice(application: GrantApplication, event: GrantEvent) -> str:
    """The text an applicant reads about `event`."""
    if event.action == "remind":
        return f"【微公益】您的项目「{application.title}」：{event.note}。"
    text = f"【微公益】您的申请「{application.title}」{event.to_status.applicant_label}"
    return text + (f"：{event.note}" if event.note else "。")


def _when(event: GrantEvent, settings: Settings) -> str:
    return event.created_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


def _data(channel: str, application: GrantApplication, event: GrantEvent, settings: Settings) -> dict[str, Any]:
    label = "报告提醒" if event.action == "remind" else event.to_status.applicant_label
    if channel == CHANNEL_MINI:  # WeChat caps `phrase` at 5 characters and `thing` at 20
        phrase = "报告提醒" if event.action == "remind" else event.to_status.short_label
        return {
            "character_string1": {"value": f"WG{application.id:06d}"},
            "phrase2": {"value": phrase},
            "time3": {"value": _when(event, settings)},
            "thing4": {"value": (event.note or application.title)[:20]},
        }
    return {
        "first": {"value": "您的微公益项目有新进展"},
        "keyword1": {"value": application.title},
        "keyword2": {"value": label},
        "keyword3": {"value": _when(event, settings)},
        "remark": {"value": event.note or ""},
    }


def _template(settings: Settings, channel: str, status: GrantStatus) -> str | None:
    if channel == CHANNEL_TEMPLATE:
        return settings.template_for(status)
    if channel == CHANNEL_MINI:
        return settings.mini_template_for(status)
    return None


def _recorded(session: Session, event_id: int, resident_id: int) -> Notification | None:
    query = select(Notification).where(Notification.grant_event_id == event_id, Notification.resident_id == resident_id)
    return session.scalar(query.order_by(Notification.id).limit(1))


def _notification_for(
    session: Session, settings: Settings, event: GrantEvent, resident: Resident, content: str
) -> Notification:
    """The one notification of `resident` about `event`: found, or recorded on the channel chosen now."""
    found = _recorded(session, event.id, resident.id)
    if found is not None:
        return found
    resident = session.scalars(
        select(Resident).where(Resident.id == resident.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    found = _recorded(session, event.id, resident.id)
    if found is None:
        route = choose_route(
            resident, event, settings, utcnow(), take_quota=lambda template: take_one(session, resident, template)
        )  # type: ignore[arg-type]  # choose_route reads only event.to_status
        found = Notification(grant_event_id=event.id, resident_id=resident.id, channel=route.channel, content=content)
        if route.unreachable:
            found.status = NotificationStatus.FAILED
            found.error = route.unreachable
        try:
            with session.begin_nested():
                session.add(found)
        except IntegrityError:
            found = _recorded(session, event.id, resident.id)
            assert found is not None
    session.commit()
    return found


def notify_grant_event(grant_event_id: int, **_ignored: Any) -> bool:
    """Tell the applicant about one event of their application; whether a message was sent now.

    Retried jobs skip what was sent or failed for good; a send left in `sending` by a killed worker
    is not repeated (it may have arrived) and is marked failed.
    """
    rt = runtime.current()
    with rt.database.session() as session:
        event = session.get(GrantEvent, grant_event_id)
        if event is None:
            return False
        application = event.application
        resident = session.get(Resident, application.applicant_id) if application.applicant_id else None
        if resident is None:
            return False  # entered by staff for someone off WeChat: nobody to tell
        note = _notification_for(session, rt.settings, event, resident, notice(application, event))
        if note.status == NotificationStatus.SENDING:
            note.status, note.error = NotificationStatus.FAILED, INTERRUPTED
            session.commit()
            return False
        if note.status != NotificationStatus.PENDING:
            return False
        template_id = _template(rt.settings, note.channel, event.to_status)
        if note.channel in (CHANNEL_TEMPLATE, CHANNEL_MINI) and not template_id:
            note.status, note.error = NotificationStatus.FAILED, TEMPLATE_GONE
            session.commit()
            return False
        if not claim_for_sending(session, note):
            return False  # another run of this job took it a moment ago
        try:
            if note.channel == CHANNEL_MINI:
                assert template_id and resident.mini_openid
                page = f"{GRANT_PAGE}?id={application.id}"
                data = _data(CHANNEL_MINI, application, event, rt.settings)
                send_subscribe(rt.mini, resident.mini_openid, template_id, data, page)
            elif note.channel == CHANNEL_TEMPLATE:
                assert template_id and resident.openid
                data = _data(CHANNEL_TEMPLATE, application, event, rt.settings)
                result = rt.wechat.message.send_template(resident.openid, template_id, data)
                msgid = result.get("msgid") if isinstance(result, dict) else None
                note.wechat_msgid = str(msgid) if msgid is not None else None
            else:
                rt.wechat.message.send_text(resident.openid, note.content)
        except WeChatTransportError as exc:
            final = exc.may_have_reached_server
            note.status = NotificationStatus.FAILED if final else NotificationStatus.PENDING
            note.error = str(exc)[:500]
            session.commit()
            if not final:
                raise
            return False
        except WeChatClientException as exc:
            final = exc.errcode in UNDELIVERABLE
            note.status = NotificationStatus.FAILED if final else NotificationStatus.PENDING
            note.error = f"{UNDELIVERABLE.get(exc.errcode, '')}：{exc}"[:500]
            session.commit()
            if not final:
                raise
            return False
        note.status, note.sent_at, note.error = NotificationStatus.SENT, utcnow(), None
        session.commit()
        return True


def tell_report_late(report_id: int, application_id: int, **_ignored: Any) -> bool:
    """「进度报告逾期」to the staff member who opened the round, once, when their WeChat is bound."""
    rt = runtime.current()
    with rt.database.session() as session:
        report = session.get(GrantReport, report_id)
        application = session.get(GrantApplication, application_id)
        if report is None or application is None or report.submitted_at is not None:
            return False
        staff = session.get(StaffUser, application.round.created_by_id) if application.round.created_by_id else None
        if staff is None or not staff.openid:
            log.info("late report %s: no staff member with a bound WeChat to tell", report_id)
            return False
        key = LATE_KEY.format(report_id=report_id)
        if not rt.redis.set(key, "sending", nx=True, ex=LATE_TTL):
            return False
        text = (
            f"进度报告逾期：微公益项目「{application.title}」第 {report.sequence} 次报告"
            f"应于 {report.due_on:%Y-%m-%d} 提交，至今未交。"
        )
        try:
            rt.wechat.message.send_text(staff.openid, text)
        except WeChatTransportError as exc:
            if not exc.may_have_reached_server:
                rt.redis.delete(key)
                raise
            return False
        except WeChatClientException as exc:
            if exc.errcode not in UNDELIVERABLE:
                rt.redis.delete(key)
                raise
            return False
        rt.redis.set(key, "sent", ex=LATE_TTL)
        return True


def sweep_reports() -> dict[str, list[int]]:
    """The reminder sweep (core/grants/progress.py) for today, in the district's time zone."""
    rt = runtime.current()
    with rt.database.session() as session:
        result = progress.sweep(session, utcnow().astimezone(rt.settings.tz).date())
        session.commit()
    return {"reminded": result.reminded, "late": result.late}

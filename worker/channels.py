"""Which WeChat channel can reach a resident, and what its messages about a case or a grant say.

A resident who uses the mini-program and allowed its subscribe messages is told there first, one
allowed send per message (wx.requestSubscribeMessage grants them one at a time). Otherwise, WeChat
lets an official account write to a resident in two ways:

- a template message (模板消息), to anyone who follows the account, at any time — but only with a
  template the account has chosen, hence WECHAT_STATUS_TEMPLATES;
- a customer-service message (客服消息), free text, but only within 48 hours of the resident's last
  message to the account (WeChat answers 45015 after that).

A resident who fits neither cannot be reached; that is recorded rather than tried, because WeChat
would only refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.glossary import CaseStatus
from core.grants.terms import GrantStatus
from core.models import Case, CaseEvent, GrantApplication, GrantEvent, Resident
from core.notices import GRANT_REMINDER, grant_notice, notice_body, status_notice
from core.settings import Settings

CHANNEL_MINI = "mp_subscribe"  # the mini-program's one-time subscribe message
CHANNEL_TEMPLATE = "oa_template"  # the official account's template message
CHANNEL_CUSTOMER_SERVICE = "oa_custom"  # the official account's customer-service message
# How long after a resident's last message WeChat accepts customer-service messages to them.
SESSION_WINDOW = timedelta(hours=48)

UNFOLLOWED = "居民已取消关注公众号，无法送达"
NO_MINI_QUOTA = "小程序订阅消息次数已用完（或未订阅），且未关注公众号，无法送达"
SILENT_NOT_FOLLOWING = "超过 48 小时未互动，且未关注公众号，无法送达"
SILENT_NO_TEMPLATE = "超过 48 小时未互动，且该状态未配置模板消息，无法送达"
TEMPLATE_GREETING = "您反映的问题有新进展"
GRANT_TEMPLATE_GREETING = "您的微公益项目有新进展"
GRANT_PAGE = "pages/grant/detail"  # the mini-program page of an application


@dataclass(frozen=True)
class Channel:
    """How to tell one resident about one event.

    `unreachable` set means: record a failed notification on channel `name` with that reason, send nothing.
    """

    name: str
    template_id: str | None = None
    unreachable: str | None = None


@dataclass(frozen=True)
class Message:
    """What a resident is told about one case or grant event, as each channel says it."""

    event: CaseEvent | GrantEvent
    text: str  # the customer-service message, and the Notification's content on every channel
    mini_page: str  # the mini-program page a subscribe message opens
    mini_fields: dict[str, dict[str, Any]]
    template_fields: dict[str, dict[str, Any]]

    @property
    def about(self) -> dict[str, int]:
        """The Notification column naming the event, with its id."""
        if isinstance(self.event, GrantEvent):
            return {"grant_event_id": self.event.id}
        return {"event_id": self.event.id}

    @property
    def name(self) -> str:
        """The event, for the log."""
        return f"{'grant event' if isinstance(self.event, GrantEvent) else 'event'} {self.event.id}"


def choose_channel(
    resident: Resident,
    status: CaseStatus | GrantStatus,
    settings: Settings,
    now: datetime,
    take_quota: Callable[[str], bool] = lambda template_id: False,
) -> Channel:
    """The one channel by which `resident` is told of an event entering `status` (see the module docstring).

    `take_quota(template_id)` uses one of the resident's allowed mini-program subscribe messages.
    """
    mini_template = settings.mini_template_for(status) if resident.mini_openid else None
    if mini_template and take_quota(mini_template):
        return Channel(CHANNEL_MINI, template_id=mini_template)
    if not resident.openid:
        return Channel(CHANNEL_MINI, unreachable=NO_MINI_QUOTA)
    if not resident.is_follower and resident.unfollowed_at is not None:
        # After an unfollow WeChat refuses both kinds (43004); their last message, however recent,
        # was written while they still followed, so the 48-hour window does not help either.
        return Channel(CHANNEL_CUSTOMER_SERVICE, unreachable=UNFOLLOWED)
    template_id = settings.template_for(status) if resident.is_follower else None
    if template_id:
        return Channel(CHANNEL_TEMPLATE, template_id=template_id)
    if in_session_window(resident, now):
        return Channel(CHANNEL_CUSTOMER_SERVICE)
    reason = SILENT_NO_TEMPLATE if resident.is_follower else SILENT_NOT_FOLLOWING
    return Channel(CHANNEL_CUSTOMER_SERVICE, unreachable=reason)


def template_of(settings: Settings, channel: str, status: CaseStatus | GrantStatus) -> str | None:
    """The template a notification recorded on `channel` is sent with now; None for free text (or none configured)."""
    if channel == CHANNEL_TEMPLATE:
        return settings.template_for(status)
    if channel == CHANNEL_MINI:
        return settings.mini_template_for(status)
    return None


def in_session_window(resident: Resident, now: datetime) -> bool:
    """Whether WeChat still accepts customer-service messages to `resident` at `now`."""
    return resident.last_message_at is not None and now - resident.last_message_at < SESSION_WINDOW


def message_about(event: CaseEvent | GrantEvent, settings: Settings, *, reporter: bool = True) -> Message:
    """What a resident is told about `event` (a case's move, a grant application's move or reminder), per channel.

    `reporter` False: a follower of the case who did not report it (core/notices.py words it for them).
    """
    if isinstance(event, GrantEvent):
        grant = event.application
        text, page = grant_notice(grant, event), f"{GRANT_PAGE}?id={grant.id}"
        mini, template = grant_mini_data(grant, event, settings), grant_template_data(grant, event, settings)
    else:
        case = event.case
        text, page = status_notice(case, event, reporter=reporter), f"{settings.wechat_mini_page}?number={case.number}"
        mini = mini_data(case, event, settings, reporter=reporter)
        template = template_data(case, event, settings, reporter=reporter)
    return Message(event=event, text=text, mini_page=page, mini_fields=mini, template_fields=template)


def mini_data(case: Case, event: CaseEvent, settings: Settings, *, reporter: bool = True) -> dict[str, dict[str, Any]]:
    """The subscribe message's fields; WeChat caps `phrase` at 5 characters and `thing` at 20."""
    return {
        "character_string1": {"value": case.number},
        "phrase2": {"value": event.to_status.label[:5]},
        "time3": {"value": event.created_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")},
        "thing4": {"value": notice_body(event, reporter=reporter)[:20]},
    }


def template_data(
    case: Case, event: CaseEvent, settings: Settings, *, reporter: bool = True
) -> dict[str, dict[str, Any]]:
    """The standard fields of the status template: case number, status, time, and what happened."""
    return {
        "first": {"value": TEMPLATE_GREETING},
        "keyword1": {"value": case.number},
        "keyword2": {"value": event.to_status.label},
        "keyword3": {"value": event.created_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")},
        "remark": {"value": notice_body(event, reporter=reporter)},
    }


def _grant_time(event: GrantEvent, settings: Settings) -> str:
    return event.created_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


def grant_mini_data(application: GrantApplication, event: GrantEvent, settings: Settings) -> dict[str, dict[str, Any]]:
    """The subscribe message about a grant event; WeChat caps `phrase` at 5 characters and `thing` at 20."""
    phrase = GRANT_REMINDER if event.action == "remind" else event.to_status.short_label
    return {
        "character_string1": {"value": f"WG{application.id:06d}"},
        "phrase2": {"value": phrase},
        "time3": {"value": _grant_time(event, settings)},
        "thing4": {"value": (event.note or application.title)[:20]},
    }


def grant_template_data(
    application: GrantApplication, event: GrantEvent, settings: Settings
) -> dict[str, dict[str, Any]]:
    """The status template's fields about a grant event: the project, its status (or 报告提醒), time and note."""
    label = GRANT_REMINDER if event.action == "remind" else event.to_status.applicant_label
    return {
        "first": {"value": GRANT_TEMPLATE_GREETING},
        "keyword1": {"value": application.title},
        "keyword2": {"value": label},
        "keyword3": {"value": _grant_time(event, settings)},
        "remark": {"value": event.note or ""},
    }

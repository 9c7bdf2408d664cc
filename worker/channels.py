"""Which WeChat channel can reach a resident, and what a template message about a case says.

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

from core.models import Case, CaseEvent, Resident
from core.notices import notice_body
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


@dataclass(frozen=True)
class Route:
    """How to tell one resident about one event.

    `unreachable` set means: record a failed notification on `channel` with that reason, send nothing.
    """

    channel: str
    template_id: str | None = None
    unreachable: str | None = None


def choose_route(
    resident: Resident,
    event: CaseEvent,
    settings: Settings,
    now: datetime,
    take_quota: Callable[[str], bool] = lambda template_id: False,
) -> Route:
    """The one channel by which `resident` is told about `event` (see the module docstring).

    `take_quota(template_id)` uses one of the resident's allowed mini-program subscribe messages.
    """
    mini_template = settings.mini_template_for(event.to_status) if resident.mini_openid else None
    if mini_template and take_quota(mini_template):
        return Route(CHANNEL_MINI, template_id=mini_template)
    if not resident.openid:
        return Route(CHANNEL_MINI, unreachable=NO_MINI_QUOTA)
    if not resident.is_follower and resident.unfollowed_at is not None:
        # After an unfollow WeChat refuses both kinds (43004); their last message, however recent,
        # was written while they still followed, so the 48-hour window does not help either.
        return Route(CHANNEL_CUSTOMER_SERVICE, unreachable=UNFOLLOWED)
    template_id = settings.template_for(event.to_status) if resident.is_follower else None
    if template_id:
        return Route(CHANNEL_TEMPLATE, template_id=template_id)
    if in_session_window(resident, now):
        return Route(CHANNEL_CUSTOMER_SERVICE)
    reason = SILENT_NO_TEMPLATE if resident.is_follower else SILENT_NOT_FOLLOWING
    return Route(CHANNEL_CUSTOMER_SERVICE, unreachable=reason)


def in_session_window(resident: Resident, now: datetime) -> bool:
    """Whether WeChat still accepts customer-service messages to `resident` at `now`."""
    return resident.last_message_at is not None and now - resident.last_message_at < SESSION_WINDOW


def mini_data(case: Case, event: CaseEvent, settings: Settings) -> dict[str, dict[str, Any]]:
    """The subscribe message's fields; WeChat caps `phrase` at 5 characters and `thing` at 20."""
    return {
        "character_string1": {"value": case.number},
        "phrase2": {"value": event.to_status.label[:5]},
        "time3": {"value": event.created_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")},
        "thing4": {"value": notice_body(event)[:20]},
    }


def template_data(case: Case, event: CaseEvent, settings: Settings) -> dict[str, dict[str, Any]]:
    """The standard fields of the status template: case number, status, time, and what happened."""
    return {
        "first": {"value": TEMPLATE_GREETING},
        "keyword1": {"value": case.number},
        "keyword2": {"value": event.to_status.label},
        "keyword3": {"value": event.created_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")},
        "remark": {"value": notice_body(event)},
    }

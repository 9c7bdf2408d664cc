"""Events: following and unfollowing, scanned signs, menu clicks, and the periodic location report."""

from __future__ import annotations

from typing import Any

from bot import reports, texts
from bot.turn import Handler, Turn
from core.geo import Point
from core.glossary import CoordSystem
from core.models.base import utcnow
from core.services import patrol, resident_cases
from core.services.assignees import record_position
from core.services.checkpoints import Scanned, resolve_scene, resolve_url
from core.services.privacy_consents import LOCATION, consent_state
from core.settings import Settings

CHECKED_IN = "已签到：{name}（{time}）。如需上报问题，请直接拍照发送。"


def _follow(turn: Turn) -> None:
    resident = turn.resident
    if not resident.is_follower:
        resident.is_follower = True
        resident.followed_at = utcnow()
        resident.unfollowed_at = None


def at_checkpoint(turn: Turn, message: Any, scanned: Scanned) -> str:
    """A scanned sign: staff bound to this WeChat check in there if it is in their area; others report."""
    if scanned.valid and scanned.checkpoint is not None:
        staff = patrol.staff_for_openid(turn.session, message.source)
        if staff is not None and patrol.may_check_in(staff, scanned.checkpoint):
            check_in = patrol.record_check_in(turn.session, staff, scanned.checkpoint, source="wechat")
            at = check_in.at.astimezone(turn.settings.tz).strftime("%H:%M")
            # Placed at the checkpoint too, so that a photo the officer sends next is a report from there.
            reports.start_at_checkpoint(turn, scanned)
            return CHECKED_IN.format(name=scanned.checkpoint.name, time=at)
    return reports.start_at_checkpoint(turn, scanned)


def on_subscribe(turn: Turn, message: Any) -> str:
    _follow(turn)
    return texts.welcome(turn.settings)


def on_subscribe_scan(turn: Turn, message: Any) -> str:
    """A non-follower scanned an account QR: they follow now, and the scene may be a checkpoint."""
    _follow(turn)
    scanned = resolve_scene(turn.session, turn.settings, message.scene_id)
    if scanned is None:
        return texts.welcome(turn.settings)
    return "欢迎关注！" + at_checkpoint(turn, message, scanned)


def on_scan(turn: Turn, message: Any) -> str | None:
    scanned = resolve_scene(turn.session, turn.settings, message.scene_id)
    return at_checkpoint(turn, message, scanned) if scanned else None


def on_unsubscribe(turn: Turn, message: Any) -> None:
    resident = turn.resident
    resident.is_follower = False
    resident.unfollowed_at = utcnow()
    return None  # WeChat shows nothing to someone who just left


def on_location(turn: Turn, message: Any) -> None:
    resident = turn.resident
    try:
        lat, lng = float(message.latitude), float(message.longitude)
    except (TypeError, ValueError):
        return None  # not a position: nothing to keep
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None  # math.nan fails these comparisons too
    staff = patrol.staff_for_openid(turn.session, resident.openid)
    if staff is not None and not staff.on_duty:
        # A staff member's phone keeps reporting after work: off duty, where they are is nobody's
        # business, as a worker nor as a resident (docs/privacy.md, Minimum exposure).
        return None
    if staff is None and not consent_state(turn.session, turn.settings, resident).allows(LOCATION):
        return None  # a resident's precise position is kept only with their separate consent (PIPL art. 29)
    resident.last_lat, resident.last_lng = lat, lng
    resident.last_coord_system = CoordSystem.GCJ02
    resident.last_located_at = utcnow()
    if staff is not None:
        # A bound staff member's phone reports where they are: the dispatcher's nearest-worker list uses it.
        record_position(staff, Point(lat, lng, CoordSystem.GCJ02))
    return None  # WeChat expects nothing but `success` for this report


def fixed_click(key: str, settings: Settings) -> str | None:
    """Menu buttons whose answer is the same for everyone: bot/dialogue.py answers them without a turn."""
    if key == "HELP":
        return texts.help_text(settings)
    if key == "REPORT":
        return texts.REPORT_HOWTO
    return None


def on_click(turn: Turn, message: Any) -> str | None:
    if message.key == "MY_CASES":
        return texts.case_list(resident_cases.my_cases(turn.session, turn.resident, limit=5), turn.settings.tz)
    return None


def on_scancode_waitmsg(turn: Turn, message: Any) -> str:
    """A sign scanned with the menu's scanner: the result is the sign's URL."""
    try:
        scanned = message.scan_result
    except (KeyError, TypeError):
        return texts.NOT_A_CHECKPOINT
    return at_checkpoint(turn, message, resolve_url(turn.session, turn.settings, scanned))


HANDLERS: dict[str, Handler] = {
    "subscribe": on_subscribe,
    "subscribe_scan": on_subscribe_scan,
    "scan": on_scan,
    "unsubscribe": on_unsubscribe,
    "location": on_location,
    "click": on_click,
    "scancode_waitmsg": on_scancode_waitmsg,
}

"""Building a report in the chat: photos, place, description, attachments, category; and submitting it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot import texts
from bot.turn import Handler, Turn
from core.codes import Verdict
from core.errors import InvalidInput
from core.glossary import CaseSource, CoordSystem
from core.models import Case, Category
from core.models.base import utcnow
from core.services.checkpoints import Scanned
from core.services.intake import MAX_ATTACHMENTS, MAX_DESCRIPTION, MAX_PHOTOS, ReportInput, submit_report
from core.services.privacy_consents import LOCATION, acknowledge, consent_state, record_consent, report_record
from core.services.suggest import suggest_categories
from core.text import clean

# A LOCATION event this recent stands in for a location message the resident did not send.
RECENT_POSITION = timedelta(minutes=30)


def _not_agreed(turn: Turn) -> str | None:
    """The notice prompt while the resident has not agreed in the chat; nothing of the message is kept then.

    「同意」 in the chat acknowledges the current notice and gives the separate consent to the position
    they send (a precise position, PIPL art. 29), so a chat report needs both.
    """
    if consent_state(turn.session, turn.settings, turn.resident).allows(LOCATION):
        return None
    return texts.consent_prompt(turn.settings)


def agree(turn: Turn) -> str:
    """「同意」 after reading the notice: recorded with the notice's version, with the position scope."""
    version = turn.settings.privacy_notice_version
    acknowledge(turn.session, turn.settings, turn.resident, version=version, channel="wechat", scopes=[LOCATION])
    return texts.AGREED.format(version=version)


def withdraw(turn: Turn) -> str:
    """「撤回同意」: every separate consent ends now (the notice stays read); the draft goes with it."""
    state = consent_state(turn.session, turn.settings, turn.resident)
    if not state.scopes:
        return texts.NOTHING_TO_WITHDRAW
    record_consent(
        turn.session, turn.settings, turn.resident, version=state.current_version, scopes=(), channel="wechat"
    )
    turn.report = ReportInput()
    return texts.WITHDRAWN


def on_image(turn: Turn, message: Any) -> str:
    if prompt := _not_agreed(turn):
        return prompt
    turn.draft_only = True
    report = turn.report
    if message.media_id not in report.wechat_media_ids:
        if len(report.wechat_media_ids) >= MAX_PHOTOS:
            return f"照片最多 {MAX_PHOTOS} 张，这张没有加入。" + texts.next_step(report)
        report.wechat_media_ids.append(message.media_id)
    return f"已收到照片（共 {len(report.wechat_media_ids)} 张）。" + texts.next_step(report)


def on_location(turn: Turn, message: Any) -> str:
    if prompt := _not_agreed(turn):
        return prompt
    turn.draft_only = True
    try:
        lat, lng = float(message.location_x), float(message.location_y)
    except (TypeError, ValueError):
        return texts.BAD_LOCATION
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return texts.BAD_LOCATION
    report = turn.report
    report.lat, report.lng = lat, lng
    report.coord_system = CoordSystem.GCJ02  # WeChat's location messages are GCJ-02
    report.location_label = clean(message.label, 256) or None
    return f"已记录位置：{report.location_label or f'{lat:.5f}, {lng:.5f}'}。" + texts.next_step(report)


def _attach(turn: Turn, kind: str, media_id: str, fmt: str | None) -> bool:
    report = turn.report
    if any(a["media_id"] == media_id for a in report.attachments):
        return True
    if len(report.attachments) >= MAX_ATTACHMENTS:
        return False
    report.attachments.append({"kind": kind, "media_id": media_id, "format": fmt or ""})
    return True


def on_voice(turn: Turn, message: Any) -> str:
    if prompt := _not_agreed(turn):
        return prompt
    turn.draft_only = True
    _attach(turn, "voice", message.media_id, message.format)
    recognition = clean(getattr(message, "recognition", None))
    if recognition:
        return describe(turn, recognition, prefix="已收到语音并转为文字。")
    return texts.VOICE_WITHOUT_TEXT


def on_video(turn: Turn, message: Any) -> str:
    if prompt := _not_agreed(turn):
        return prompt
    turn.draft_only = True
    if not _attach(turn, "video", message.media_id, "video/mp4"):
        return f"视频和语音最多 {MAX_ATTACHMENTS} 个，这个没有加入。" + texts.next_step(turn.report)
    return "已收到视频。" + texts.next_step(turn.report)


def on_link(turn: Turn, message: Any) -> str:
    if prompt := _not_agreed(turn):
        return prompt
    turn.draft_only = True
    title, url = clean(message.title, 200), clean(message.url, 500)
    return describe(turn, f"{title} {url}".strip(), prefix="已收到链接。")


def describe(turn: Turn, text: str, prefix: str = "已记录问题描述。") -> str:
    """Add `text` to the description, and suggest a category unless the resident chose one."""
    if prompt := _not_agreed(turn):
        return prompt
    turn.draft_only = True
    report = turn.report
    combined = f"{report.description}\n{text}" if report.description else text
    report.description = combined[:MAX_DESCRIPTION]
    line = ""
    if not report.category_chosen:
        suggestions = suggest_categories(turn.session, report.description, limit=3)
        report.suggested_codes = [c.code for c in suggestions]
        report.category_code = suggestions[0].code if suggestions else None
        line = texts.category_line(suggestions[0] if suggestions else None, suggestions[1:])
    return prefix + line + texts.next_step(report)


def choose_category(turn: Turn, number: int) -> str:
    """The resident picked suggestion `number` (1 is the one already chosen)."""
    turn.draft_only = True
    report = turn.report
    if not 1 <= number <= len(report.suggested_codes):
        return "没有这个序号。" + texts.next_step(report)
    code = report.suggested_codes[number - 1]
    category = turn.session.scalar(select(Category).where(Category.code == code))
    report.category_code, report.category_chosen = code, True
    return f"问题类别已改为：{category.name if category else code}。" + texts.next_step(report)


def start_at_checkpoint(turn: Turn, scanned: Scanned) -> str:
    """A scanned sign: the draft is placed at the checkpoint (what was gathered so far is kept)."""
    if prompt := _not_agreed(turn):
        return prompt
    if scanned.verdict is Verdict.REPLACED:
        return texts.SIGN_REPLACED
    if not scanned.valid or scanned.checkpoint is None:
        return texts.NOT_A_CHECKPOINT
    checkpoint = scanned.checkpoint
    report = turn.report
    report.checkpoint_label = checkpoint.label
    report.lat = report.lng = None  # the checkpoint is the place now
    report.coord_system = None
    report.location_label = checkpoint.name
    return texts.at_checkpoint(checkpoint)


def submit(turn: Turn, message: Any) -> str:
    """「提交」: the draft becomes a case in this transaction, and the draft is emptied with it."""
    intake_key = f"wx:{message.id}"
    report = turn.report
    if report.is_empty():
        # WeChat's late retry of a 提交 that made its case finds the draft emptied by it.
        existing = turn.session.scalar(select(Case).where(Case.intake_key == intake_key))
        return texts.submitted(existing) if existing is not None else texts.NOTHING_TO_SUBMIT
    state = consent_state(turn.session, turn.settings, turn.resident)
    if not state.allows(LOCATION):
        # A draft begun before the notice changed (or before consent was asked at all): ask first.
        return texts.consent_prompt(turn.settings)
    report.privacy = report_record(state)
    resident = turn.resident
    if report.lat is None and report.checkpoint_label is None and resident.last_lat is not None:
        recent = resident.last_located_at and resident.last_located_at > utcnow() - RECENT_POSITION
        if recent:
            report.lat, report.lng = resident.last_lat, resident.last_lng
            report.coord_system = resident.last_coord_system
            report.location_label = report.location_label or "（自动获取的位置）"
    problems = report.problems()
    if problems:
        return "还不能提交：" + "；".join(problems) + "。"
    try:
        case, _created = submit_report(
            turn.session,
            turn.settings,
            resident=resident,
            report=report,
            source=CaseSource.WECHAT,
            intake_key=intake_key,
        )
    except InvalidInput as exc:
        return f"还不能提交：{exc.message}"
    turn.start_over()
    return texts.submitted(case)


HANDLERS: dict[str, Handler] = {
    "image": on_image,
    "location": on_location,
    "voice": on_voice,
    "video": on_video,
    "shortvideo": on_video,
    "link": on_link,
}

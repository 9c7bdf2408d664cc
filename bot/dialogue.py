"""The report dialogue: messages build a draft, 「提交」 turns it into a case; each message counts once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from wechatpy.messages import BaseMessage

from core.context import AppContext
from core.db import UnitOfWork
from core.errors import InvalidInput
from core.glossary import CaseSource, CoordSystem
from core.models import Case, Resident
from core.services import drafts
from core.services.intake import MAX_DESCRIPTION, MAX_PHOTOS, ReportInput, submit_report
from core.services.residents import resident_for_openid

SUBMIT_WORDS = {"提交", "确认提交"}
CANCEL_WORDS = {"取消", "重新开始"}
HELP_WORDS = {"帮助", "help", "?", "？"}

HELP = (
    "随手拍 · 共治：发现身边的问题，三步就能上报：\n"
    "1. 拍照发送（最多 9 张）\n"
    "2. 发送位置（点「+」→「位置」）\n"
    "3. 用文字描述问题\n"
    "最后回复「提交」。回复「取消」可重新开始。"
)
WELCOME = "欢迎关注！这里可以随时上报身边的问题，并收到处理进展。\n" + HELP


def message_key(message: BaseMessage) -> str:
    """What makes a delivery the same message: MsgId, or sender + time + event (+ key) for events."""
    if message.id:
        return f"msg:{message.id}"
    event = getattr(message, "event", "") or message.type
    event_key = getattr(message, "key", None) or ""
    return f"evt:{message.source}:{message.time}:{event}:{event_key}"


def _next_step(draft: ReportInput) -> str:
    missing = []
    if not draft.wechat_media_ids:
        missing.append("照片")
    if draft.lat is None and draft.checkpoint_code is None:
        missing.append("位置")
    if not draft.description:
        missing.append("文字描述")
    if missing:
        return f"还可以发送：{'、'.join(missing)}。准备好后回复「提交」。"
    return "信息已齐全，回复「提交」即可上报。"


class Dialogue:
    """Answers one resident message in one transaction: the draft row is locked, changed and committed.

    A retried message (same key) finds its earlier reply in the draft and changes nothing; a
    retried 「提交」 finds the case it made. Nothing here needs Redis, so an outage of Redis
    delays the photo jobs but never a resident's report.
    """

    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.ttl = context.settings.draft_ttl_seconds

    def answer(self, message: BaseMessage) -> str | None:
        """The reply text for `message`; None means acknowledge with `success`."""
        if message.type == "event":
            return self._on_event(message)
        if message.type not in ("text", "image", "location", "voice"):
            return None
        key = message_key(message)
        with self.context.uow() as uow:
            resident = resident_for_openid(uow.session, message.source)
            resident.is_follower = True
            if message.type == "text" and (message.content or "").strip() in SUBMIT_WORDS:
                return self._submit(uow, resident, message)
            draft = drafts.lock_draft(uow.session, resident, self.ttl)
            if key in draft.replies:
                return draft.replies[key]
            report = drafts.report_of(draft)
            if message.type == "text" and (message.content or "").strip() in CANCEL_WORDS:
                report, reply = ReportInput(), "已清空，您可以重新开始上报。"
            else:
                reply = self._apply(message, report)
            drafts.save(draft, report, key, reply)
            uow.commit()
            return reply

    def _apply(self, message: Any, report: ReportInput) -> str:
        """Change `report` by what `message` brings; return the reply."""
        if message.type == "image":
            return self._photo(report, message.media_id)
        if message.type == "location":
            return self._place(report, message)
        text = (message.content or "").strip() if message.type == "text" else ""
        if message.type == "voice":
            text = (getattr(message, "recognition", None) or "").strip()
            if not text:
                return "收到语音。为便于处理，请用文字描述问题。"
        if text.lower() in HELP_WORDS or not text:
            return HELP
        combined = f"{report.description}\n{text}".strip() if report.description else text
        report.description = combined[:MAX_DESCRIPTION]
        return "已记录问题描述。" + _next_step(report)

    def _photo(self, report: ReportInput, media_id: str) -> str:
        if media_id not in report.wechat_media_ids:
            if len(report.wechat_media_ids) >= MAX_PHOTOS:
                return f"照片最多 {MAX_PHOTOS} 张，这张没有加入。" + _next_step(report)
            report.wechat_media_ids.append(media_id)
        return f"已收到照片（共 {len(report.wechat_media_ids)} 张）。" + _next_step(report)

    def _place(self, report: ReportInput, message: Any) -> str:
        try:
            lat, lng = float(message.location_x), float(message.location_y)
        except (TypeError, ValueError):
            return "没能识别这个位置，请重新发送。"
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            return "没能识别这个位置，请重新发送。"
        report.lat, report.lng = lat, lng
        report.coord_system = CoordSystem.GCJ02  # WeChat's location messages are GCJ-02
        report.location_label = (message.label or "")[:256] or None
        return f"已记录位置：{report.location_label or f'{lat:.5f}, {lng:.5f}'}。" + _next_step(report)

    def _on_event(self, message: Any) -> str | None:
        if message.event in ("subscribe", "subscribe_scan"):
            with self.context.uow() as uow:
                resident = resident_for_openid(uow.session, message.source)
                if not resident.is_follower:
                    resident.is_follower = True
                    resident.followed_at = resident.last_message_at
                uow.commit()
            return WELCOME
        return None

    def _submit(self, uow: UnitOfWork, resident: Resident, message: Any) -> str:
        intake_key = f"wx:{message.id}"
        existing = uow.session.scalar(select(Case).where(Case.intake_key == intake_key))
        if existing is not None:
            return _submitted(existing)
        draft = drafts.lock_draft(uow.session, resident, self.ttl)
        report = drafts.report_of(draft)
        if not (report.wechat_media_ids or report.description or report.lat is not None):
            return "还没有要提交的内容。\n" + HELP
        problems = report.problems()
        if problems:
            return "还不能提交：" + "；".join(problems) + "。"
        drafts.clear(draft)  # committed together with the case, or not at all
        try:
            case, _created = submit_report(
                uow,
                self.context.settings,
                resident=resident,
                report=report,
                source=CaseSource.WECHAT,
                intake_key=intake_key,
            )
        except InvalidInput as exc:
            return f"还不能提交：{exc.message}"
        return _submitted(case)


def _submitted(case: Case) -> str:
    return f"提交成功！案件编号 {case.number}。处理进展会通过本公众号通知您。"

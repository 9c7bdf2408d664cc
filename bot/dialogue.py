"""The report dialogue: messages build a draft in Redis, 「提交」 turns it into a case."""

from __future__ import annotations

import time
from typing import Any

from wechatpy.messages import BaseMessage

from bot.drafts import DraftStore
from core.context import AppContext
from core.errors import InvalidInput
from core.glossary import CaseSource, CoordSystem
from core.services.intake import MAX_DESCRIPTION, MAX_PHOTOS, ReportInput, submit_report
from core.services.residents import resident_for_openid

SEEN_KEY = "gongzhi:wx:seen:{key}"
SEEN_TTL = 24 * 3600
PENDING = b"\x00pending"
RETRY_WAIT_SECONDS = 4.0  # WeChat gives 5 s; answer the retry with the first delivery's reply if it comes

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
    """Answers one resident message; the only state is the draft and the replay record in Redis."""

    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.drafts = DraftStore(context.redis, context.settings.draft_ttl_seconds)

    def answer(self, message: BaseMessage) -> str | None:
        """The reply text for `message` (None: acknowledge with `success`); each message handled once."""
        seen = SEEN_KEY.format(key=message_key(message))
        redis = self.context.redis
        if not redis.set(seen, PENDING, nx=True, ex=SEEN_TTL):
            return self._earlier_reply(seen)
        try:
            reply = self._handle(message)
        except BaseException:
            redis.delete(seen)  # not handled: let WeChat's retry try again
            raise
        redis.set(seen, (reply or "").encode(), ex=SEEN_TTL)
        return reply

    def _earlier_reply(self, seen: str) -> str | None:
        deadline = time.monotonic() + RETRY_WAIT_SECONDS
        while True:
            stored = self.context.redis.get(seen)
            if stored != PENDING or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if not stored or stored == PENDING:
            return None
        return stored.decode()

    def _handle(self, message: BaseMessage) -> str | None:
        handler = getattr(self, f"_on_{message.type}", None)
        if message.type == "event":
            handler = getattr(self, f"_on_event_{message.event}", None)
        return handler(message) if handler else None

    def _on_text(self, message: Any) -> str:
        text = (message.content or "").strip()
        if text in SUBMIT_WORDS:
            return self._submit(message)
        if text in CANCEL_WORDS:
            self.drafts.discard(message.source)
            return "已清空，您可以重新开始上报。"
        if text.lower() in HELP_WORDS:
            return HELP
        return self._describe(message.source, text)

    def _describe(self, openid: str, text: str) -> str:
        if not text:
            return HELP

        def add(draft: ReportInput) -> None:
            combined = f"{draft.description}\n{text}".strip() if draft.description else text
            draft.description = combined[:MAX_DESCRIPTION]

        draft = self.drafts.update(openid, add)
        return "已记录问题描述。" + _next_step(draft)

    def _on_image(self, message: Any) -> str:
        full = {"value": False}

        def add(draft: ReportInput) -> None:
            if message.media_id in draft.wechat_media_ids:
                return
            if len(draft.wechat_media_ids) >= MAX_PHOTOS:
                full["value"] = True
                return
            draft.wechat_media_ids.append(message.media_id)

        draft = self.drafts.update(message.source, add)
        if full["value"]:
            return f"照片最多 {MAX_PHOTOS} 张，这张没有加入。" + _next_step(draft)
        return f"已收到照片（共 {len(draft.wechat_media_ids)} 张）。" + _next_step(draft)

    def _on_location(self, message: Any) -> str:
        try:
            lat, lng = float(message.location_x), float(message.location_y)
        except (TypeError, ValueError):
            return "没能识别这个位置，请重新发送。"
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            return "没能识别这个位置，请重新发送。"

        def put(draft: ReportInput) -> None:
            draft.lat, draft.lng = lat, lng
            draft.coord_system = CoordSystem.GCJ02  # WeChat's location messages are GCJ-02
            draft.location_label = (message.label or "")[:256] or None

        draft = self.drafts.update(message.source, put)
        return f"已记录位置：{draft.location_label or f'{lat:.5f}, {lng:.5f}'}。" + _next_step(draft)

    def _on_voice(self, message: Any) -> str:
        recognition = (getattr(message, "recognition", None) or "").strip()
        if recognition:
            return self._describe(message.source, recognition)
        return "收到语音。为便于处理，请用文字描述问题。"

    def _on_event_subscribe(self, message: Any) -> str:
        return WELCOME

    def _submit(self, message: Any) -> str:
        openid = message.source
        draft = self.drafts.get(openid)
        if not (draft.wechat_media_ids or draft.description or draft.lat is not None):
            return "还没有要提交的内容。\n" + HELP
        problems = draft.problems()
        if problems:
            return "还不能提交：" + "；".join(problems) + "。"
        with self.context.uow() as uow:
            resident = resident_for_openid(uow.session, openid)
            resident.is_follower = True
            try:
                case, _created = submit_report(
                    uow,
                    self.context.settings,
                    resident=resident,
                    report=draft,
                    source=CaseSource.WECHAT,
                    intake_key=f"wx:{message.id}",
                )
            except InvalidInput as exc:
                return f"还不能提交：{exc.message}"
        self.drafts.discard(openid)
        return f"提交成功！案件编号 {case.number}。处理进展会通过本公众号通知您。"

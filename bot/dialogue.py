"""The conversation with one resident: each message is handled once, in one transaction, under a row lock."""

from __future__ import annotations

from typing import Any

from wechatpy.messages import BaseMessage

from bot import commands, events, reports
from bot.turn import Handler, Turn
from core.context import AppContext
from core.db import commit_without_waiting
from core.services import drafts
from core.services.notifications import record_delivery
from core.services.residents import resident_for_openid
from core.text import clean

# Each message type's handler; events have their own table, by event.
HANDLERS: dict[str, Handler] = {**commands.HANDLERS, **reports.HANDLERS}
# Events WeChat sends on its own (the periodic position): they neither confirm nor cancel a request to erase.
PASSIVE_EVENTS = {"location"}


def message_key(message: BaseMessage) -> str:
    """What makes a delivery the same message: MsgId, or sender + time + event (+ key) for events."""
    if message.id:
        return f"msg:{message.id}"
    event = getattr(message, "event", "") or message.type
    event_key = getattr(message, "key", None) or getattr(message, "scene_id", None) or ""
    # No sender: the key is only looked up in the sender's own draft, and an openid kept in it would
    # be an openid outside the residents table.
    return f"evt:{message.time}:{event}:{event_key}"


class Dialogue:
    """Answers resident messages; the conversation's only state is its draft row in the database.

    The draft row is locked for the whole message, so a resident's photos sent at once apply one
    at a time; the reply to each message is kept in the row, so WeChat's retry of a message gets
    the same answer and changes nothing. Nothing here needs Redis or the network.
    """

    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.ttl = context.settings.draft_ttl_seconds

    @staticmethod
    def _handler_for(message: BaseMessage) -> Handler | None:
        if message.type == "event":
            return events.HANDLERS.get(getattr(message, "event", ""))
        return HANDLERS.get(message.type)

    def answer(self, message: BaseMessage) -> str | None:
        """The reply text for `message`; None means acknowledge with `success`."""
        if message.type == "event" and getattr(message, "event", "") == "templatesendjobfinish":
            self._record_delivery(message)
            return None
        fixed = self._fixed_reply(message)
        if fixed is not None:
            # The same words for everyone whatever their draft holds, and answering twice changes
            # nothing: the busiest messages cost no more than parsing them. They do not count as
            # contact for the 48-hour customer-service window; every other message does.
            return fixed
        handler = self._handler_for(message)
        if handler is None:
            return None
        key = message_key(message)
        with self.context.uow() as uow:
            resident = resident_for_openid(uow.session, message.source)
            conversation = drafts.lock_draft(uow.session, resident, self.ttl)
            if key in conversation.replies:
                return conversation.replies[key] or None
            turn = Turn(
                uow, self.context.settings, self.context.redis, resident, conversation, drafts.report_of(conversation)
            )
            turn.erase_asked_at = conversation.erase_asked_at
            if message.type == "event" and getattr(message, "event", "") in PASSIVE_EVENTS:
                turn.erase_pending = turn.erase_asked_at
            reply = handler(turn, message)
            if turn.erased:
                # The erasure deleted the draft row with everything else; nothing is written back.
                uow.session.expunge(conversation)
                uow.commit()
                return reply
            conversation.erase_asked_at = turn.erase_pending
            if turn.submitted:
                # The draft became a case: its photos and its remembered replies go with it.
                drafts.clear(conversation)
            drafts.save(conversation, turn.report, key, reply or "")
            if turn.draft_only:
                # A database crash right now would cost the resident this photo or sentence, which
                # they would see missing before submitting; a disk flush per message would cap the
                # chat's rate. A submission, a rating or a binding always waits for the flush.
                commit_without_waiting(uow.session)
            uow.commit()
            return reply

    def _fixed_reply(self, message: BaseMessage) -> str | None:
        if message.type == "text":
            return commands.fixed_reply(clean(message.content), self.context.settings)
        if message.type == "event" and getattr(message, "event", "") == "click":
            return events.fixed_click(getattr(message, "key", ""), self.context.settings)
        return None

    def _record_delivery(self, message: Any) -> None:
        # WeChat says whether a template message arrived; recording it twice changes nothing.
        with self.context.uow() as uow:
            record_delivery(uow.session, str(message.id), message.status or "")
            uow.commit()

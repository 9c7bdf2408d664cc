"""Tell every follower of a case that it moved: one message per (event, resident), on one channel."""

from __future__ import annotations

from core.models import CaseEvent
from worker import runtime
from worker.channels import message_about
from worker.delivery import notify_resident


def notify_case_event(event_id: int, case_id: int | None = None) -> int:
    """Send the followers of the event's case a WeChat message about it; returns how many were sent.

    The reporter and the other followers are worded apart (core/notices.py). Each follower is told
    once, on the channel worker.channels chooses for them (worker/delivery.py): a retried job sends
    only what is still missing, and never what may already have arrived.
    """
    rt = runtime.current()
    sent = 0
    with rt.database.session() as session:
        event = session.get(CaseEvent, event_id)
        if event is None:
            return 0
        # The reporter may answer 未解决 or rate; a follower is told the same news without that invitation.
        own = message_about(event, rt.settings)
        followers = message_about(event, rt.settings, reporter=False)
        for resident in event.case.followers:
            message = own if resident.id == event.case.reporter_id else followers
            if notify_resident(session, rt, message, resident):
                sent += 1
    return sent

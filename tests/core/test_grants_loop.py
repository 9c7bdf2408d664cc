"""The grant application loop walks the issue's table exactly: every allowed move, every forbidden one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import outbox
from core.errors import ForbiddenTransition
from core.grants import loop
from core.grants.terms import GrantStatus
from core.models import GrantEvent, OutboxMessage
from tests.support import grants as gh

S = GrantStatus

# The issue: draft → submitted → in review → more information asked ⇄ resubmitted → approved /
# declined → in progress → completed, or withdrawn at any point before approval. Written out again.
TABLE = {
    S.DRAFT: {S.SUBMITTED, S.WITHDRAWN},
    S.SUBMITTED: {S.IN_REVIEW, S.WITHDRAWN},
    S.IN_REVIEW: {S.INFO_REQUESTED, S.APPROVED, S.DECLINED, S.WITHDRAWN},
    S.INFO_REQUESTED: {S.RESUBMITTED, S.WITHDRAWN},
    S.RESUBMITTED: {S.IN_REVIEW, S.INFO_REQUESTED, S.APPROVED, S.DECLINED, S.WITHDRAWN},
    S.APPROVED: {S.IN_PROGRESS},
    S.DECLINED: set(),
    S.IN_PROGRESS: {S.COMPLETED},
    S.COMPLETED: set(),
    S.WITHDRAWN: set(),
}
MOVES = [(a, b, b in TABLE[a]) for a in S for b in S]


def test_the_table_is_the_issue_s():
    assert {status: set(next_) for status, next_ in loop.ALLOWED.items()} == TABLE


@pytest.mark.parametrize(("from_status", "to_status", "allowed"), MOVES, ids=[f"{a}->{b}" for a, b, _ in MOVES])
def test_every_move(session, from_status, to_status, allowed):
    grant_round = gh.open_round(session)
    app = gh.at_status(session, gh.application(session, grant_round), from_status)
    session.commit()
    if allowed:
        event = loop.transition(session, app, to_status, action="test", note="备注")
        session.commit()
        assert app.status == to_status
        assert (event.from_status, event.to_status, event.note) == (from_status, to_status, "备注")
        messages = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == outbox.GRANT_STATUS_CHANGED))
        assert [m.payload for m in messages] == [{"grant_event_id": event.id}]
    else:
        with pytest.raises(ForbiddenTransition) as raised:
            loop.transition(session, app, to_status, action="test")
        assert from_status.label in raised.value.message
        session.rollback()
        assert session.get(type(app), app.id).status == from_status
        assert session.scalars(select(GrantEvent)).all() == []
        assert session.scalars(select(OutboxMessage)).all() == []


def test_every_status_has_a_label_for_staff_and_one_for_the_applicant():
    for status in S:
        assert status.label and status.applicant_label
        assert not status.label.isascii() and not status.applicant_label.isascii()

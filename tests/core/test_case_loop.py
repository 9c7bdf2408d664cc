"""The case state machine walks DESIGN.md's table exactly: every allowed move, every forbidden one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import case_loop
from core.errors import ForbiddenTransition
from core.glossary import CaseStatus
from core.models import CaseEvent, OutboxMessage
from tests.support import factories

S = CaseStatus

# DESIGN.md, "The case loop", column "next" — written out again here on purpose, from the document.
DESIGN_TABLE = {
    S.REPORTED: {S.ACCEPTED, S.REJECTED, S.DUPLICATE},
    S.ACCEPTED: {S.DISPATCHED},
    S.DISPATCHED: {S.HANDLED, S.DISPATCHED},
    S.HANDLED: {S.VERIFIED, S.DISPATCHED},
    S.VERIFIED: {S.CLOSED},
    S.CLOSED: {S.EVALUATED, S.DISPATCHED},
    S.EVALUATED: set(),
    S.REJECTED: set(),
    S.DUPLICATE: set(),
}
ALL_MOVES = [(a, b, b in DESIGN_TABLE[a]) for a in CaseStatus for b in CaseStatus]


@pytest.mark.parametrize(
    ("from_status", "to_status", "allowed"), ALL_MOVES, ids=[f"{a.value}->{b.value}" for a, b, _ in ALL_MOVES]
)
def test_every_move_of_the_table(session, settings, from_status, to_status, allowed):
    case = factories.case(session, settings, status=from_status)
    session.commit()
    events_before = len(session.scalars(select(CaseEvent)).all())
    if allowed:
        event = case_loop.transition(session, case, to_status, action="test", note="备注")
        session.commit()
        assert case.status == to_status
        assert (event.from_status, event.to_status, event.note) == (from_status, to_status, "备注")
        outbox = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        # An accepted case is also pushed to the district's platform (a no-op without PLATFORM_URL).
        pushed = [("case.platform_push", event.id)] if to_status == S.ACCEPTED else []
        assert [(m.topic, m.payload["event_id"]) for m in outbox] == [("case.status_changed", event.id), *pushed]
    else:
        with pytest.raises(ForbiddenTransition) as raised:
            case_loop.transition(session, case, to_status, action="test")
        assert from_status.label in raised.value.message
        session.rollback()
        session.refresh(case)
        assert case.status == from_status
        assert len(session.scalars(select(CaseEvent)).all()) == events_before
        assert session.scalars(select(OutboxMessage)).all() == []


def test_the_table_in_code_is_the_design_table():
    assert {k: set(v) for k, v in case_loop.ALLOWED.items()} == DESIGN_TABLE


def test_timeline_entries_cannot_be_changed_or_deleted(session, settings):
    case = factories.case(session, settings)
    event = case_loop.transition(session, case, S.ACCEPTED, action="accept")
    session.commit()
    event.note = "改写历史"
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()
    session.delete(session.get(CaseEvent, event.id))
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()


def test_first_entry_of_each_status_is_stamped_once(session, settings):
    case = factories.case(session, settings, status=S.ACCEPTED)
    case_loop.transition(session, case, S.DISPATCHED, action="dispatch")
    first = case.dispatched_at
    case_loop.transition(session, case, S.DISPATCHED, action="escalate")
    assert case.dispatched_at == first is not None

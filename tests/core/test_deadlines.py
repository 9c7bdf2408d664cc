"""The deadline sweep: a warning at 80% of the time limit, overdue at 100%, each once per case and deadline."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import case_loop, outbox
from core.glossary import CaseStatus, Role
from core.models import Case, OutboxMessage
from core.services import cases, deadlines
from tests.support import factories
from tests.support.factories import dispatched_case

S = CaseStatus


def rows(session, topic):
    session.expire_all()
    return session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)).all()


def test_warning_at_80_percent_and_overdue_at_100_percent_once_each(session, settings):
    case, _ = dispatched_case(session, settings)
    start = case.deadline_at - timedelta(hours=10)

    assert deadlines.sweep(session, start + timedelta(hours=7)) == deadlines.SweepResult()
    session.commit()
    assert case.warned_at is None and rows(session, outbox.CASE_DEADLINE_WARNING) == []

    at_8h = start + timedelta(hours=8)
    assert deadlines.sweep(session, at_8h).warned == [case.id]
    session.commit()
    assert deadlines.sweep(session, at_8h + timedelta(minutes=1)) == deadlines.SweepResult()
    session.commit()
    session.refresh(case)
    assert case.warned_at == at_8h and case.overdue_at is None
    [warning] = rows(session, outbox.CASE_DEADLINE_WARNING)
    assert warning.payload == {"case_id": case.id, "deadline": case.deadline_at.isoformat()}

    at_10h = start + timedelta(hours=10)
    assert deadlines.sweep(session, at_10h) == deadlines.SweepResult(overdue=[case.id])
    session.commit()
    assert deadlines.sweep(session, at_10h + timedelta(hours=5)) == deadlines.SweepResult()
    session.commit()
    session.refresh(case)
    assert (case.warned_at, case.overdue_at) == (at_8h, at_10h)
    assert len(rows(session, outbox.CASE_OVERDUE)) == 1
    assert len(rows(session, outbox.CASE_DEADLINE_WARNING)) == 1


def test_a_case_found_past_its_deadline_is_marked_overdue_without_a_late_warning(session, settings):
    case, _ = dispatched_case(session, settings)
    late = case.deadline_at + timedelta(hours=1)
    assert deadlines.sweep(session, late) == deadlines.SweepResult(overdue=[case.id])
    session.commit()
    session.refresh(case)
    assert case.warned_at == case.overdue_at == late
    assert rows(session, outbox.CASE_DEADLINE_WARNING) == []
    assert deadlines.sweep(session, late) == deadlines.SweepResult()


def test_cases_not_dispatched_are_ignored_and_keep_their_stamps(session, settings):
    case, _ = dispatched_case(session, settings)
    at_8h = case.deadline_at - timedelta(hours=2)
    deadlines.sweep(session, at_8h)
    case_loop.transition(session, case, S.HANDLED, action="handle")
    session.commit()
    assert deadlines.sweep(session, case.deadline_at + timedelta(days=1)) == deadlines.SweepResult()
    session.commit()
    session.refresh(case)
    assert (case.warned_at, case.overdue_at) == (at_8h, None)

    accepted = factories.case(session, settings)
    case_loop.transition(session, accepted, S.ACCEPTED, action="accept")
    accepted.deadline_at = case.deadline_at  # not dispatched: no warning whatever its deadline
    session.commit()
    assert deadlines.sweep(session, case.deadline_at + timedelta(days=1)) == deadlines.SweepResult()


def test_reassignment_keeps_the_deadline_and_the_warning_a_new_dispatch_deadline_is_warned_again(session, settings):
    case, leader = dispatched_case(session, settings)
    deadlines.sweep(session, case.deadline_at - timedelta(hours=1))
    session.commit()
    factories.staff(session, "zhao", Role.GRID_WORKER, "G1")
    cases.perform(session, leader, case.number, "reassign", {"assignee": "zhao"})
    session.commit()
    assert case.warned_at is not None
    assert deadlines.sweep(session, case.deadline_at - timedelta(minutes=30)) == deadlines.SweepResult()

    # A fresh time limit (here the resident's reopen path, via the same clearing as dispatch).
    case.deadline_at = case.deadline_at + timedelta(hours=10)
    case.warned_at = case.overdue_at = None
    session.commit()
    assert deadlines.sweep(session, case.deadline_at - timedelta(hours=1)).warned == [case.id]


def test_dispatch_clears_the_stamps_of_an_earlier_deadline(session, settings):
    case, leader = dispatched_case(session, settings)
    deadlines.sweep(session, case.deadline_at + timedelta(hours=1))
    session.commit()
    assert case.overdue_at is not None
    # Straight to a new dispatch is not a move the loop allows from dispatched; use the function.
    cases._dispatch(session, case, leader, {"assignee": "wang"})
    session.commit()
    assert case.warned_at is None and case.overdue_at is None


@pytest.mark.real_services("postgres")  # row locks need PostgreSQL
def test_concurrent_sweeps_warn_once(session, settings, clean_database, monkeypatch):
    case, _ = dispatched_case(session, settings)
    at_9h = case.deadline_at - timedelta(hours=1)
    session.close()

    # Both sweeps read their candidates before either stamps: the race the UPDATE must settle.
    barrier = threading.Barrier(2, timeout=10)
    real_stamp = deadlines._stamp

    def racing_stamp(*args, **kwargs):
        barrier.wait()
        return real_stamp(*args, **kwargs)

    monkeypatch.setattr(deadlines, "_stamp", racing_stamp)
    results = []

    def run():
        with clean_database.session() as own:
            results.append(deadlines.sweep(own, at_9h))
            own.commit()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert sorted(len(r.warned) for r in results) == [0, 1]
    with clean_database.session() as check:
        warnings = check.scalars(select(OutboxMessage).where(OutboxMessage.topic == outbox.CASE_DEADLINE_WARNING)).all()
        assert len(warnings) == 1
        assert check.get(Case, case.id).warned_at == at_9h

"""The access log keeps one unbroken chain: an edit or a removed entry shows, and the app cannot change it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from core.audit import Actor, record, verify_chain
from core.audit.log import expire
from core.models import AccessLogEntry
from core.models.base import utcnow

CLERK = Actor(staff_id=7, name="clerk", address="10.0.0.8")


def _three(session) -> list[AccessLogEntry]:
    entries = [
        record(session, CLERK, "case.view", "case", 1),
        record(session, CLERK, "phone.reveal", "case", 1, detail={"field": "contact_phone"}),
        record(session, Actor(resident_id=3), "privacy.export", "resident", 3),
    ]
    session.commit()
    return entries


def test_entries_follow_one_another_and_the_chain_checks_out(session):
    first, second, third = _three(session)
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    assert verify_chain(session) is None


def test_an_entry_edited_in_the_database_breaks_the_chain_there(session):
    _first, second, _third = _three(session)
    session.execute(text("UPDATE access_log SET actor_name = 'someone' WHERE id = :id"), {"id": second.id})
    session.commit()
    assert verify_chain(session) == second.id


def test_an_entry_taken_out_of_the_middle_shows(session):
    _first, second, third = _three(session)
    session.execute(text("DELETE FROM access_log WHERE id = :id"), {"id": second.id})
    session.commit()
    assert verify_chain(session) == third.id


def test_the_app_cannot_change_or_delete_an_entry(session):
    first, *_ = _three(session)
    first.result = "denied"
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()
    session.delete(session.get(AccessLogEntry, first.id))
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()


def test_expiring_the_oldest_leaves_a_chain_that_still_checks_out(session):
    first, second, third = _three(session)
    session.execute(
        text("UPDATE access_log SET at = :at WHERE id = :id"), {"at": utcnow() - timedelta(days=200), "id": first.id}
    )
    session.commit()
    # Moving `at` breaks that entry's hash, but it is the one retention removes.
    assert expire(session, utcnow() - timedelta(days=180)) == 1
    session.commit()
    assert session.scalars(select(AccessLogEntry.id).order_by(AccessLogEntry.id)).all() == [second.id, third.id]
    assert verify_chain(session) is None


def test_an_unknown_result_is_refused(session):
    with pytest.raises(ValueError):
        record(session, CLERK, "case.view", "case", 1, result="maybe")

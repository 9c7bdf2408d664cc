"""The access log is kept RETENTION_ACCESS_LOG_DAYS (default 180, six months) and then deleted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from core.audit import Actor, expire_access_log, record, verify_chain
from core.models import AccessLogEntry
from core.models.base import utcnow
from core.settings import Settings

CLERK = Actor(staff_id=7, name="clerk", address="10.0.0.8")


def _aged(session, *days_old: int) -> list[int]:
    ids = [record(session, CLERK, "case.view", "case", n).id for n, _ in enumerate(days_old)]
    session.commit()
    for entry_id, days in zip(ids, days_old, strict=True):
        at = utcnow() - timedelta(days=days)
        session.execute(text("UPDATE access_log SET at = :at WHERE id = :id"), {"at": at, "id": entry_id})
    session.commit()
    return ids


def test_the_default_is_six_months_and_the_environment_can_change_it():
    assert Settings().retention_access_log_days == 180
    assert Settings.from_env({"RETENTION_ACCESS_LOG_DAYS": "365"}).retention_access_log_days == 365


def test_entries_older_than_the_setting_go_and_the_rest_stay(session):
    _old, _older, kept_1, kept_2 = _aged(session, 181, 200, 179, 0)
    assert expire_access_log(session, Settings(), utcnow()) == 2
    session.commit()
    assert session.scalars(select(AccessLogEntry.id).order_by(AccessLogEntry.id)).all() == [kept_1, kept_2]


def test_a_shorter_setting_deletes_more(session):
    _aged(session, 40, 20, 0)
    assert expire_access_log(session, Settings(retention_access_log_days=30), utcnow()) == 1
    assert expire_access_log(session, Settings(retention_access_log_days=10), utcnow()) == 1
    session.commit()
    assert len(session.scalars(select(AccessLogEntry)).all()) == 1


def test_a_setting_of_zero_still_keeps_today(session):
    _aged(session, 0, 0)
    assert expire_access_log(session, Settings(retention_access_log_days=0), utcnow()) == 0


def test_what_is_kept_after_expiry_still_checks_out_when_the_oldest_run_goes(session):
    first = record(session, CLERK, "case.view", "case", 1)
    session.commit()
    # Only the oldest run ever goes: ids follow time, so what stays is one unbroken chain.
    session.execute(
        text("UPDATE access_log SET at = :at WHERE id = :id"), {"at": utcnow() - timedelta(days=400), "id": first.id}
    )
    record(session, CLERK, "case.view", "case", 2)
    record(session, CLERK, "case.view", "case", 3)
    session.commit()
    assert expire_access_log(session, Settings(), utcnow()) == 1
    session.commit()
    assert verify_chain(session) is None

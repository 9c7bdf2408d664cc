"""Case numbers: GZ + local date + six-digit daily sequence, unique under concurrent intake."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from core.numbering import next_case_number

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_numbers_follow_the_local_day(session):
    # 17:30 UTC on the 20th is already 01:30 on the 21st in Shanghai.
    late = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
    assert next_case_number(session, SHANGHAI, late) == "GZ20261121-000001"
    assert next_case_number(session, SHANGHAI, late) == "GZ20261121-000002"
    early = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert next_case_number(session, SHANGHAI, early) == "GZ20261120-000001"
    assert next_case_number(session, ZoneInfo("UTC"), late) == "GZ20261120-000002"


def test_concurrent_intakes_never_share_a_number(clean_database):
    now = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)

    def take(_: int) -> str:
        with clean_database.session() as s:
            number = next_case_number(s, SHANGHAI, now)
            s.commit()
            return number

    with ThreadPoolExecutor(max_workers=16) as pool:
        numbers = list(pool.map(take, range(64)))
    assert len(set(numbers)) == 64
    assert sorted(numbers) == [f"GZ20261121-{n:06d}" for n in range(1, 65)]


def test_an_open_intake_does_not_hold_up_the_next_number(clean_database):
    """The counter is locked only while a number is taken, not until the intake that took it commits."""
    if clean_database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes numbers in the caller's transaction")
    now = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
    with clean_database.session() as first, clean_database.session() as second:
        assert next_case_number(first, SHANGHAI, now) == "GZ20261121-000001"  # `first` stays open
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        assert next_case_number(second, SHANGHAI, now) == "GZ20261121-000002"
        first.rollback()  # the intake failed: its number is not given out again
        assert next_case_number(second, SHANGHAI, now) == "GZ20261121-000003"

"""Money in fen: splits by shares always sum to the total (largest remainder), and tranches reconcile."""

from __future__ import annotations

import random

import pytest

from core.errors import InvalidInput
from core.grants import decisions, money
from core.grants.terms import GrantStatus, yuan
from tests.support import grants as gh


def test_split_examples():
    assert money.split(100, [5000, 5000]) == [50, 50]
    assert money.split(101, [5000, 5000]) == [51, 50]  # the odd fen goes to the first of equal remainders
    assert money.split(100, [1, 1, 1]) == [34, 33, 33]
    assert money.split(2, [1, 1, 1]) == [1, 1, 0]
    assert money.split(10, [3333, 3333, 3334]) == [3, 3, 4]
    assert money.split(0, [7000, 3000]) == [0, 0]
    assert money.split(999, [10000]) == [999]


def test_split_property_over_many_totals_and_shares():
    rng = random.Random(20270301)
    for _ in range(5000):
        count = rng.randint(1, 6)
        shares = [rng.randint(0, 10000) for _ in range(count)]
        if sum(shares) == 0:
            shares[0] = 1
        total = rng.choice([rng.randint(0, 100), rng.randint(0, 10**9)])
        parts = money.split(total, shares)
        assert sum(parts) == total
        assert all(part >= 0 for part in parts)
        whole = sum(shares)
        for part, share in zip(parts, shares, strict=True):
            exact = total * share / whole
            assert abs(part - exact) < 1  # each part within one fen of its exact share


def test_split_refuses_nonsense():
    for total, shares in [(-1, [1]), (10, []), (10, [0, 0]), (10, [-1, 2])]:
        with pytest.raises(ValueError):
            money.split(total, shares)


def test_shares_must_be_positive_and_sum_to_a_hundred_percent():
    money.check_shares([5000, 5000])
    for shares in ([5000, 4999], [10000, 0], []):
        with pytest.raises(InvalidInput):
            money.check_shares(shares)


def test_yuan():
    assert yuan(123456) == "1,234.56 元"
    assert yuan(5) == "0.05 元"


def _approved(session, amount_fen, shares):
    grant_round = gh.open_round(session, sources=[(f"来源{i}", s) for i, s in enumerate(shares)])
    app = gh.at_status(session, gh.application(session, grant_round), GrantStatus.APPROVED)
    app.approved_fen = amount_fen
    app.split = money.split_for(app, amount_fen)
    session.flush()
    return app


def test_disbursements_in_tranches_reconcile_per_source_and_in_total(session):
    staff = gh.staff_user(session)
    app = _approved(session, 150_001, [5000, 5000])  # an odd fen
    assert sorted(app.split.values()) == [75_000, 75_001]
    sources = app.round.sources
    first, second = (app.split[str(s.id)] for s in sources)
    money.disburse(session, app, sources[0].id, 50_000, staff=staff)
    assert app.status == GrantStatus.IN_PROGRESS  # the first tranche starts the project
    money.disburse(session, app, sources[0].id, first - 50_000, staff=staff)
    money.disburse(session, app, sources[1].id, second, staff=staff)
    balances = money.balances(session, app)
    assert [b.due_fen for b in balances] == [0, 0]
    assert sum(b.paid_fen for b in balances) == app.approved_fen == sum(app.split.values())
    with pytest.raises(InvalidInput) as raised:
        money.disburse(session, app, sources[1].id, 1, staff=staff)
    assert "尚余 0.00 元" in raised.value.message


def test_a_tranche_above_what_a_source_owes_is_refused_with_the_numbers(session):
    app = _approved(session, 100_000, [7000, 3000])
    source = app.round.sources[1]
    with pytest.raises(InvalidInput) as raised:
        money.disburse(session, app, source.id, 30_001)
    assert "应拨 300.00 元" in raised.value.message and "本次 300.01 元" in raised.value.message
    with pytest.raises(InvalidInput):
        money.disburse(session, app, source.id, 0)


@pytest.mark.slow
def test_random_grants_split_and_paid_in_random_tranches_always_reconcile(session):
    rng = random.Random(7)
    for _ in range(20):
        shares = rng.choice([[5000, 5000], [3333, 3333, 3334], [6000, 2500, 1500], [10000]])
        amount = rng.randint(1, 3_000_000)
        app = _approved(session, amount, shares)
        for balance in money.balances(session, app):
            left = balance.due_fen
            while left:
                tranche = rng.randint(1, left)
                money.disburse(session, app, balance.source_id, tranche)
                left -= tranche
        assert sum(b.paid_fen for b in money.balances(session, app)) == amount


def test_published_approval_splits_the_grant(session):
    staff = gh.staff_user(session)
    grant_round = gh.open_round(session, sources=[("社区", 5000), ("基金会", 5000)])
    seats = [gh.member(session, grant_round, f"m{i}") for i in range(3)]
    app = gh.at_status(session, gh.application(session, grant_round), GrantStatus.IN_REVIEW)
    gh.decided(session, app, seats, staff, amount_fen=100_001)
    decisions.publish(session, grant_round, staff=staff)
    assert app.status == GrantStatus.APPROVED and app.approved_fen == 100_001
    assert sorted(app.split.values()) == [50_000, 50_001]

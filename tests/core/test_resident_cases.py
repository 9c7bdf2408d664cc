"""A resident's own cases: listing, lookup without leaks, a safe timeline, rating once, and 没修好."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import case_loop
from core.errors import Forbidden, InvalidInput, NotFound
from core.glossary import CaseStatus, Role, Tier
from core.models import CaseEvent, Category, OutboxMessage
from core.models.base import utcnow
from core.services import resident_cases
from tests.support import factories

S = CaseStatus
CLOSING_PATH = [
    (S.ACCEPTED, "accept"),
    (S.DISPATCHED, "dispatch"),
    (S.HANDLED, "handle"),
    (S.VERIFIED, "verify"),
    (S.CLOSED, "close"),
]


def walk(session, case, until: CaseStatus, staff=None):
    """Move a reported case along the loop, as staff would, until it reaches `until`."""
    for status, action in CLOSING_PATH:
        case_loop.transition(session, case, status, action=action, staff=staff, note=f"内部备注：{action}")
        if status == until:
            return case
    raise AssertionError(f"{until} is not on the closing path")


def closed_case(session, settings, reporter, **kw):
    return walk(session, factories.case(session, settings, reporter=reporter, **kw), S.CLOSED)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- my_cases ---------------------------------------------------------------------------------


def test_my_cases_newest_first_with_limit_and_followed_cases(session, settings):
    me = factories.resident(session, "oMe")
    other = factories.resident(session, "oOther")
    now = utcnow()
    mine = [factories.case(session, settings, reporter=me) for _ in range(3)]
    followed = factories.case(session, settings, reporter=other)
    followed.followers.append(me)
    not_mine = factories.case(session, settings, reporter=other)
    staff_found = factories.case(session, settings)
    # Explicit times, so the order tested is the one by creation, not by insertion.
    for age_hours, case in [(5, mine[0]), (4, followed), (3, mine[1]), (2, not_mine), (1, mine[2]), (0, staff_found)]:
        case.created_at = now - timedelta(hours=age_hours)
    session.flush()

    assert resident_cases.my_cases(session, me, limit=10) == [mine[2], mine[1], followed, mine[0]]
    assert resident_cases.my_cases(session, me, limit=2) == [mine[2], mine[1]]
    assert resident_cases.my_cases(session, me) == [mine[2], mine[1], followed, mine[0]]
    assert resident_cases.my_cases(session, other) == [not_mine, followed]


def test_my_cases_lists_a_reported_case_once_even_though_the_reporter_follows_it(session, settings):
    me = factories.resident(session, "oMe")
    case = factories.case(session, settings, reporter=me)
    assert me in case.followers
    assert resident_cases.my_cases(session, me) == [case]


# --- find_own_case ----------------------------------------------------------------------------


def test_find_own_case_accepts_lower_case_and_spaces(session, settings):
    me = factories.resident(session, "oMe")
    case = factories.case(session, settings, reporter=me)
    assert resident_cases.find_own_case(session, me, f"  {case.number.lower()} \n") is case


def test_find_own_case_finds_a_followed_case(session, settings):
    me = factories.resident(session, "oMe")
    other = factories.resident(session, "oOther")
    case = factories.case(session, settings, reporter=other)
    case.followers.append(me)
    assert resident_cases.find_own_case(session, me, case.number) is case


def test_someone_elses_case_looks_exactly_like_a_missing_one(session, settings):
    me = factories.resident(session, "oMe")
    other = factories.resident(session, "oOther")
    theirs = factories.case(session, settings, reporter=other)
    missing = theirs.number[:-6] + "999999"

    with pytest.raises(NotFound) as not_mine:
        resident_cases.find_own_case(session, me, theirs.number)
    with pytest.raises(NotFound) as not_there:
        resident_cases.find_own_case(session, me, missing)

    assert not_mine.value.message == f"未找到案件 {theirs.number}，请核对编号"
    assert not_there.value.message == f"未找到案件 {missing}，请核对编号"
    assert not_mine.value.message.replace(theirs.number, "X") == not_there.value.message.replace(missing, "X")


def test_an_empty_number_is_asked_for_again(session):
    me = factories.resident(session, "oMe")
    with pytest.raises(InvalidInput, match="请输入案件编号"):
        resident_cases.find_own_case(session, me, "   ")


# --- resident_timeline ------------------------------------------------------------------------


def test_timeline_hides_staff_names_and_notes(session, settings):
    me = factories.resident(session, "oMe")
    factories.grid_tree(session)
    worker = factories.staff(session, "wang", Role.GRID_WORKER, "G1", display_name="王小明")
    case = factories.case(session, settings, reporter=me)
    walk(session, case, S.DISPATCHED, staff=worker)
    case_loop.transition(session, case, S.DISPATCHED, action="reassign", staff=worker, note="王小明请假，电话138")
    case_loop.transition(session, case, S.DISPATCHED, action="escalate", staff=worker, data={"tier": "street"})

    timeline = resident_cases.resident_timeline(case)

    assert [e.status_label for e in timeline] == ["已上报", "已受理", "处理中", "处理中", "处理中"]
    assert [e.text for e in timeline] == ["", "", "", "已转交其他处置人", f"已上报至{Tier.STREET.label}"]
    assert [e.at for e in timeline] == [e.created_at for e in case.events]
    shown = " ".join(e.text for e in timeline)
    for secret in ("内部备注", "王小明", "wang", "138"):
        assert secret not in shown


def test_timeline_shows_the_reason_of_a_rejection(session, settings):
    me = factories.resident(session, "oMe")
    case = factories.case(session, settings, reporter=me)
    case_loop.transition(session, case, S.REJECTED, action="reject", note="属于物业管理范围，请联系物业")

    timeline = resident_cases.resident_timeline(case)

    assert timeline[-1] == resident_cases.TimelineEntry(
        case.events[-1].created_at, "不予受理", "理由：属于物业管理范围，请联系物业"
    )


def test_timeline_of_a_duplicate_names_the_original_case(session, settings):
    me = factories.resident(session, "oMe")
    case = factories.case(session, settings, reporter=me)
    case_loop.transition(
        session, case, S.DUPLICATE, action="duplicate", note="张三合并", data={"original": "GZ20261121-000007"}
    )
    last = resident_cases.resident_timeline(case)[-1]
    assert (last.status_label, last.text) == ("已合并", "与案件 GZ20261121-000007 为同一问题，请关注该案件进展")


# --- evaluate ---------------------------------------------------------------------------------


def test_evaluate_rates_the_case_and_notifies(session, settings):
    me = factories.resident(session, "oMe")
    case = closed_case(session, settings, me)
    outbox_before = count(session, OutboxMessage)

    event = resident_cases.evaluate(session, me, case.number.lower(), 4, "  修得很快，谢谢  ")
    session.commit()

    assert case.status == S.EVALUATED
    assert (case.rating, case.rating_comment) == (4, "修得很快，谢谢")
    assert (event.action, event.from_status, event.to_status) == ("evaluate", S.CLOSED, S.EVALUATED)
    assert (event.actor_resident_id, event.actor_staff_id, event.note, event.data) == (
        me.id,
        None,
        "修得很快，谢谢",
        {"rating": 4},
    )
    messages = session.scalars(select(OutboxMessage)).all()
    assert len(messages) == outbox_before + 1
    assert messages[-1].payload == {"event_id": event.id, "case_id": case.id}


@pytest.mark.parametrize("rating", [0, 6, -1, "五", "5", 4.5, True, None])
def test_evaluate_refuses_a_bad_rating(session, settings, rating):
    me = factories.resident(session, "oMe")
    case = closed_case(session, settings, me)
    with pytest.raises(InvalidInput, match="1 到 5"):
        resident_cases.evaluate(session, me, case.number, rating)
    assert (case.status, case.rating) == (S.CLOSED, None)


def test_evaluate_refuses_a_comment_over_500_characters(session, settings):
    me = factories.resident(session, "oMe")
    case = closed_case(session, settings, me)
    with pytest.raises(InvalidInput, match="500"):
        resident_cases.evaluate(session, me, case.number, 5, "好" * 501)
    assert case.status == S.CLOSED
    assert resident_cases.evaluate(session, me, case.number, 5, "好" * 500).to_status == S.EVALUATED


def test_a_case_is_rated_only_once(session, settings):
    me = factories.resident(session, "oMe")
    case = closed_case(session, settings, me)
    resident_cases.evaluate(session, me, case.number, 5)
    session.commit()
    events_before = count(session, CaseEvent)

    with pytest.raises(InvalidInput, match="已评价过"):
        resident_cases.evaluate(session, me, case.number, 1, "改主意了")

    assert (case.rating, case.rating_comment, case.status) == (5, None, S.EVALUATED)
    assert count(session, CaseEvent) == events_before


@pytest.mark.parametrize("status", [S.REPORTED, S.DISPATCHED, S.VERIFIED])
def test_only_a_closed_case_can_be_rated(session, settings, status):
    me = factories.resident(session, "oMe")
    case = factories.case(session, settings, reporter=me)
    if status != S.REPORTED:
        walk(session, case, status)
    with pytest.raises(InvalidInput, match=f"当前为「{status.label}」，办结后才能评价"):
        resident_cases.evaluate(session, me, case.number, 5)
    assert (case.status, case.rating) == (status, None)


def test_a_follower_who_did_not_report_cannot_rate(session, settings):
    reporter = factories.resident(session, "oReporter")
    follower = factories.resident(session, "oFollower")
    case = closed_case(session, settings, reporter)
    case.followers.append(follower)
    with pytest.raises(Forbidden, match="只有反映人本人可以评价"):
        resident_cases.evaluate(session, follower, case.number, 5)
    assert (case.status, case.rating) == (S.CLOSED, None)


def test_a_stranger_cannot_rate_and_learns_nothing(session, settings):
    reporter = factories.resident(session, "oReporter")
    stranger = factories.resident(session, "oStranger")
    case = closed_case(session, settings, reporter)
    with pytest.raises(NotFound, match="未找到案件"):
        resident_cases.evaluate(session, stranger, case.number, 5)
    assert case.status == S.CLOSED


# --- reopen -----------------------------------------------------------------------------------


def test_reopen_within_seven_days_sends_it_back_to_the_same_assignee(session, settings):
    me = factories.resident(session, "oMe")
    factories.grid_tree(session)
    worker = factories.staff(session, "wang", Role.GRID_WORKER, "G1")
    category = Category(code="T01", name="路灯", time_limit_hours=48)
    session.add(category)
    case = factories.case(session, settings, reporter=me)
    case.category, case.assignee, case.tier = category, worker, Tier.STREET
    walk(session, case, S.CLOSED)
    closed_at = case.events[-1].created_at
    reopen_at = closed_at + timedelta(days=6, hours=23)

    event = resident_cases.reopen(session, me, case.number, "  路灯还是不亮  ", now=reopen_at)
    session.commit()

    assert case.status == S.DISPATCHED
    assert (event.action, event.from_status, event.to_status) == ("reopen", S.CLOSED, S.DISPATCHED)
    assert (event.actor_resident_id, event.note) == (me.id, "路灯还是不亮")
    assert (case.assignee_id, case.tier) == (worker.id, Tier.STREET)
    assert case.deadline_at == reopen_at + timedelta(hours=48)
    assert resident_cases.resident_timeline(case)[-1].text == "群众反映问题未解决，已重新派遣"


def test_a_follower_may_not_reopen(session, settings):
    reporter = factories.resident(session, "oReporter")
    follower = factories.resident(session, "oFollower")
    case = closed_case(session, settings, reporter)
    case.followers.append(follower)
    events_before = count(session, CaseEvent)
    with pytest.raises(Forbidden):
        resident_cases.reopen(session, follower, case.number)
    assert (case.status, count(session, CaseEvent)) == (S.CLOSED, events_before)


def test_reopen_on_the_seventh_day_is_still_allowed(session, settings):
    me = factories.resident(session, "oMe")
    case = closed_case(session, settings, me)
    resident_cases.reopen(session, me, case.number, now=case.events[-1].created_at + timedelta(days=7))
    assert case.status == S.DISPATCHED


def test_reopen_after_seven_days_is_refused(session, settings):
    me = factories.resident(session, "oMe")
    case = closed_case(session, settings, me)
    events_before = count(session, CaseEvent)
    late = case.events[-1].created_at + timedelta(days=7, seconds=1)

    with pytest.raises(InvalidInput) as refused:
        resident_cases.reopen(session, me, case.number, "还是坏的", now=late)

    assert "超过 7 天" in refused.value.message
    assert "重新上报" in refused.value.message
    assert case.status == S.CLOSED
    assert count(session, CaseEvent) == events_before


def test_the_window_runs_from_the_latest_close(session, settings):
    me = factories.resident(session, "oMe")
    case = closed_case(session, settings, me)
    # A case reopened and closed again today is reopenable for 7 days from today, however long
    # ago it was first closed.
    first_close = utcnow() - timedelta(days=5)
    case.closed_at = first_close
    resident_cases.reopen(session, me, case.number)
    for status, action in CLOSING_PATH[2:]:
        case_loop.transition(session, case, status, action=action)
    assert case.closed_at > first_close + timedelta(days=4)

    resident_cases.reopen(session, me, case.number, now=first_close + timedelta(days=9))
    assert case.status == S.DISPATCHED


@pytest.mark.parametrize("status", [S.REPORTED, S.HANDLED, S.EVALUATED])
def test_reopen_needs_a_closed_case(session, settings, status):
    me = factories.resident(session, "oMe")
    case = factories.case(session, settings, reporter=me)
    if status == S.EVALUATED:
        walk(session, case, S.CLOSED)
        resident_cases.evaluate(session, me, case.number, 2)
    elif status != S.REPORTED:
        walk(session, case, status)
    with pytest.raises(InvalidInput, match=f"当前为「{status.label}」，只有已办结的案件"):
        resident_cases.reopen(session, me, case.number)
    assert case.status == status


def test_a_stranger_cannot_reopen(session, settings):
    reporter = factories.resident(session, "oReporter")
    stranger = factories.resident(session, "oStranger")
    case = closed_case(session, settings, reporter)
    with pytest.raises(NotFound):
        resident_cases.reopen(session, stranger, case.number)
    assert case.status == S.CLOSED

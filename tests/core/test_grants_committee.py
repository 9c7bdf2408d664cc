"""The committee: scores with n/a left out, seeing others only after one's own, recusal, quorum, support, decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.errors import Forbidden, InvalidInput
from core.grants import applications, committee, decisions, progress, rounds
from core.grants.terms import Decision, GrantStatus, MemberKind
from core.models import GrantReport, OutboxMessage
from core.models.base import utcnow
from tests.support import grants as gh

RUBRIC = [{"key": "a", "name": "甲", "weight": 3}, {"key": "b", "name": "乙", "weight": 1}]


def test_weighted_average_leaves_n_a_out_rather_than_counting_it_as_zero():
    assert committee.weighted_average(RUBRIC, {"a": 4, "b": 0}) == 3.0
    assert committee.weighted_average(RUBRIC, {"a": None, "b": 2}) == 2.0  # not (0*3 + 2*1) / 4
    assert committee.weighted_average(RUBRIC, {"a": 5, "b": None}) == 5.0
    assert committee.weighted_average(RUBRIC, {"a": None, "b": None}) is None


def test_score_sheets_are_checked_and_given_once(session):
    grant_round = gh.open_round(session, rubric=RUBRIC)
    seat = gh.member(session, grant_round, "m1")
    app = gh.at_status(session, gh.application(session, grant_round), GrantStatus.IN_REVIEW)
    for bad in (
        {"a": 6, "b": 1},
        {"a": -1, "b": 1},
        {"a": 3},
        {"a": 3, "b": 1, "c": 2},
        {"a": "5", "b": 1},
        {"a": True, "b": 1},
    ):
        with pytest.raises(InvalidInput):
            committee.submit_scores(session, seat, app, bad, "")
    committee.submit_scores(session, seat, app, {"a": None, "b": 4}, "预算偏高")
    with pytest.raises(InvalidInput):
        committee.submit_scores(session, seat, app, {"a": 1, "b": 1}, "")


def test_others_scores_are_seen_only_after_submitting_one_s_own(session):
    grant_round = gh.open_round(session, rubric=RUBRIC)
    first, second = gh.member(session, grant_round, "m1"), gh.member(session, grant_round, "m2")
    app = gh.at_status(session, gh.application(session, grant_round), GrantStatus.IN_REVIEW)
    committee.submit_scores(session, first, app, {"a": 5, "b": 1}, "很好")
    view = committee.board(session, second, app)
    assert view.others is None and view.average is None and view.scored == 1
    committee.submit_scores(session, second, app, {"a": 3, "b": None}, "一般")
    view = committee.board(session, second, app)
    assert [(o.comment, o.average) for o in view.others] == [("很好", 4.0)]
    assert view.average == 3.5 and view.quorum_met


def test_members_of_the_applying_group_are_recused_and_the_quorum_counts_only_the_rest(session):
    grant_round = gh.open_round(session)
    resident = gh.applicant(session, "oGroupMember")
    inside = gh.member(session, grant_round, "m-in", MemberKind.RESIDENT_REP, resident_id=resident.id)
    by_phone = gh.member(session, grant_round, "m-phone", MemberKind.FUNDER_REP, phone="139 0000 1111")
    others = [gh.member(session, grant_round, f"m{i}") for i in range(3)]
    team = [
        {"name": "王", "role": "队员", "resident_id": resident.id},
        {"name": "李", "role": "会计", "phone": "13900001111"},
    ]
    app = gh.at_status(session, gh.application(session, grant_round, team=team), GrantStatus.IN_REVIEW)
    assert committee.recusal_reason(inside, app) == "本人为申请团队成员"
    assert "电话相同" in committee.recusal_reason(by_phone, app)
    with pytest.raises(Forbidden):
        committee.submit_scores(
            session, inside, app, dict.fromkeys(["need", "feasibility", "budget", "participation"], 5), ""
        )
    own = gh.application(session, grant_round, resident=resident)
    assert committee.recusal_reason(inside, own) == "本人为申请人"
    rounds.declare_conflict(session, others[0], app, "亲属")
    assert committee.recusal_reason(others[0], app) == "本人申报利益冲突：亲属"
    # Eligible: others[1], others[2] — one score is half, not more than half.
    gh.score_all(session, app, [others[1]])
    assert committee.tally(session, app)[:2] == (2, 1)
    staff = gh.staff_user(session)
    with pytest.raises(InvalidInput) as raised:
        decisions.record(session, app, Decision.APPROVE, staff=staff)
    assert "无需回避的委员 2 人，已评分 1 人" in raised.value.message
    gh.score_all(session, app, [others[2]])
    decisions.record(session, app, Decision.APPROVE, staff=staff)


def test_residents_support_once_and_only_under_review(session):
    grant_round = gh.open_round(session)
    app = gh.at_status(session, gh.application(session, grant_round), GrantStatus.SUBMITTED)
    fan = gh.applicant(session, "oFan")
    assert committee.support(session, fan, app) is True
    assert committee.support(session, fan, app) is False
    assert committee.supports(session, app.id) == 1
    gh.at_status(session, app, GrantStatus.DRAFT)
    with pytest.raises(InvalidInput):
        committee.support(session, gh.applicant(session, "oFan2"), app)


def test_budget_and_caps_are_checked_with_the_numbers(session):
    staff = gh.staff_user(session)
    grant_round = gh.open_round(session, budget_fen=5_000_000, cap_per_application_fen=3_000_000)
    seats = [gh.member(session, grant_round, "m1")]
    lines = [{"item": "物资", "quantity": 1, "unit_price_fen": 3_000_001}]
    with pytest.raises(InvalidInput) as raised:
        gh.application(session, grant_round, budget_lines=lines)
    assert "30,000.01 元 超过单项上限 30,000.00 元" in raised.value.message
    lines = [{"item": "物资", "quantity": 1, "unit_price_fen": 2_000_001}]
    with pytest.raises(InvalidInput) as raised:
        gh.application(session, grant_round, category="组织孵化", budget_lines=lines)
    assert "超过「组织孵化」类上限 20,000.00 元" in raised.value.message
    big = [{"item": "物资", "quantity": 3, "unit_price_fen": 1_000_000}]
    first = gh.at_status(session, gh.application(session, grant_round, budget_lines=big), GrantStatus.IN_REVIEW)
    second = gh.at_status(session, gh.application(session, grant_round, budget_lines=big), GrantStatus.IN_REVIEW)
    gh.decided(session, first, seats, staff)
    gh.score_all(session, second, seats)
    with pytest.raises(InvalidInput) as raised:
        decisions.record(session, second, Decision.APPROVE, staff=staff)
    assert raised.value.message == (
        "超出本期总预算：总预算 50,000.00 元，已批 30,000.00 元，本项 30,000.00 元，合计 60,000.00 元"
    )
    decisions.record(session, second, Decision.APPROVE, staff=staff, amount_fen=2_000_000)  # less than asked
    # Category caps bound the category's total.
    incubate = [{"item": "场地", "quantity": 1, "unit_price_fen": 1_500_000}]
    r2 = gh.open_round(session)
    seats2 = [gh.member(session, r2, "n1")]
    a = gh.at_status(
        session, gh.application(session, r2, category="组织孵化", budget_lines=incubate), GrantStatus.IN_REVIEW
    )
    b = gh.at_status(
        session, gh.application(session, r2, category="组织孵化", budget_lines=incubate), GrantStatus.IN_REVIEW
    )
    gh.decided(session, a, seats2, staff)
    gh.score_all(session, b, seats2)
    with pytest.raises(InvalidInput) as raised:
        decisions.record(session, b, Decision.APPROVE, staff=staff)
    assert "「组织孵化」类上限：上限 20,000.00 元，该类已批 15,000.00 元" in raised.value.message


def test_publishing_waits_for_every_decision_then_moves_all_together(session):
    staff = gh.staff_user(session)
    grant_round = gh.open_round(session)
    seats = [gh.member(session, grant_round, "m1")]
    yes = gh.at_status(session, gh.application(session, grant_round, title="甲"), GrantStatus.IN_REVIEW)
    no = gh.at_status(session, gh.application(session, grant_round, title="乙"), GrantStatus.IN_REVIEW)
    gh.decided(session, yes, seats, staff)
    with pytest.raises(InvalidInput) as raised:
        decisions.publish(session, grant_round, staff=staff)
    assert "乙" in raised.value.message and yes.status == GrantStatus.IN_REVIEW
    gh.decided(session, no, seats, staff, decision=Decision.DECLINE, note="与往期重复")
    decisions.publish(session, grant_round, staff=staff)
    assert (yes.status, no.status) == (GrantStatus.APPROVED, GrantStatus.DECLINED)
    assert grant_round.decisions_published_at is not None
    assert len(progress.reports(session, yes.id)) == grant_round.reports_due + 1


def test_submitting_needs_the_window_and_editing_needs_a_draft_or_a_request(session):
    staff = gh.staff_user(session)
    grant_round = gh.open_round(session)
    app = gh.application(session, grant_round)
    applications.submit(session, app)
    with pytest.raises(Forbidden):
        applications.edit(session, app, gh.application_input(title="改"))
    applications.start_review(session, app, staff=staff)
    applications.ask_for_information(session, app, staff=staff, note="请补充预算明细")
    applications.edit(session, app, gh.application_input(title="改过的"))
    applications.submit(session, app)
    assert (app.status, app.title) == (GrantStatus.RESUBMITTED, "改过的")
    closed = gh.open_round(session, opens_at=utcnow() - timedelta(days=9), closes_at=utcnow() - timedelta(days=1))
    late = gh.application(session, closed)
    with pytest.raises(InvalidInput):
        applications.submit(session, late)


def test_budget_totals_are_computed(session):
    lines, total = applications.budget([{"item": "a", "quantity": 3, "unit_price_fen": 1_01}])
    assert lines[0]["total_fen"] == 303 and total == 303
    for bad in (
        {"item": "", "quantity": 1, "unit_price_fen": 1},
        {"item": "a", "quantity": 0, "unit_price_fen": 1},
        {"item": "a", "quantity": 1, "unit_price_fen": 1.5},
    ):
        with pytest.raises(InvalidInput):
            applications.budget([bad])


def test_the_reminder_sweep_reminds_once_and_reports_lateness_once(session):
    staff = gh.staff_user(session)
    grant_round = gh.open_round(session, report_every_days=10, reports_due=1)
    app = gh.at_status(session, gh.application(session, grant_round), GrantStatus.IN_REVIEW)
    gh.decided(session, app, [gh.member(session, grant_round, "m1")], staff)
    decisions.publish(session, grant_round, staff=staff)
    first, final = progress.reports(session, app.id)
    today = utcnow().date()
    assert progress.sweep(session, today).reminded == []
    assert progress.sweep(session, first.due_on - timedelta(days=2)).reminded == [first.id]
    assert progress.sweep(session, first.due_on - timedelta(days=1)).reminded == []
    assert progress.sweep(session, first.due_on + timedelta(days=1)).late == [first.id]
    assert progress.sweep(session, first.due_on + timedelta(days=2)).late == []
    topics = [m.topic for m in session.query(OutboxMessage).order_by(OutboxMessage.id)]
    assert topics[-2:] == ["grant.report_due", "grant.report_late"]
    progress.file_report(session, app, "完成第一次清洁")
    progress.file_report(session, app, "全部完成")
    with pytest.raises(InvalidInput):
        progress.file_report(session, app, "多余")
    app.status = GrantStatus.IN_PROGRESS
    progress.accept_completion(session, app, staff=staff)
    assert app.status == GrantStatus.COMPLETED
    assert session.get(GrantReport, final.id).accepted_at is not None

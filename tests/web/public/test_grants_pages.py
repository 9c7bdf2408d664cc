"""The public micro-grant pages: the rounds at /grants, each round's projects, money by source and progress."""

from __future__ import annotations

from core.grants import decisions, money, progress
from core.grants.terms import GrantStatus
from tests.support import grants as gh


def test_rounds_list_and_a_round_page_show_projects_money_and_progress_without_personal_data(client, app):
    db = app.extensions["gongzhi"].database
    with db.session() as s:
        staff = gh.staff_user(s)
        grant_round = gh.open_round(s)
        seats = [gh.member(s, grant_round, "m1")]
        team = [{"name": "张秀英", "role": "队长", "phone": "13912345678"}]
        funded = gh.at_status(s, gh.application(s, grant_round, team=team), GrantStatus.IN_REVIEW)
        pending = gh.at_status(s, gh.application(s, grant_round, title="楼栋议事会"), GrantStatus.SUBMITTED)
        gh.decided(s, funded, seats, staff, amount_fen=50_001)
        gh.at_status(s, pending, GrantStatus.WITHDRAWN)
        decisions.publish(s, grant_round, staff=staff)
        first = grant_round.sources[0]
        money.disburse(s, funded, first.id, 10_000, staff=staff)
        progress.file_report(s, funded, "第一次清洁完成，参与 30 人")
        s.commit()
        round_id, name = grant_round.id, grant_round.name
    listing = client.get("/grants").get_data(as_text=True)
    assert name in listing and f"/grants/{round_id}" in listing
    page = client.get(f"/grants/{round_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "桂花园楼道清洁行动" in html and "500.01 元" in html
    assert "方兴社区" in html and "250.01 元" in html and "250.00 元" in html  # the odd fen to the first source
    assert "已拨 100.00 元" in html and "第一次清洁完成" in html and "项目实施中" in html
    assert "张秀英" not in html and "13912345678" not in html and "楼栋议事会" not in html
    assert client.get("/grants/999999").status_code == 404

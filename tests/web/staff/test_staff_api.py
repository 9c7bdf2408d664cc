"""The staff API: sign in, scope, and moving a case through the loop."""

from __future__ import annotations

from sqlalchemy import select

from core.models import Case, CaseEvent, OutboxMessage
from tests.support.staff import setup_area, token


def test_wrong_password_and_missing_token_are_401(app, client):
    setup_area(app)
    bad = client.post("/api/v1/staff/token", json={"username": "center", "password": "nope-nope-nope"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "invalid_credentials"
    assert client.post("/api/v1/staff/token", data="x", content_type="text/plain").status_code == 400
    assert client.get("/api/v1/staff/cases").status_code == 401
    forged = client.get("/api/v1/staff/cases", headers={"Authorization": "Bearer abc.def"})
    assert forged.status_code == 401


def test_staff_see_only_their_own_area(app, client):
    number = setup_area(app)
    street = client.get("/api/v1/staff/cases", headers=token(client, "street")).get_json()
    assert [c["number"] for c in street["cases"]] == [number]
    other = client.get("/api/v1/staff/cases", headers=token(client, "other-street")).get_json()
    assert other["cases"] == []
    hidden = client.get(f"/api/v1/staff/cases/{number}", headers=token(client, "other-street"))
    assert hidden.status_code == 404
    acting = client.post(
        f"/api/v1/staff/cases/{number}/actions", json={"action": "accept"}, headers=token(client, "other-street")
    )
    assert acting.status_code == 404


def test_the_whole_loop_through_the_api(app, client):
    number = setup_area(app)
    center, leader, worker = token(client, "center"), token(client, "leader"), token(client, "worker")
    url = f"/api/v1/staff/cases/{number}/actions"

    def act(headers, **body):
        return client.post(url, json=body, headers=headers)

    assert act(worker, action="accept").status_code == 403  # a grid worker does not accept cases
    accepted = act(center, action="accept", note="已核实")
    assert accepted.status_code == 200
    assert accepted.get_json()["case"]["status_label"] == "已受理"
    assert act(center, action="accept").status_code == 409  # already accepted
    assert act(leader, action="dispatch", tier="nowhere", assignee="worker").status_code == 400
    assert act(leader, action="dispatch", tier="community", assignee="worker").status_code == 200
    assert act(center, action="handle", note="已修复").status_code == 403  # only the assignee handles
    assert act(worker, action="handle").status_code == 400  # a note is required
    assert act(worker, action="handle", note="已更换灯泡").status_code == 200
    assert act(worker, action="verify", passed=True).status_code == 403  # not by the handler
    assert act(leader, action="verify", passed=False).status_code == 400  # failing needs a reason
    rework = act(leader, action="verify", passed=False, note="灯仍不亮")
    assert rework.get_json()["case"]["status"] == "dispatched"
    assert act(worker, action="handle", note="更换了镇流器").status_code == 200
    assert act(leader, action="verify", passed=True).status_code == 200
    closed = act(center, action="close")
    assert closed.get_json()["case"]["status_label"] == "已办结"
    timeline = client.get(f"/api/v1/staff/cases/{number}", headers=center).get_json()["timeline"]
    assert [e["action"] for e in timeline] == [
        "report",
        "accept",
        "dispatch",
        "handle",
        "rework",
        "handle",
        "verify",
        "close",
    ]
    with app.extensions["gongzhi"].database.session() as s:
        events = s.scalars(select(CaseEvent).where(CaseEvent.action != "report")).all()
        outbox = s.scalars(select(OutboxMessage)).all()
        changed = [m.payload["event_id"] for m in outbox if m.topic == "case.status_changed"]
        assert sorted(changed) == sorted(e.id for e in events)
        # Dispatch and rework each tell the assignee.
        assigned = [m.payload["event_id"] for m in outbox if m.topic == "case.assigned"]
        assert sorted(assigned) == sorted(e.id for e in events if e.action in ("dispatch", "rework"))


def test_unknown_action_and_bad_bodies_are_clear_400s(app, client):
    number = setup_area(app)
    center = token(client, "center")
    url = f"/api/v1/staff/cases/{number}/actions"
    unknown = client.post(url, json={"action": "teleport"}, headers=center)
    assert unknown.status_code == 400 and "未知操作" in unknown.get_json()["error"]["message"]
    assert client.post(url, json=["accept"], headers=center).status_code == 400
    assert client.post(url, data="{", content_type="application/json", headers=center).status_code == 400
    missing = client.post("/api/v1/staff/cases/GZ20990101-000001/actions", json={"action": "accept"}, headers=center)
    assert missing.status_code == 404
    reject = client.post(url, json={"action": "reject"}, headers=center)
    assert reject.status_code == 400
    with app.extensions["gongzhi"].database.session() as s:
        assert s.scalar(select(Case)).status.value == "reported"

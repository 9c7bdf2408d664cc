"""Console page 平台对接: the district center sees pushes not received and events not applied, and retries."""

from __future__ import annotations

from sqlalchemy import select

from core import case_loop
from core.glossary import CaseStatus, Role
from core.models import OutboxMessage, PlatformEvent, PlatformPush
from tests.support import factories
from tests.support.console import console_login, csrf_token, table_rows


def setup(app):
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        factories.grid_tree(s)
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        factories.staff(s, "street", Role.STREET_CENTER, "S")
        made = {}
        for status in ("failed", "pending", "sent"):
            case = factories.case(s, context.settings)
            case_loop.transition(s, case, CaseStatus.ACCEPTED, action="accept")
            error = "对接平台返回 HTTP 503：平台维护中" if status != "sent" else None
            s.add(
                PlatformPush(
                    case_id=case.id,
                    idempotency_key=f"{case.number}:accepted",
                    status=status,
                    attempts=4 if status == "failed" else 1,
                    last_error=error,
                )
            )
            made[status] = case.number
        s.add(
            PlatformEvent(
                event_id="ev-9", case_id=case.id, sequence=3, action="close", payload={"case_number": case.number}
            )
        )
        s.commit()
        pushes = {p.status: p.id for p in s.scalars(select(PlatformPush))}
    return made, pushes


def test_the_district_center_sees_failed_and_pending_pushes_and_waiting_events(app, client):
    made, _ = setup(app)
    console_login(client, "center")
    page = client.get("/console/platform")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = table_rows(html, "pushes")[1:]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (made["failed"], "失败", "4 次"),
        (made["pending"], "等待重试", "1 次"),
    ]
    assert "HTTP 503：平台维护中" in rows[0][3]
    assert made["sent"] not in html.split('id="pushes"')[1].split("</table>")[0]
    [event] = table_rows(html, "events")[1:]
    assert event[:5] == [made["sent"], "3", "ev-9", "close", "等待"]
    assert "平台对接" in html  # the link in the top bar


def test_retry_queues_a_new_round_of_the_same_push(app, client):
    made, pushes = setup(app)
    console_login(client, "center")
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        before = len(s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "case.platform_push")).all())
    url = f"/console/platform/pushes/{pushes['failed']}/retry"
    assert client.post(url, data={}).status_code == 400  # no CSRF token
    answer = client.post(url, data={"csrf_token": csrf_token(client, "/console/platform")})
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"案件 {made['failed']} 已重新排队推送" in page
    with database.session() as s:
        assert s.get(PlatformPush, pushes["failed"]).status == "pending"
        queued = s.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == "case.platform_push").order_by(OutboxMessage.id)
        ).all()
    assert len(queued) == before + 1 and queued[-1].payload["attempts_before"] == 4
    sent = client.post(
        f"/console/platform/pushes/{pushes['sent']}/retry", data={"csrf_token": csrf_token(client, "/console/platform")}
    )
    assert "已推送成功" in client.get(sent.headers["Location"]).get_data(as_text=True)


def test_only_the_district_center_may_see_or_retry(app, client):
    _, pushes = setup(app)
    assert client.get("/console/platform").status_code == 303  # to the sign-in page
    console_login(client, "street")
    assert client.get("/console/platform").status_code == 403
    token = csrf_token(client, "/console/login")
    assert (
        client.post(f"/console/platform/pushes/{pushes['failed']}/retry", data={"csrf_token": token}).status_code == 403
    )

"""The staff API's area: a grid tree with staff at every level and a case in G1, and a signed-in staff token."""

from __future__ import annotations

from core.glossary import Role
from tests.support import factories


def token(client, username: str, password: str = factories.PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/staff/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def setup_area(app):
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        grids = factories.grid_tree(s)
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        factories.staff(s, "street", Role.STREET_CENTER, "S")
        factories.staff(s, "other-street", Role.STREET_CENTER, "S2")
        factories.staff(s, "worker", Role.GRID_WORKER, "G1")
        factories.staff(s, "leader", Role.GRID_LEADER, "C")
        person = factories.resident(s)
        case = factories.case(s, context.settings, grid=grids["G1"], reporter=person)
        s.commit()
        return case.number

"""The catalogue and scanned checkpoints as the mini-program reads them."""

from __future__ import annotations

from urllib.parse import quote

from core.models import Checkpoint
from tests.support.api import assert_error


def test_categories_are_a_tree_of_codes_and_names(client, catalogue):
    response = client.get("/api/v1/categories")
    assert response.status_code == 200
    tree = response.get_json()["categories"]
    assert len(tree) == 11 and sum(len(major["children"]) for major in tree) == 118
    first = tree[0]
    assert (first["code"], first["name"]) == ("01", "市容环境")
    assert first["children"][0] == {"code": "0101", "name": "暴露垃圾", "kind": "事件", "time_limit_hours": 2}


def test_a_checkpoint_by_its_code_and_by_its_sign_url(client, checkpoint):
    expected = {
        "code": checkpoint["code"],
        "name": "小区东门",
        "grid": "方兴社区第一网格",
        "position": {"lat": 31.8205, "lng": 117.2272, "coord_system": "gcj02"},
    }
    by_code = client.get(f"/api/v1/checkpoints/{checkpoint['code']}")
    assert by_code.status_code == 200 and by_code.get_json() == expected
    by_url = client.get(f"/api/v1/checkpoints?q={quote(checkpoint['url'], safe='')}")
    assert by_url.status_code == 200 and by_url.get_json() == expected


def test_forged_codes_are_404_and_replaced_signs_410(client, db, checkpoint):
    code = checkpoint["code"]
    forged = code[:-1] + ("a" if code[-1] != "a" else "b")
    for path in [
        f"/api/v1/checkpoints/{forged}",
        "/api/v1/checkpoints/CP0001",  # the label printed on the sign opens nothing
        "/api/v1/checkpoints/1-1-%C3%A9",
        f"/api/v1/checkpoints/{'9' * 60}",
        "/api/v1/checkpoints?q=" + quote(f"https://elsewhere.example.com/q/{code}", safe=""),
        "/api/v1/checkpoints?q=" + quote(f"http://127.0.0.1:5000/q/{forged}", safe=""),
    ]:
        assert_error(client.get(path), 404, "not_found")
    with db.session() as s:
        s.get(Checkpoint, checkpoint["id"]).key_version += 1  # checkpoint rotate
        s.commit()
    assert_error(client.get(f"/api/v1/checkpoints/{code}"), 410, "replaced")
    assert_error(client.get("/api/v1/checkpoints?q=" + quote(checkpoint["url"], safe="")), 410, "replaced")


def test_a_missing_scan_url_is_a_400(client):
    error = assert_error(client.get("/api/v1/checkpoints"), 400, "invalid")
    assert error["fields"] == {"q": ["必填"]}

"""An Open311 client from PyPI (civicbot 0.4.0) against the live server: what an outside app would do."""

from __future__ import annotations

import json

import pytest
from civicbot.http import HttpError
from civicbot.open311 import Open311Client, PreparedRequest
from civicbot.registry import Endpoint
from sqlalchemy import func, select

from core.glossary import CaseSource, CaseStatus, CoordSystem
from core.models import Case
from core.services import api_keys
from core.services.catalogue import load_catalogue
from tests.support.browser import LiveServer

JURISDICTION = "gongzhi.test"


@pytest.fixture
def live(app, settings):
    """The app on a loopback port, with the catalogue loaded and a key made; yields (client, key, database)."""
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        load_catalogue(s, settings.catalogue_file)
        _row, key = api_keys.create_key(s, "civicbot")
        s.commit()
    with LiveServer(app) as server:
        endpoint = Endpoint(id="gongzhi", name="共治", base_url=f"{server.url}/open311/v2", write=True)
        yield Open311Client(endpoint, jurisdiction_id=JURISDICTION), key, context.database


def _cases(database) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(Case))


@pytest.mark.slow
def test_list_post_and_read_back(live):
    client, key, database = live
    services = client.list_services()
    codes = [service["service_code"] for service in services]
    assert "0101" in codes and "01" not in codes
    chosen = next(service for service in services if service["service_code"] == "0101")
    assert chosen["service_name"] == "暴露垃圾" and chosen["group"] == "市容环境" and chosen["metadata"] is True

    definition = client.get_service_definition("0101")
    assert [attribute["code"] for attribute in definition["attributes"]] == ["building", "recurrence"]

    # Dry run first, as the library does by default: nothing is sent.
    dry = client.create_request("0101", api_key=key, lat=31.8205, lng=117.2272, description="路口有一堆垃圾")
    assert isinstance(dry, PreparedRequest) and dry.dry_run and dry.response is None
    assert _cases(database) == 0

    # validate_remote checks the form against our live service list and definition before sending.
    sent = client.create_request(
        "0101",
        dry_run=False,
        confirm="SEND",
        api_key=key,
        validate_remote=True,
        lat=31.8205,
        lng=117.2272,
        description="路口有一堆垃圾",
        attributes={"building": "3栋", "recurrence": "repeat"},
    )
    assert sent.dry_run is False
    [receipt] = sent.response
    number, token = receipt["service_request_id"], receipt["token"]
    assert receipt["account_id"] is None and "时限 2 小时" in receipt["service_notice"]

    request = client.get_request(number)
    assert request["service_request_id"] == number
    assert request["status"] == "open" and request["status_notes"] == CaseStatus.REPORTED.label
    assert request["service_code"] == "0101" and request["service_name"] == "暴露垃圾"
    assert request["description"].startswith("路口有一堆垃圾\n楼栋号：3栋")
    assert (request["lat"], request["long"]) == (31.82, 117.227)  # rounded to about 100 m
    assert request["requested_datetime"].endswith("+08:00")

    listed = client.list_requests(service_code="0101", status="open")
    assert [item["service_request_id"] for item in listed] == [number]
    assert [item["service_request_id"] for item in client.list_requests(service_request_ids=[number])] == [number]
    assert client.list_requests(status="closed") == []
    assert client.get_token(token) == [{"service_request_id": number, "token": token}]

    with database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert case is not None and case.source is CaseSource.OPEN311
        assert (case.lat, case.lng, case.coord_system) == (31.8205, 117.2272, CoordSystem.WGS84)
        assert case.category.code == "0101"
    assert _cases(database) == 1


def test_errors_reach_the_client_in_the_spec_shape(live):
    client, _key, database = live
    with pytest.raises(HttpError) as refused:
        client.create_request(
            "0101", dry_run=False, confirm="SEND", api_key="gz311_wrong", lat=31.8, lng=117.2, description="垃圾"
        )
    assert refused.value.status == 403
    assert json.loads(refused.value.body)[0]["code"] == 403

    with pytest.raises(HttpError) as missing:
        client.get_service_definition("9999")
    assert missing.value.status == 404
    assert json.loads(missing.value.body) == [{"code": 404, "description": "没有编码为 9999 的服务（service_code）"}]

    with pytest.raises(HttpError) as too_long:
        client.list_requests(start_date="2026-01-01T00:00:00Z", end_date="2026-06-01T00:00:00Z")
    assert too_long.value.status == 400
    assert _cases(database) == 0

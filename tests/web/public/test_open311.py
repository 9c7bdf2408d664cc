"""Open311 GeoReport v2 at /open311/v2: every endpoint in JSON and XML, every error, and what is never shown."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import case_loop
from core.geo import Point
from core.glossary import CaseSource, CaseStatus, CoordSystem, Role, Tier
from core.models import ApiKey, Case, CaseEvent, OutboxMessage, Resident
from core.models.base import utcnow
from core.services import api_keys, open311
from core.services.catalogue import load_catalogue, read_catalogue
from core.services.checkpoint_admin import add_checkpoint
from tests.support import factories
from web.public.open311 import forms

BASE = "/open311/v2"
W3C_LOCAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00")
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


@pytest.fixture
def world(app, settings):
    """The catalogue, a grid tree with checkpoint CP0001 (GCJ-02) in G1, and a live API key."""
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        load_catalogue(s, settings.catalogue_file)
        grids = factories.grid_tree(s)
        add_checkpoint(s, name="3栋楼下", grid_code="G1", lat=31.805, lng=117.305, coord_system="gcj02", label="CP0001")
        _row, key = api_keys.create_key(s, "测试客户端")
        s.commit()
    subs = [row for row in read_catalogue(settings.catalogue_file) if not row.is_major]
    return SimpleNamespace(key=key, grids=grids, subs=subs, database=context.database, settings=settings)


def parse(response, fmt: str):
    """The body as JSON, or as an ElementTree root after checking the XML declaration and type."""
    if fmt == "json":
        assert response.content_type == "application/json; charset=utf-8"
        return response.get_json()
    assert response.content_type == "text/xml; charset=utf-8"
    assert response.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.data)


def xml_records(root: ET.Element) -> list[dict[str, str | None]]:
    """Each child of the root as {tag: text} (flat records: requests, services, errors)."""
    return [{child.tag: child.text for child in item} for item in root]


def post(client, world, fmt: str = "json", **fields):
    form = {"api_key": world.key, "service_code": "0101", "lat": "31.82", "long": "117.22", "description": "路边垃圾"}
    form.update(fields)
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in form.items() if v is not None})


def count(world, model=Case) -> int:
    with world.database.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def stored(world, number: str) -> Case:
    with world.database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert case is not None
        s.expunge(case)
        return case


def make_case(world, **changes) -> str:
    """A case through the factory (source WeChat, GCJ-02 unless said), with fields changed."""
    with world.database.session() as s:
        status = changes.pop("status", CaseStatus.REPORTED)
        case = factories.case(s, world.settings, status=status)
        for name, value in changes.items():
            setattr(case, name, value)
        s.commit()
        return case.number


# --- discovery and services ------------------------------------------------------------------


def test_discovery_in_both_formats(client, world):
    data = parse(client.get(f"{BASE}/discovery.json"), "json")
    assert set(data) == {"changeset", "contact", "key_service", "endpoints"}
    assert W3C_LOCAL.fullmatch(data["changeset"])
    [endpoint] = data["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == world.settings.public_base_url + "/open311/v2"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]

    root = parse(client.get(f"{BASE}/discovery.xml"), "xml")
    assert root.tag == "discovery"
    assert root.findtext("changeset") == data["changeset"]
    assert root.findtext("contact") == data["contact"] and root.findtext("key_service") == data["key_service"]
    endpoints = root.findall("endpoints/endpoint")
    assert len(endpoints) == 1
    assert endpoints[0].findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoints[0].findtext("type") == "production"
    assert [f.text for f in endpoints[0].findall("formats/format")] == ["text/xml", "application/json"]


def test_services_are_the_sub_categories(client, world):
    services = parse(client.get(f"{BASE}/services.json", query_string={"jurisdiction_id": "x"}), "json")
    assert [s["service_code"] for s in services] == [row.code for row in world.subs]
    first = services[0]
    assert first == {
        "service_code": "0101",
        "service_name": "暴露垃圾",
        "description": "事件类，微循环（社区）处置，时限 2 小时。结案标准：垃圾清理干净，地面无残留",
        "metadata": True,
        "type": "realtime",
        "keywords": "垃圾, 乱扔, 扔垃圾, 随手扔, 垃圾袋",
        "group": "市容环境",
    }
    assert all(s["metadata"] is True and s["type"] == "realtime" for s in services)
    assert "01" not in {s["service_code"] for s in services}  # a major category is a group, not a service

    root = parse(client.get(f"{BASE}/services.xml"), "xml")
    assert root.tag == "services" and {child.tag for child in root} == {"service"}
    records = xml_records(root)
    assert [r["service_code"] for r in records] == [s["service_code"] for s in services]
    assert records[0] == {**{k: str(v) for k, v in first.items()}, "metadata": "true"}


def test_service_definition_in_both_formats(client, world):
    data = parse(client.get(f"{BASE}/services/0101.json"), "json")
    assert data["service_code"] == "0101"
    building, recurrence = data["attributes"]
    assert building == {
        "variable": True,
        "code": "building",
        "datatype": "string",
        "required": False,
        "datatype_description": "不超过 32 个字",
        "order": 1,
        "description": "楼栋号或门牌号（选填），如「3栋」「12号」",
    }
    assert recurrence["datatype"] == "singlevaluelist" and recurrence["order"] == 2
    assert recurrence["values"] == [{"key": "first", "name": "第一次发现"}, {"key": "repeat", "name": "反复出现"}]

    root = parse(client.get(f"{BASE}/services/0101.xml"), "xml")
    assert root.tag == "service_definition" and root.findtext("service_code") == "0101"
    attributes = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attributes] == ["building", "recurrence"]
    assert attributes[0].findtext("variable") == "true" and attributes[0].findtext("required") == "false"
    assert attributes[0].find("values") is None
    values = attributes[1].findall("values/value")
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [
        ("first", "第一次发现"),
        ("repeat", "反复出现"),
    ]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("code", ["9999", "01"])
def test_unknown_service_is_404(client, world, fmt, code):
    response = client.get(f"{BASE}/services/{code}.{fmt}")
    assert response.status_code == 404
    body = parse(response, fmt)
    errors = (
        body
        if fmt == "json"
        else [{"code": int(r["code"]), "description": r["description"]} for r in xml_records(body)]
    )
    assert errors[0]["code"] == 404 and code in errors[0]["description"]
    if fmt == "xml":
        assert body.tag == "errors" and body[0].tag == "error"


# --- POST requests ---------------------------------------------------------------------------


def test_post_makes_an_open311_case(client, world):
    response = post(
        client,
        world,
        description="路边有一堆垃圾",
        jurisdiction_id="gongzhi",
        **{"attribute[building]": "3栋", "attribute[recurrence]": "repeat"},
        media_url="https://example.org/p/1.jpg",
        phone="13912345678",
        email="someone@example.org",
        first_name="三",
        last_name="张",
        device_id="device-1",
        account_id="acct-1",
        address_string="幸福路 12 号",
    )
    assert response.status_code == 200
    [receipt] = parse(response, "json")
    assert list(receipt) == ["service_request_id", "token", "service_notice", "account_id"]
    assert receipt["account_id"] is None
    assert receipt["service_notice"] == "受理后派遣处置，处置时限 2 小时；结案标准：垃圾清理干净，地面无残留"
    case = stored(world, receipt["service_request_id"])
    assert case.source is CaseSource.OPEN311
    assert (case.lat, case.lng, case.coord_system) == (31.82, 117.22, CoordSystem.WGS84)
    assert case.tracking_token == receipt["token"]
    assert case.status is CaseStatus.REPORTED
    assert case.contact_phone == "13912345678"
    assert case.location_label == "幸福路 12 号"
    assert case.description == "路边有一堆垃圾\n楼栋号：3栋\n出现情况：反复出现\n图片链接：https://example.org/p/1.jpg"
    with world.database.session() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id)) == 1
        assert case.category_id is not None


def test_post_in_xml(client, world):
    response = post(client, world, "xml", description="井盖丢了", service_code="0101")
    assert response.status_code == 200
    root = parse(response, "xml")
    assert root.tag == "service_requests"
    [record] = xml_records(root)
    assert list(record) == ["service_request_id", "token", "service_notice", "account_id"]
    assert record["account_id"] is None
    case = stored(world, record["service_request_id"])
    assert case.tracking_token == record["token"] and case.source is CaseSource.OPEN311


def test_post_at_a_checkpoint_by_address_id(client, world):
    response = post(client, world, lat=None, long=None, address_id="CP0001", description="")
    assert response.status_code == 200
    number = response.get_json()[0]["service_request_id"]
    case = stored(world, number)
    assert case.checkpoint_id is not None and case.coord_system is CoordSystem.GCJ02
    assert case.description == "暴露垃圾"  # no description: the service's name stands for it
    [entry] = client.get(f"{BASE}/requests/{number}.json").get_json()
    assert entry["address"] == "3栋楼下" and entry["address_id"] == "CP0001"
    expected = Point(31.805, 117.305, CoordSystem.GCJ02).to(CoordSystem.WGS84)
    assert (entry["lat"], entry["long"]) == (round(expected.lat, 6), round(expected.lng, 6))
    assert entry["lat"] != 31.805


def _key_problems(world):
    with world.database.session() as s:
        row, revoked = api_keys.create_key(s, "旧客户端")
        api_keys.revoke_key(s, row.id)
        s.commit()
    return revoked


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"api_key": None}, 403, "缺少 api_key"),
        ({"api_key": ""}, 403, "缺少 api_key"),
        ({"api_key": "gz311_not-a-real-key"}, 403, "api_key 无效"),
        ({"api_key": "x" * 5000}, 403, "api_key 无效"),
        ({"api_key": "REVOKED"}, 403, "已停用"),
        ({"service_code": "9999"}, 404, "9999"),
        ({"service_code": "01"}, 404, "01"),
        ({"service_code": None}, 400, "service_code"),
        ({"lat": None, "long": None}, 400, "缺少位置"),
        ({"lat": None, "long": None, "address_string": "幸福路 12 号"}, 400, "不能按地址文字定位"),
        ({"long": None}, 400, "同时提供"),
        ({"lat": "abc"}, 400, "lat 不是数字"),
        ({"lat": "91"}, 400, "lat 超出范围"),
        ({"long": "nan"}, 400, "long 超出范围"),
        ({"lat": None, "long": None, "address_id": "CP9999"}, 400, "CP9999"),
        ({"description": "长" * 2001}, 400, "description 最多 2000 字"),
        ({"attribute[colour]": "red"}, 400, "colour"),
        ({"attribute[recurrence]": "sometimes"}, 400, "sometimes"),
        ({"attribute[building]": "楼" * 33}, 400, "building 最多 32"),
        ({"attributes": "x"}, 400, "attribute[代码]"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"phone": "call me maybe"}, 400, "phone"),
    ],
)
def test_bad_posts_are_answered_and_store_nothing(client, world, fmt, fields, status, words):
    if fields.get("api_key") == "REVOKED":
        fields = {**fields, "api_key": _key_problems(world)}
    response = post(client, world, fmt, **fields)
    assert response.status_code == status
    body = parse(response, fmt)
    if fmt == "xml":
        assert body.tag == "errors"
        [error] = body.findall("error")
        code, description = int(error.findtext("code")), error.findtext("description")
    else:
        [error] = body
        assert set(error) == {"code", "description"}
        code, description = error["code"], error["description"]
    assert code == status and words in description
    assert count(world) == 0 and count(world, CaseEvent) == 0 and count(world, OutboxMessage) == 0


def test_a_double_post_within_ten_seconds_is_one_case(client, world):
    first = post(client, world).get_json()[0]
    again = post(client, world).get_json()[0]
    assert again == first and count(world) == 1
    other = post(client, world, description="另一处垃圾").get_json()[0]
    assert other["service_request_id"] != first["service_request_id"] and count(world) == 2


def test_the_double_post_window_and_key(world, settings):
    form = {"service_code": ["0101"], "lat": ["31.8"], "long": ["117.3"], "description": ["垃圾"]}
    with world.database.session() as s:
        key = api_keys.authenticate(s, world.key)
        other, _ = api_keys.create_key(s, "另一个客户端")
        now = utcnow()
        posted = forms.read_request(s, form)
        first, created = open311.submit_request(s, settings, key, posted, now=now)
        assert created
        s.flush()
        # Within the window — also across the boundary of two 10-second windows — the first answers.
        for later in (timedelta(seconds=0.5), timedelta(seconds=9.5)):
            again, created = open311.submit_request(s, settings, key, posted, now=now + later)
            assert (again.id, created) == (first.id, False)
        later_case, created = open311.submit_request(s, settings, key, posted, now=now + timedelta(seconds=10.5))
        assert created and later_case.id != first.id
        by_other, created = open311.submit_request(s, settings, other, posted, now=now)
        assert created and by_other.id not in (first.id, later_case.id)
        s.rollback()


# --- GET requests ----------------------------------------------------------------------------


def test_request_by_id_and_token_in_both_formats(client, world):
    receipt = post(client, world, description="路灯不亮").get_json()[0]
    number, token = receipt["service_request_id"], receipt["token"]

    [entry] = parse(client.get(f"{BASE}/requests/{number}.json"), "json")
    assert list(entry) == REQUEST_FIELDS
    assert entry["service_request_id"] == number and entry["status"] == "open"
    assert entry["status_notes"] == "已上报" and entry["service_code"] == "0101"
    assert entry["service_name"] == "暴露垃圾" and entry["description"] == "路灯不亮"
    assert (entry["lat"], entry["long"]) == (31.82, 117.22)
    assert client.get(f"{BASE}/requests/{number.lower()}.json").status_code == 200

    root = parse(client.get(f"{BASE}/requests/{number}.xml"), "xml")
    assert root.tag == "service_requests"
    [record] = xml_records(root)
    assert list(record) == REQUEST_FIELDS
    assert record["service_request_id"] == number and record["status"] == "open"
    assert float(record["lat"]) == 31.82 and float(record["long"]) == 117.22
    assert record["expected_datetime"] is None and record["zipcode"] is None

    assert parse(client.get(f"{BASE}/tokens/{token}.json"), "json") == [{"service_request_id": number, "token": token}]
    root = parse(client.get(f"{BASE}/tokens/{token}.xml"), "xml")
    assert root.tag == "service_requests"
    assert xml_records(root) == [{"service_request_id": number, "token": token}]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("path", ["requests/GZ20000101-000001", "tokens/no-such-token"])
def test_unknown_request_or_token_is_404(client, world, fmt, path):
    response = client.get(f"{BASE}/{path}.{fmt}")
    assert response.status_code == 404
    body = parse(response, fmt)
    code = body[0]["code"] if fmt == "json" else int(body.find("error/code").text)
    assert code == 404


def test_requests_filters(client, world):
    older = utcnow() - timedelta(days=30)
    open_case = post(client, world, description="一").get_json()[0]["service_request_id"]
    other_service = post(client, world, description="二", service_code="0102").get_json()[0]["service_request_id"]
    closed = make_case(world, status=CaseStatus.CLOSED, created_at=older)
    ancient = make_case(world, created_at=utcnow() - timedelta(days=100))

    def numbers(fmt: str = "json", **query) -> list[str]:
        response = client.get(f"{BASE}/requests.{fmt}", query_string=query)
        assert response.status_code == 200, response.data
        body = parse(response, fmt)
        if fmt == "xml":
            assert body.tag == "service_requests"
            return [r["service_request_id"] for r in xml_records(body)]
        return [r["service_request_id"] for r in body]

    # The last 90 days by default, newest first.
    assert numbers() == [other_service, open_case, closed]
    assert numbers("xml", jurisdiction_id="gongzhi") == [other_service, open_case, closed]
    assert numbers(status="open") == [other_service, open_case]
    assert numbers(status="closed") == [closed]
    assert numbers(status="open,closed") == [other_service, open_case, closed]
    assert numbers(service_code="0102") == [other_service]
    assert numbers(service_code="0101,0102", status="open") == [other_service, open_case]
    # service_request_id overrides every other filter, even the 90 days.
    assert set(numbers(service_request_id=f"{ancient},{closed.lower()}", status="open")) == {ancient, closed}
    # Dates: W3C datetimes with an offset or Z, or a date alone (00:00 in the district).
    start = (older - timedelta(days=1)).astimezone(world.settings.tz)
    end = (older + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert numbers(start_date=start.isoformat(timespec="seconds"), end_date=end) == [closed]
    assert numbers(start_date=(utcnow() - timedelta(days=115)).date().isoformat(), end_date=start.isoformat()) == [
        ancient
    ]
    assert numbers(end_date=start.isoformat()) == [ancient]  # 90 days up to end_date
    assert numbers(start_date=(utcnow() - timedelta(days=60)).isoformat()) == [other_service, open_case, closed]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ({"start_date": "yesterday"}, 400, "start_date"),
        ({"start_date": "2026-11-21T14:03:00"}, 400, "带时区"),  # no offset
        ({"end_date": "2026-13-01T00:00:00Z"}, 400, "end_date"),
        ({"start_date": "2026-11-21T00:00:00+08:00", "end_date": "2026-11-20T00:00:00+08:00"}, 400, "不能晚于"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-02T00:00:00Z"}, 400, "90 天"),
        ({"status": "pending"}, 400, "status"),
        ({"service_code": "0101,9999"}, 404, "9999"),
        ({"service_request_id": ",".join(f"GZ{i}" for i in range(101))}, 400, "最多"),
    ],
)
def test_bad_queries_are_answered(client, world, fmt, query, status, words):
    response = client.get(f"{BASE}/requests.{fmt}", query_string=query)
    assert response.status_code == status
    body = parse(response, fmt)
    description = body[0]["description"] if fmt == "json" else body.find("error/description").text
    assert words in description


def test_exactly_ninety_days_is_allowed(client, world):
    query = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-01T00:00:00Z"}
    assert client.get(f"{BASE}/requests.json", query_string=query).status_code == 200


@pytest.mark.parametrize(
    ("status", "public"),
    [
        (CaseStatus.REPORTED, "open"),
        (CaseStatus.ACCEPTED, "open"),
        (CaseStatus.DISPATCHED, "open"),
        (CaseStatus.HANDLED, "open"),
        (CaseStatus.VERIFIED, "open"),
        (CaseStatus.CLOSED, "closed"),
        (CaseStatus.EVALUATED, "closed"),
        (CaseStatus.REJECTED, "closed"),
        (CaseStatus.DUPLICATE, "closed"),
    ],
)
def test_status_mapping(client, world, status, public):
    number = make_case(world, status=status)
    [entry] = client.get(f"{BASE}/requests/{number}.json").get_json()
    assert entry["status"] == public
    assert entry["status_notes"] == status.label


def test_status_notes_carry_the_reject_reason_and_the_agency(client, world, settings):
    with world.database.session() as s:
        center = factories.staff(s, "center", Role.DISTRICT_CENTER)
        case = factories.case(s, settings)
        case_loop.transition(s, case, CaseStatus.REJECTED, action="reject", staff=center, note="不属于本区管辖")
        tiered = factories.case(s, settings, status=CaseStatus.DISPATCHED)
        tiered.tier = Tier.STREET
        tiered.deadline_at = utcnow() + timedelta(hours=24)
        s.commit()
        numbers = case.number, tiered.number
    [rejected] = client.get(f"{BASE}/requests/{numbers[0]}.json").get_json()
    assert rejected["status"] == "closed" and rejected["status_notes"] == "不予受理（理由：不属于本区管辖）"
    root = parse(client.get(f"{BASE}/requests/{numbers[1]}.xml"), "xml")
    [record] = xml_records(root)
    assert record["agency_responsible"] == "小循环（街道）"
    assert W3C_LOCAL.fullmatch(record["expected_datetime"])


def test_datetimes_carry_the_district_offset(client, world):
    number = post(client, world).get_json()[0]["service_request_id"]
    case = stored(world, number)
    [entry] = client.get(f"{BASE}/requests/{number}.json").get_json()
    for name in ("requested_datetime", "updated_datetime"):
        assert W3C_LOCAL.fullmatch(entry[name]), entry[name]
    expected = case.created_at.astimezone(world.settings.tz).replace(microsecond=0)
    assert entry["requested_datetime"] == expected.isoformat()


def test_wechat_points_are_given_in_wgs84(client, world):
    number = make_case(world, lat=31.8, lng=117.3, coord_system=CoordSystem.GCJ02)
    [entry] = client.get(f"{BASE}/requests/{number}.json").get_json()
    expected = Point(31.8, 117.3, CoordSystem.GCJ02).to(CoordSystem.WGS84)
    # Converted first, then rounded to about 100 m: the public never gets the exact spot.
    assert (entry["lat"], entry["long"]) == (round(expected.lat, 3), round(expected.lng, 3))
    assert abs(entry["long"] - 117.3) > 0.001  # GCJ-02 is hundreds of metres off in China


def test_positions_are_rounded_to_about_100_metres(client, world):
    number = make_case(world, lat=31.8612345, lng=117.2834567, coord_system=CoordSystem.WGS84)
    [entry] = client.get(f"{BASE}/requests/{number}.json").get_json()
    assert (entry["lat"], entry["long"]) == (31.861, 117.283)


def test_a_checkpoint_case_is_shown_at_the_checkpoint_and_named_by_it(client, world):
    number = post(client, world, lat=None, long=None, address_id="CP0001", description="").get_json()[0][
        "service_request_id"
    ]
    with world.database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        case.lat, case.lng, case.coord_system = 31.8612345, 117.2834567, CoordSystem.WGS84
        case.location_label = "幸福路 12 号 3 栋门口"
        checkpoint = case.checkpoint
        spot = Point(checkpoint.lat, checkpoint.lng, checkpoint.coord_system).to(CoordSystem.WGS84)
        name = checkpoint.name
        s.commit()
    [entry] = client.get(f"{BASE}/requests/{number}.json").get_json()
    assert (entry["lat"], entry["long"]) == (round(spot.lat, 6), round(spot.lng, 6))
    assert entry["address"] == name


def test_the_address_is_the_grid_never_the_residents_label(client, world):
    grid = world.grids["G1"]
    number = make_case(world, grid_id=grid.id, location_label="安徽省合肥市包河区幸福路 12 号 3 栋 502")
    [entry] = client.get(f"{BASE}/requests/{number}.json").get_json()
    assert entry["address"] == grid.name
    assert all("幸福路" not in str(value) for value in entry.values())


def test_no_personal_data_in_get_responses(client, world, settings):
    secrets = ["oSecretOpenId_42", "小明同学", "13800138000", "13912345678", "zhang@example.org", "Zhang", "device-42"]
    with world.database.session() as s:
        person = Resident(openid=secrets[0], nickname=secrets[1], phone=secrets[2])
        s.add(person)
        s.flush()
        case = factories.case(s, settings, reporter=person, status=CaseStatus.CLOSED)
        case.contact_phone = secrets[2]
        case.description = "门口有垃圾，联系 13912345678 或 zhang@example.org，身份证 34010419900101123X"
        case.rating_comment = "小明同学很满意"
        s.commit()
        wechat_number = case.number
    posted = post(
        client,
        world,
        phone="13800138000",
        email="zhang@example.org",
        first_name="Zhang",
        last_name="San",
        device_id="device-42",
        account_id="acct-42",
    ).get_json()[0]["service_request_id"]
    bodies = [
        client.get(f"{BASE}/requests.json").get_data(as_text=True),
        client.get(f"{BASE}/requests.xml").get_data(as_text=True),
        client.get(f"{BASE}/requests/{wechat_number}.xml").get_data(as_text=True),
        client.get(f"{BASE}/requests/{posted}.json").get_data(as_text=True),
    ]
    for body in bodies:
        for secret in [*secrets, "34010419900101123X", "acct-42"]:
            assert secret not in body
    [entry] = client.get(f"{BASE}/requests/{wechat_number}.json").get_json()
    assert entry["description"] == "门口有垃圾，联系 ＊＊＊ 或 ＊＊＊，身份证 ＊＊＊"
    assert all(list(e) == REQUEST_FIELDS for e in client.get(f"{BASE}/requests.json").get_json())


def test_xml_is_well_formed_whatever_the_text(client, world):
    number = make_case(world, description='<b>&amp;</b> ]]> \x01 "引号"', location_label="A & B <路口>")
    response = client.get(f"{BASE}/requests/{number}.xml")
    [record] = xml_records(parse(response, "xml"))
    assert record["description"] == '<b>&amp;</b> ]]>  "引号"'
    assert "路口" not in response.get_data(as_text=True)  # the typed label is never the address


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_wrong_paths_and_methods_get_spec_errors(client, world, fmt):
    wrong_method = client.delete(f"{BASE}/requests.{fmt}")
    assert wrong_method.status_code == 405
    assert "POST" in wrong_method.headers.get("Allow", "")
    body = parse(wrong_method, fmt)
    assert (body[0]["code"] if fmt == "json" else int(body.find("error/code").text)) == 405
    missing = client.get(f"{BASE}/nothing.{fmt}")
    assert missing.status_code == 404
    parse(missing, fmt)
    assert client.get(f"{BASE}/services.html").status_code == 404


# --- keys --------------------------------------------------------------------------------------


def test_key_commands(app, client, world):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["open311", "key", "create", "--name", "市民 App"])
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("gz311_") and len(key) > 40
    with world.database.session() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.name == "市民 App"))
        assert row.key_hash == api_keys.hash_key(key) and key not in row.key_hash
    assert post(client, world, api_key=key).status_code == 200

    listed = runner.invoke(args=["open311", "key", "list"])
    assert listed.exit_code == 0 and "市民 App" in listed.output and "有效" in listed.output
    assert key not in listed.output

    revoked = runner.invoke(args=["open311", "key", "revoke", str(row.id)])
    assert revoked.exit_code == 0, revoked.output
    assert post(client, world, api_key=key, description="再来一次").status_code == 403
    assert "已停用" in runner.invoke(args=["open311", "key", "list"]).output

    assert runner.invoke(args=["open311", "key", "revoke", "999999"]).exit_code != 0
    assert runner.invoke(args=["open311", "key", "create", "--name", "  "]).exit_code != 0

"""docs/platform-api.md is the contract: valid schemas, examples that fit them, and so do the real bodies."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import jsonschema_rs
import pytest

from core import case_loop
from core.glossary import CaseStatus, CoordSystem, PhotoStatus, Tier
from core.models import Category, Photo
from core.services import platform
from core.settings import PROJECT_ROOT
from tests.support import factories
from tests.support.platform import SECRET, accepted_case, ev, post

DOC = PROJECT_ROOT / "docs" / "platform-api.md"
BLOCK = re.compile(r"^```json (schema|example)=([\w-]+)\n(.*?)^```", re.S | re.M)


def blocks() -> tuple[dict[str, dict], list[tuple[str, dict]]]:
    schemas: dict[str, dict] = {}
    examples: list[tuple[str, dict]] = []
    for kind, name, text in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        data = json.loads(text)
        if kind == "schema":
            assert name not in schemas, f"schema {name} twice"
            schemas[name] = data
        else:
            examples.append((name, data))
    return schemas, examples


SCHEMAS, EXAMPLES = blocks()


def validator(name: str):
    return jsonschema_rs.Draft202012Validator(SCHEMAS[name])


def test_the_document_has_the_four_bodies_and_the_error_shape():
    assert set(SCHEMAS) == {"push-request", "push-response", "event-request", "event-response", "error-response"}
    assert {name for name, _ in EXAMPLES} == set(SCHEMAS)  # an example for each


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_schema_is_valid_draft_2020_12(name):
    assert SCHEMAS[name]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema_rs.meta.validate(SCHEMAS[name])


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EXAMPLES)])
def test_each_example_fits_its_schema(name, example):
    validator(name).validate(example)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("event-request", {"case_number": "GZ20261121-000042", "sequence": 1, "action": "close"}),
        ("event-request", {"event_id": "e", "case_number": "GZ1", "sequence": 0, "action": "close"}),
        ("event-request", {"event_id": "e", "case_number": "GZ1", "sequence": 1, "action": "dispatch"}),
        ("event-request", {"event_id": "e", "case_number": "GZ1", "sequence": 1, "action": "verify", "passed": False}),
        ("event-request", {"event_id": "e", "case_number": "GZ1", "sequence": 1, "action": "handle", "note": " "}),
        ("push-request", {**dict(EXAMPLES)["push-request"], "openid": "oSomebody"}),
        ("error-response", {"error": {"code": "oops", "message": "x"}}),
    ],
)
def test_the_schemas_refuse_what_the_code_refuses(name, body):
    assert not validator(name).is_valid(body)


def test_the_body_the_worker_sends_fits_the_schema(session, settings):
    grids = factories.grid_tree(session)
    category = Category(code="0101", name="路灯损坏", default_tier=Tier.COMMUNITY, time_limit_hours=24)
    session.add(category)
    case = factories.case(session, settings, grid=grids["G1"], reporter=factories.resident(session))
    case.category, case.coord_system, case.created_at = category, CoordSystem.WGS84, datetime(2026, 11, 21, tzinfo=UTC)
    session.add(Photo(case_id=case.id, status=PhotoStatus.READY, path="photos/a.jpg", thumb_path="photos/a-t.jpg"))
    case_loop.transition(session, case, CaseStatus.ACCEPTED, action="accept")
    bare = factories.case(session, settings)  # no category, grid, place or photo
    bare.lat = bare.lng = None
    case_loop.transition(session, bare, CaseStatus.ACCEPTED, action="accept")
    session.commit()
    for item in (case, bare):
        photos = platform.photo_links(session, item, settings)
        body = platform.push_body(item, platform.idempotency_key(item), settings.tz, photos)
        validator("push-request").validate(json.loads(platform.canonical_json(body)))
        assert len(body["photos"]) == (1 if item is case else 0)


@pytest.fixture
def settings(settings):
    return settings.replace(platform_secret=SECRET)


def test_every_answer_of_the_endpoint_fits_the_schemas(app, client):
    number = accepted_case(app)
    answers = [
        post(client, ev(number, 2, "handle", note="已处理")),  # pending
        post(client, ev(number, 1, "dispatch", assignee="王五")),  # applied, two processed
        post(client, ev(number, 1, "dispatch", assignee="王五")),  # duplicate
        post(client, ev(number, 3, "close")),  # refused
    ]
    assert [a.get_json()["status"] for a in answers] == ["pending", "applied", "duplicate", "refused"]
    for answer in answers:
        assert answer.status_code == 200
        validator("event-response").validate(answer.get_json())
    errors = [
        post(client, None, raw=b"[]"),
        post(client, ev(number, 4, "close"), secret="wrong"),
        post(client, ev("GZ20990101-000001", 1, "close")),
        post(client, ev(number, 1, "dispatch", assignee="赵六")),
    ]
    assert [e.status_code for e in errors] == [400, 401, 404, 409]
    for error in errors:
        validator("error-response").validate(error.get_json())

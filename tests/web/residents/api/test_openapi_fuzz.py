"""Schemathesis against /api/v1/openapi.json: no input, however odd, gets a 500 or an answer off its schema."""

# The document is built once at import from the API's blueprints (a test below checks that the app
# serves exactly this document), so that schemathesis parametrizes one test per operation while each
# test gets a fresh app and database from the fixtures. schemathesis.pytest.from_fixture would be
# the direct way, but its lazy loader sets Node._nodeid, which pytest 9.2 no longer has.

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select

from core.glossary import CaseStatus
from core.models import Resident
from core.models.base import utcnow
from tests.support import factories
from web.residents.api import OPENAPI_PATH
from web.residents.api import init_app as init_api

SEED = 20261121
MAX_EXAMPLES = 25


def _document() -> dict:
    return init_api(Flask("openapi-document")).spec.to_dict()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict({"seed": SEED}))


@pytest.fixture
def fuzz_app(app, db, catalogue, checkpoint, api_settings, resident_headers):
    """A fresh app with a catalogue, a checkpoint and a closed case of the signed-in resident's."""
    with db.session() as s:
        resident = s.scalar(select(Resident).where(Resident.mini_openid == "oMini_resident_1"))
        factories.case(s, api_settings, reporter=resident, status=CaseStatus.CLOSED).closed_at = utcnow()
        s.commit()
    return app


def test_the_app_serves_the_document_under_test(client):
    assert client.get(OPENAPI_PATH).get_json() == DOCUMENT


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_a_server_error_or_breaks_the_schema(case, fuzz_app, resident_headers):
    case.call_and_validate(
        app=fuzz_app, headers=resident_headers, checks=[not_a_server_error, response_schema_conformance]
    )

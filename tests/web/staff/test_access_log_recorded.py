"""Every audited action, done the way staff do it, leaves one access-log entry: who, what, from where, result."""

from __future__ import annotations

import json

import pyotp
import pytest

from core.audit import actions as A
from core.audit import verify_chain
from core.glossary import Role
from core.grants.terms import GrantStatus
from core.models import Case, CheckIn, Checkpoint, StaffUser
from tests.support import factories, grants
from tests.support.audit import ADDRESS, entries, from_address, last
from tests.support.console import console_login, csrf_token
from tests.support.staff import setup_area, token

PHONE = "13912345678"
OPENID = "oResident_f_0001"  # the reporter setup_area makes


@pytest.fixture
def number(app) -> str:
    """setup_area's case in G1, with the reporter's phone on it (what must never reach the log)."""
    made = setup_area(app)
    with app.extensions["gongzhi"].database.session() as s:
        case = s.query(Case).filter_by(number=made).one()
        case.contact_phone = PHONE
        case.reporter.phone = PHONE
        s.commit()
    return made


@pytest.fixture
def visitor(client):
    return from_address(client)


def _who(entry) -> tuple:
    return entry.actor_name, entry.address, entry.result


def test_a_console_sign_in_is_recorded_with_the_account_and_address(app, visitor, number):
    console_login(visitor, "worker")
    entry = last(app, A.STAFF_SIGN_IN)
    assert _who(entry) == ("worker", ADDRESS, "ok")
    assert entry.target_type == "staff" and entry.detail == {"channel": "console"}


def test_a_wrong_password_is_recorded_against_the_account_tried(app, visitor, number):
    form = {"csrf_token": csrf_token(visitor), "username": "worker", "password": "wrong-password-1"}
    assert visitor.post("/console/login", data=form).status_code == 401
    entry = last(app, A.STAFF_SIGN_IN_FAILED)
    assert _who(entry) == ("worker", ADDRESS, "failed")
    assert entry.detail == {"channel": "console", "reason": "password"}
    assert not entries(app, A.STAFF_SIGN_IN)


def test_a_name_that_is_no_account_is_not_kept(app, visitor, number):
    # People type their password into the name field; a name that matches nobody is not stored.
    typed = "Secret-typed-in-name-9"
    form = {"csrf_token": csrf_token(visitor), "username": typed, "password": "whatever-1A"}
    assert visitor.post("/console/login", data=form).status_code == 401
    entry = last(app, A.STAFF_SIGN_IN_FAILED)
    assert (entry.actor_staff_id, entry.actor_name, entry.target_id, entry.address) == (None, None, None, ADDRESS)
    assert typed not in json.dumps([e.detail for e in entries(app)], ensure_ascii=False)


def test_a_wrong_second_factor_is_recorded_as_such(app, visitor, number):
    enrolled = app.test_cli_runner().invoke(args=["staff", "totp", "worker"])
    assert enrolled.exit_code == 0, enrolled.output
    form = {"csrf_token": csrf_token(visitor), "username": "worker", "password": factories.PASSWORD, "totp": "000000"}
    assert visitor.post("/console/login", data=form).status_code == 401
    entry = last(app, A.STAFF_SIGN_IN_FAILED)
    assert _who(entry) == ("worker", ADDRESS, "failed")
    assert entry.detail == {"channel": "console", "reason": "second_factor"}
    uri = next(line for line in enrolled.output.splitlines() if line.startswith("otpauth://"))
    form = {**form, "csrf_token": csrf_token(visitor), "totp": pyotp.TOTP(pyotp.parse_uri(uri).secret).now()}
    assert visitor.post("/console/login", data=form).status_code == 303
    assert _who(last(app, A.STAFF_SIGN_IN)) == ("worker", ADDRESS, "ok")


def test_staff_api_sign_in_and_its_failure_are_recorded(app, visitor, number):
    bad = visitor.post("/api/v1/staff/token", json={"username": "street", "password": "nope-nope-1A"})
    assert bad.status_code == 401
    assert _who(last(app, A.STAFF_SIGN_IN_FAILED)) == ("street", ADDRESS, "failed")
    token(visitor, "street")
    entry = last(app, A.STAFF_SIGN_IN)
    assert _who(entry) == ("street", ADDRESS, "ok") and entry.detail == {"channel": "api"}


def test_opening_a_case_in_the_console_is_one_entry_and_the_queue_one_with_its_count(app, visitor, number):
    console_login(visitor, "worker")
    assert visitor.get(f"/console/cases/{number}").status_code == 200
    viewed = entries(app, A.CASE_VIEW)
    assert len(viewed) == 1
    assert _who(viewed[0]) == ("worker", ADDRESS, "ok")
    assert (viewed[0].target_type, viewed[0].target_id, viewed[0].detail) == ("case", number, {"channel": "console"})
    assert visitor.get("/console/?view=all").status_code == 200
    listed = last(app, A.CASE_LIST)
    assert listed.actor_name == "worker" and listed.detail == {
        "channel": "console",
        "view": "all",
        "page": 1,
        "count": 1,
    }


def test_someone_elses_case_is_refused_and_recorded_as_denied(app, visitor, number):
    console_login(visitor, "other-street")
    assert visitor.get(f"/console/cases/{number}").status_code == 404
    entry = last(app, A.CASE_VIEW)
    assert _who(entry) == ("other-street", ADDRESS, "denied") and entry.target_id == number
    assert visitor.get("/console/cases/NO-SUCH-CASE").status_code == 404
    missing = last(app, A.CASE_VIEW)
    assert (missing.result, missing.target_id) == ("failed", None)
    assert verify_chain(app.extensions["gongzhi"].database.session()) is None


def test_the_staff_api_records_a_case_read_and_a_refused_one(app, visitor, number):
    mine, outsider = token(visitor, "worker"), token(visitor, "other-street")
    assert visitor.get(f"/api/v1/staff/cases/{number}", headers=mine).status_code == 200
    entry = last(app, A.CASE_VIEW)
    assert _who(entry) == ("worker", ADDRESS, "ok") and entry.detail == {"channel": "api"}
    assert visitor.get(f"/api/v1/staff/cases/{number}", headers=outsider).status_code == 404
    assert _who(last(app, A.CASE_VIEW)) == ("other-street", ADDRESS, "denied")
    assert visitor.get("/api/v1/staff/cases", headers=mine).status_code == 200
    assert last(app, A.CASE_LIST).detail["count"] == 1


def test_check_ins_listed_and_coverage_shown_are_recorded(app, visitor, number):
    with app.extensions["gongzhi"].database.session() as s:
        point = Checkpoint(label="CP9", name="东门", grid=s.query(Case).one().grid, lat=31.8, lng=117.3)
        worker = s.query(StaffUser).filter_by(username="worker").one()
        s.add(CheckIn(staff_id=worker.id, checkpoint=point, source="api"))
        s.commit()
    headers = token(visitor, "street")
    assert visitor.get("/api/v1/staff/checkins", headers=headers).status_code == 200
    entry = last(app, A.CHECKINS_VIEW)
    assert _who(entry) == ("street", ADDRESS, "ok")
    assert entry.detail == {"channel": "api", "kind": "check_ins", "count": 1}
    assert visitor.get("/api/v1/staff/coverage", headers=headers).status_code == 200
    assert last(app, A.CHECKINS_VIEW).detail["kind"] == "coverage"
    console_login(visitor, "street")
    assert visitor.get("/console/patrol").status_code == 200
    assert last(app, A.CHECKINS_VIEW).detail == {"channel": "console", "kind": "coverage", "count": 2}


def test_every_csv_download_is_an_export(app, visitor, number):
    console_login(visitor, "center")
    assert visitor.get("/console/patrol?format=csv").status_code == 200
    patrol = last(app, A.EXPORT)
    assert _who(patrol) == ("center", ADDRESS, "ok")
    assert patrol.detail["kind"] == "patrol_coverage" and patrol.detail["format"] == "csv"
    assert visitor.get("/console/figures?format=csv").status_code == 200
    assert last(app, A.EXPORT).detail["kind"] == "figures"
    assert len(entries(app, A.EXPORT)) == 2


def test_grant_applications_viewed_and_refused_are_recorded(app, visitor):
    with app.extensions["gongzhi"].database.session() as s:
        grant_round = grants.open_round(s)
        application = grants.at_status(s, grants.application(s, grant_round), GrantStatus.SUBMITTED)
        grants.staff_user(s, "fx-station")
        factories.staff(s, "judge", Role.COMMITTEE)
        s.commit()
        round_id, application_id = grant_round.id, application.id
    console_login(visitor, "fx-station")
    assert visitor.get(f"/console/grants/{round_id}").status_code == 200
    listed = last(app, A.GRANT_APPLICATION_LIST)
    assert (listed.target_type, listed.target_id, listed.detail) == ("grant_round", str(round_id), {"count": 1})
    assert visitor.get(f"/console/grants/applications/{application_id}").status_code == 200
    entry = last(app, A.GRANT_APPLICATION_VIEW)
    assert _who(entry) == ("fx-station", ADDRESS, "ok")
    assert (entry.target_type, entry.target_id) == ("grant_application", str(application_id))
    visitor.post("/console/logout", data={"csrf_token": csrf_token(visitor, "/console/account")})
    console_login(visitor, "judge")  # a committee member not seated on this round
    assert visitor.get(f"/console/grants/applications/{application_id}").status_code == 404
    assert _who(last(app, A.GRANT_APPLICATION_VIEW)) == ("judge", ADDRESS, "denied")


def test_nothing_personal_reaches_the_log(app, visitor, number):
    console_login(visitor, "center")
    visitor.get("/console/")
    visitor.get(f"/console/cases/{number}")
    visitor.get("/console/patrol?format=csv")
    headers = token(visitor, "center")
    visitor.get(f"/api/v1/staff/cases/{number}", headers=headers)
    visitor.get("/api/v1/staff/cases", headers=headers)
    rows = entries(app)
    assert {e.action for e in rows} >= {A.STAFF_SIGN_IN, A.CASE_LIST, A.CASE_VIEW, A.EXPORT}
    with app.extensions["gongzhi"].database.session() as s:
        description = s.query(Case).one().description
    for entry in rows:
        text = json.dumps(
            [entry.actor_name, entry.target_type, entry.target_id, entry.address, entry.detail], ensure_ascii=False
        )
        assert PHONE not in text and OPENID not in text and description not in text, text

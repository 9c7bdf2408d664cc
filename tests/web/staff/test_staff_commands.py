"""The operator's staff commands: set-password asks for the password, totp prints the otpauth URI."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from core.glossary import Role
from core.models import StaffUser
from tests.support import factories


def _worker(app) -> None:
    with app.extensions["gongzhi"].database.session() as s:
        factories.grid_tree(s)
        factories.staff(s, "worker", Role.GRID_WORKER, "G1")
        s.commit()


def test_set_password_prompts_and_applies_the_policy(app, client):
    _worker(app)
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["staff", "set-password", "worker"], input="short\nshort\n")
    assert weak.exit_code != 0 and "至少 10 位" in weak.output
    new = "Another-pass-2026"
    done = runner.invoke(args=["staff", "set-password", "worker"], input=f"{new}\n{new}\n")
    assert done.exit_code == 0, done.output
    assert new not in done.output  # not echoed
    assert client.post("/api/v1/staff/token", json={"username": "worker", "password": new}).status_code == 200
    assert runner.invoke(args=["staff", "set-password", "nobody"], input=f"{new}\n{new}\n").exit_code != 0


def test_staff_create_prompts_for_a_password_it_is_not_given(app, client):
    _worker(app)
    new = "Center-pass-2026"
    done = app.test_cli_runner().invoke(
        args=["staff", "create", "--username", "boss", "--role", "district_center"], input=f"{new}\n{new}\n"
    )
    assert done.exit_code == 0, done.output
    assert client.post("/api/v1/staff/token", json={"username": "boss", "password": new}).status_code == 200


def test_totp_command_prints_the_uri_and_the_account_then_needs_the_code(app, client):
    _worker(app)
    done = app.test_cli_runner().invoke(args=["staff", "totp", "worker"])
    assert done.exit_code == 0, done.output
    uri = next(line for line in done.output.splitlines() if line.startswith("otpauth://totp/"))
    secret = pyotp.parse_uri(uri).secret
    plain = {"username": "worker", "password": factories.PASSWORD}
    assert client.post("/api/v1/staff/token", json=plain).status_code == 401
    assert client.post("/api/v1/staff/token", json={**plain, "totp": pyotp.TOTP(secret).now()}).status_code == 200
    with app.extensions["gongzhi"].database.session() as s:
        assert s.scalar(select(StaffUser.totp_secret)) and secret not in s.scalar(select(StaffUser.totp_secret))

"""The staff API under /api/v1/staff (bearer tokens, web/staff/auth.py): cases and their moves, patrols."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from web.staff.api import cases, contact, patrol

    app.register_blueprint(cases.blueprint)
    app.register_blueprint(contact.blueprint)
    app.register_blueprint(patrol.blueprint)

"""What staff call: the staff API under /api/v1/staff, the console under /console, and their sign-in."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from web.staff import api, console, old_login

    api.init_app(app)
    app.register_blueprint(old_login.blueprint)
    console.init_app(app)

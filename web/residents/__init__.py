"""What residents call: the mini-program's API, the page behind every sign, and a case's tracking page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from web.residents import api, scan, track

    app.register_blueprint(scan.blueprint)
    app.register_blueprint(track.blueprint)
    api.init_app(app)

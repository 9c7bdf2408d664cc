"""What residents call: the mini-program's API, the page behind every sign, a case's tracking page, their data page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from web.residents import api, mydata, scan, track

    app.register_blueprint(scan.blueprint)
    app.register_blueprint(mydata.blueprint)
    app.register_blueprint(track.blueprint)
    api.init_app(app)

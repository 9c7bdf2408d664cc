"""What operators and machines call: /healthz, /readyz, /metrics, and the request id and timing of every request."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from web.ops import health, metrics, requests

    requests.init_app(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(metrics.blueprint)

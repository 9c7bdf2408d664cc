"""What the district's own governance platform calls: signed events at /platform (docs/platform-api.md)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from web.platform import events

    app.register_blueprint(events.blueprint)

"""What anyone may call: the front page, signed photos, the micro-grant pages and Open311 GeoReport v2."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from web import errors
    from web.public import grants, home, media, privacy
    from web.public.open311 import cli, views

    app.register_blueprint(home.blueprint)
    app.register_blueprint(media.blueprint)
    app.register_blueprint(grants.blueprint)
    app.register_blueprint(privacy.blueprint)
    app.register_blueprint(views.blueprint)
    errors.shape_errors(app, views.ERROR_SHAPE)
    cli.init_app(app)

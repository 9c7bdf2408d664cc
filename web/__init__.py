"""The Flask app factory and every HTTP face of 共治 except the WeChat callback (see bot/)."""

from __future__ import annotations

from flask import Flask

from core.context import AppContext

EXTENSION = "gongzhi"


def create_app(context: AppContext) -> Flask:
    """A Flask app serving `context`; the composition root adds the bot's blueprint."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(
        SECRET_KEY=context.settings.secret_key,
        JSON_AS_ASCII=False,
        # Room for nine 10 MB photos and their form fields; each endpoint checks its own limit.
        MAX_CONTENT_LENGTH=100 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=context.settings.public_base_url.startswith("https://"),
        PREFERRED_URL_SCHEME="https" if context.settings.public_base_url.startswith("https://") else "http",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = context

    from web import api, cli, console, csrf, errors, home, media, patrol_api, scan, staff_api, staff_pages, track
    from web.grants_pages import blueprint as grants_pages_blueprint
    from web.open311 import views as open311_views
    from web.platform_api import blueprint as platform_api_blueprint

    errors.init_app(app)
    csrf.init_app(app)
    cli.init_app(app)
    app.register_blueprint(home.blueprint)
    app.register_blueprint(staff_api.blueprint)
    app.register_blueprint(patrol_api.blueprint)
    app.register_blueprint(scan.blueprint)
    app.register_blueprint(track.blueprint)
    app.register_blueprint(staff_pages.blueprint)
    console.init_app(app)
    app.register_blueprint(media.blueprint)
    app.register_blueprint(grants_pages_blueprint)
    api.init_app(app)
    app.register_blueprint(open311_views.blueprint)
    app.register_blueprint(platform_api_blueprint)

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        from flask import g

        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    return app

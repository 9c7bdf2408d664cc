"""The composition root: settings from the environment, the queue wired, the app with every face."""

from __future__ import annotations

from flask import Flask

from bot.cli import create_cli as wechat_cli
from bot.views import create_blueprint as wechat_blueprint
from core.errors import ConfigError
from core.settings import Settings
from web import create_app as create_web_app
from worker.wiring import build_context


def create_app(settings: Settings | None = None) -> Flask:
    """The whole application; `flask --app wsgi` and gunicorn (`wsgi:create_app()`) both call this."""
    try:
        settings = settings or Settings.from_env()
    except ConfigError as exc:
        # A sentence, not a traceback: whoever starts the service needs the names, nothing else.
        raise SystemExit(f"共治 cannot start: {exc.message}") from None
    context = build_context(settings)
    app = create_web_app(context)
    app.register_blueprint(wechat_blueprint(context))
    app.cli.add_command(wechat_cli(context))
    return app

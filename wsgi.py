"""The composition root: settings from the environment, the queue wired, the app with every face."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import cache

from flask import Flask

from bot import views as wechat_views
from core import logs
from core.context import AppContext
from core.errors import ConfigError
from core.reporting import init_error_reporting
from core.settings import REAL_WECHAT_API_BASE, Settings
from qr.cli import create_cli as qr_cli
from web import create_app as create_web_app
from worker.wiring import build_context
from wxclient.official import GongzhiWeChatClient, make_wechat_client
from wxclient.redact import install_log_redaction, redact


def create_app(settings: Settings | None = None) -> Flask:
    """The whole application; `flask --app wsgi` and gunicorn (`wsgi:create_app()`) both call this."""
    try:
        settings = settings or Settings.from_env()
    except ConfigError as exc:
        # A sentence, not a traceback: whoever starts the service needs the names, nothing else.
        raise SystemExit(f"共治 cannot start: {exc.message}") from None
    install_log_redaction(settings.secret_values())
    _set_up_error_reports(settings)
    context = build_context(settings)
    app = create_web_app(context)
    _log_once_serving(app, settings)
    wechat_views.init_app(app)
    app.cli.add_command(qr_cli(context, wechat_qr_url=wechat_qr_url(context)))
    return app


def _log_once_serving(app: Flask, settings: Settings) -> None:
    """Log lines on stdout for `flask run`, set up at its first request.

    Not before: a CLI command's stdout is its output (`grid list` is read by scripts). A process
    whose logging someone already set up (gunicorn's logconfig_dict, pytest) keeps it.
    """
    lock = threading.Lock()
    done = threading.Event()

    def configure() -> None:
        if done.is_set():
            return
        with lock:
            if not done.is_set() and not logging.getLogger().handlers:
                # The development server gave its own logger a handler at start; one line each.
                logging.getLogger("werkzeug").propagate = False
                logs.configure(settings.logs_as_json)
            done.set()

    app.before_request(configure)


def _set_up_error_reports(settings: Settings) -> None:
    """Unhandled errors to SENTRY_DSN, for gunicorn and `flask run` alike."""
    if settings.sentry_dsn:
        from sentry_sdk.integrations.flask import FlaskIntegration
        from sentry_sdk.integrations.rq import RqIntegration

        init_error_reporting(settings, [FlaskIntegration(), RqIntegration()], redact)


def wechat_qr_url(context: AppContext) -> Callable[[str], str] | None:
    """`scene -> URL` of the official account's permanent QR code for a scene, for `qr signs --wechat`.

    None while the account is the development placeholder aimed at the real WeChat API: those
    credentials can only fail there, and the command says so instead. The client is made on the
    first call, so serving the app never builds one.
    """
    settings = context.settings
    if settings.wechat_api_base == REAL_WECHAT_API_BASE and settings.wechat_app_secret == Settings.wechat_app_secret:
        return None

    @cache
    def client() -> GongzhiWeChatClient:
        return make_wechat_client(settings, context.redis)

    def create(scene: str) -> str:
        answer = client().qrcode.create(
            {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
        )
        return str(answer["url"])

    return create

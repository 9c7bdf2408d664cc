"""The Flask app factory: every HTTP face of 共治 but the WeChat callback (bot/), grouped by who calls.

residents/ (mini-program API, sign pages, tracking), staff/ (staff API, console), public/ (front page,
photos, grant pages, Open311) and platform/ (the district's platform); the plumbing they share is here.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from core.context import AppContext
from core.grants.terms import yuan
from core.privacy.masking import mask_text

EXTENSION = "gongzhi"


def _yuan(fen: int | None) -> str:
    return yuan(fen or 0)


def create_app(context: AppContext) -> Flask:
    """A Flask app serving `context`; the composition root adds the bot's blueprint."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(
        SECRET_KEY=context.settings.secret_key,
        # Flask's own sessions (the console, the sign page) survive a SECRET_KEY rotation too.
        SECRET_KEY_FALLBACKS=list(context.settings.secret_key_fallbacks),
        JSON_AS_ASCII=False,
        # 1 MB; a route taking files says its own limit (web/limits.py).
        MAX_CONTENT_LENGTH=1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=context.settings.public_base_url.startswith("https://"),
        PREFERRED_URL_SCHEME="https" if context.settings.public_base_url.startswith("https://") else "http",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = context
    hops = context.settings.trusted_proxy_hops
    if hops:
        # The client is the address the nearest trusted proxy saw; entries a client put in
        # X-Forwarded-For itself lie further left and are ignored. The host is never taken from
        # a header: links are built from PUBLIC_BASE_URL.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)  # type: ignore[method-assign]

    from web import cli, csrf, errors, headers, limits, ops, platform, public, residents, staff, stored_files

    limits.init_app(app)  # first: no other hook may read a body before its limit is set
    ops.init_app(app)  # its request-id hook puts itself before every other
    errors.init_app(app)
    csrf.init_app(app)
    headers.init_app(app, context.settings.public_base_url, stored_files.redirect_origin(context.settings))
    cli.init_app(app)
    # Money is kept in fen; the public grant pages and the console's both show it as 元.
    app.add_template_filter(_yuan, "yuan")
    # Every text a public page shows from what someone typed passes this (core.privacy.masking).
    app.add_template_filter(mask_text, "masked")
    public.init_app(app)
    residents.init_app(app)
    staff.init_app(app)
    platform.init_app(app)

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        from flask import g

        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    return app

"""The staff console (/console): server-rendered pages for moving cases, the figures and the jobs."""

from __future__ import annotations

from types import ModuleType

from flask import Flask


def init_app(app: Flask) -> None:
    """Register every console page; a module with NAV = (endpoint, label) gets a link in the top bar."""
    from web.console import auth, cases, figures, grants, jobs, patrol, platform

    modules: tuple[ModuleType, ...] = (auth, cases, figures, patrol, jobs, platform, grants)
    for module in modules:
        app.register_blueprint(module.blueprint)
    nav = [module.NAV for module in modules if hasattr(module, "NAV")]
    app.jinja_env.globals["console_nav"] = lambda: nav

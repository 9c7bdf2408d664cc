"""The staff console (/console): server-rendered pages for moving cases, the figures and the jobs."""

from __future__ import annotations

from types import ModuleType

from flask import Flask, g

from core.glossary import Role
from web.staff.audit import AUDITOR_ENDPOINTS


def init_app(app: Flask) -> None:
    """Register every console page; a module with NAV = (endpoint, label) gets a link in the top bar,
    shown to the roles in its NAV_ROLES if it has one."""
    from web.staff.console import account, audit, auth, cases, figures, grants, jobs, patrol, platform

    modules: tuple[ModuleType, ...] = (auth, cases, figures, patrol, jobs, platform, grants, audit, account)
    for module in modules:
        app.register_blueprint(module.blueprint)
    nav = [(module.NAV, getattr(module, "NAV_ROLES", None)) for module in modules if hasattr(module, "NAV")]

    def console_nav() -> list[tuple[str, str]]:
        # A link only for those the page lets in (NAV_ROLES; none given: everyone signed in), and for
        # the auditor only the pages they may open at all.
        role = g.staff.role if g.get("staff") is not None else None
        shown = [entry for entry, roles in nav if roles is None or role in roles]
        if role == Role.AUDITOR:
            shown = [entry for entry in shown if entry[0] in AUDITOR_ENDPOINTS]
        return shown

    app.jinja_env.globals["console_nav"] = console_nav

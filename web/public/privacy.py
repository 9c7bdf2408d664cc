"""The privacy notice page, /privacy: what is collected, why, who sees it, how long, and whom to ask."""

from __future__ import annotations

from flask import Blueprint, render_template

from core.privacy_notice import NOTICE_PATH, NOTICE_TITLE, SCOPES, notice_sections
from web.context import current_context

blueprint = Blueprint("privacy", __name__)


@blueprint.get(NOTICE_PATH)
def notice() -> str:
    settings = current_context().settings
    return render_template(
        "privacy.html",
        title=NOTICE_TITLE,
        version=settings.privacy_notice_version,
        sections=notice_sections(settings),
        scopes=SCOPES,
    )

"""Public micro-grant pages: /grants lists the rounds, /grants/<id> shows a round's projects, money and progress.

Nothing personal is shown: no applicant, no team member's name or phone, no committee score.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from core.glossary import PhotoStatus
from core.grants import committee, loop, money, progress
from core.models import GrantApplication, GrantFile, GrantRound
from web import grant_files
from web.context import current_context, current_store, db_session
from web.stored_files import send_stored

blueprint = Blueprint("grants_pages", __name__)
# Applications whose photos anyone may see: published grants.
PUBLIC_PHOTOS = loop.FUNDED


@blueprint.get("/grants")
def rounds() -> Any:
    found = db_session().scalars(select(GrantRound).order_by(GrantRound.id.desc()))
    return render_template("grants/rounds.html", rounds=list(found), tz=current_context().settings.tz)


def _project(session: Any, application: GrantApplication) -> dict[str, Any]:
    settings = current_context().settings
    balances = money.balances(session, application)
    reports = [r for r in progress.reports(session, application.id) if r.submitted_at is not None]
    photos = session.scalars(
        select(GrantFile)
        .where(
            GrantFile.application_id == application.id,
            GrantFile.kind == "photo",
            GrantFile.status == PhotoStatus.READY,
        )
        .order_by(GrantFile.id)
    )
    by_report: dict[int | None, list[str]] = {}
    for file in photos:
        by_report.setdefault(file.report_id, []).append(grant_files.file_url(settings, file))
    return {
        "application": application,
        "balances": balances,
        "paid_fen": sum(b.paid_fen for b in balances),
        "reports": [(r, by_report.get(r.id, [])) for r in reports],
        "photos": by_report.get(None, []),
    }


@blueprint.get("/grants/<int:round_id>")
def one_round(round_id: int) -> Any:
    session = db_session()
    grant_round = session.get(GrantRound, round_id)
    if grant_round is None:
        abort(404)
    funded = list(
        session.scalars(
            select(GrantApplication)
            .where(GrantApplication.round_id == round_id, GrantApplication.status.in_(loop.FUNDED))
            .order_by(GrantApplication.id)
        )
    )
    reviewing = list(
        session.scalars(
            select(GrantApplication)
            .where(GrantApplication.round_id == round_id, GrantApplication.status.in_(loop.UNDER_REVIEW))
            .order_by(GrantApplication.id)
        )
    )
    by_source = {source.id: 0 for source in grant_round.sources}
    projects = [_project(session, a) for a in funded]
    for project in projects:
        for balance in project["balances"]:
            by_source[balance.source_id] += balance.granted_fen
    return render_template(
        "grants/round.html",
        round=grant_round,
        projects=projects,
        reviewing=[(a, committee.supports(session, a.id)) for a in reviewing],
        by_source=[(s, by_source[s.id]) for s in grant_round.sources],
        approved_total=sum(a.approved_fen or 0 for a in funded),
        tz=current_context().settings.tz,
    )


@blueprint.get("/grants/files/<token>")
def photo(token: str) -> Any:
    """A grant photo or attachment by signed token (URLs are signed only for those who may see the file)."""
    settings = current_context().settings
    file_id = grant_files.file_id_of(settings, token) if len(token) <= 512 else None
    file = db_session().get(GrantFile, file_id) if file_id else None
    if file is None or file.status != PhotoStatus.READY or file.path is None:
        abort(404)  # a photo still waiting for the worker is served only as its clean copy, once ready
    store, redirect_allowed = current_store(), settings.media_redirect
    if file.kind == "photo":
        return send_stored(store, file.path, mimetype="image/jpeg", redirect_allowed=redirect_allowed, max_age=3600)
    # a PDF: downloaded, never shown inline under our origin
    return send_stored(
        store,
        file.path,
        mimetype=file.content_type,
        redirect_allowed=redirect_allowed,
        max_age=3600,
        download_name=file.name,
    )

"""A copy of everything held about a resident (PIPL art. 45), as plain JSON-ready values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.audit import Actor, record
from core.glossary import PhotoStatus
from core.media_urls import media_url
from core.models import (
    Case,
    CaseEvent,
    GrantApplication,
    GrantEvent,
    Notification,
    Photo,
    PrivacyConsent,
    Resident,
    SubscribeConsent,
    case_followers,
)
from core.privacy.anonymise import shown_note
from core.settings import Settings


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _resident(resident: Resident) -> dict[str, Any]:
    located = resident.last_lat is not None and resident.last_lng is not None
    return {
        "id": resident.id,
        "openid": resident.openid,
        "mini_openid": resident.mini_openid,
        "unionid": resident.unionid,
        "nickname": resident.nickname,
        "phone": resident.phone,
        "is_follower": resident.is_follower,
        "followed_at": _at(resident.followed_at),
        "unfollowed_at": _at(resident.unfollowed_at),
        "last_message_at": _at(resident.last_message_at),
        "last_position": (
            {
                "lat": resident.last_lat,
                "lng": resident.last_lng,
                "coord_system": resident.last_coord_system.value if resident.last_coord_system else None,
                "at": _at(resident.last_located_at),
            }
            if located
            else None
        ),
        "created_at": _at(resident.created_at),
    }


def _reported(session: Session, settings: Settings, case: Case, resident: Resident) -> dict[str, Any]:
    photos = session.scalars(
        select(Photo).where(Photo.case_id == case.id, Photo.event_id.is_(None)).order_by(Photo.id)
    ).all()
    own_notes = [
        {"at": _at(e.created_at), "action": e.action, "text": shown_note(e)}
        for e in case.events
        if e.actor_resident_id == resident.id and e.note
    ]
    located = case.lat is not None and case.lng is not None
    return {
        "number": case.number,
        "status": case.status.value,
        "status_label": case.status.label,
        "category": case.category.name if case.category else None,
        "description": case.description,
        "position": (
            {"lat": case.lat, "lng": case.lng, "coord_system": case.coord_system.value if case.coord_system else None}
            if located
            else None
        ),
        "location_label": case.location_label,
        "contact_phone": case.contact_phone,
        "anonymous": case.anonymous,
        "rating": case.rating,
        "rating_comment": case.rating_comment,
        "reported_at": _at(case.created_at),
        "own_notes": own_notes,
        "photos": [
            media_url(settings, photo.path) for photo in photos if photo.status == PhotoStatus.READY and photo.path
        ],
    }


def _notifications(session: Session, resident: Resident) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Notification, Case.number, GrantApplication.title)
        .outerjoin(CaseEvent, CaseEvent.id == Notification.event_id)
        .outerjoin(Case, Case.id == CaseEvent.case_id)
        .outerjoin(GrantEvent, GrantEvent.id == Notification.grant_event_id)
        .outerjoin(GrantApplication, GrantApplication.id == GrantEvent.application_id)
        .where(Notification.resident_id == resident.id)
        .order_by(Notification.id)
    ).all()
    return [
        {
            "case_number": number,
            "grant_title": title,
            "channel": note.channel,
            "status": note.status.value,
            "content": note.content,
            "sent_at": _at(note.sent_at),
            "recorded_at": _at(note.created_at),
        }
        for note, number, title in rows
    ]


def _application(application: GrantApplication) -> dict[str, Any]:
    return {
        "id": application.id,
        "round": application.round.name,
        "status": application.status.value,
        "group_name": application.group_name,
        "title": application.title,
        "category": application.category,
        "summary": application.summary,
        "beneficiaries": application.beneficiaries,
        "schedule": application.schedule,
        "team": list(application.team or []),
        "budget_lines": list(application.budget_lines or []),
        "requested_fen": application.requested_fen,
        "approved_fen": application.approved_fen,
        "submitted_at": _at(application.submitted_at),
        "created_at": _at(application.created_at),
    }


def resident_data(session: Session, settings: Settings, resident: Resident) -> dict[str, Any]:
    """Everything held about `resident`: the row, cases reported (with their own texts and photo links)
    and followed, notifications, consents, subscriptions and grant applications. Nobody else's data:
    a followed case shows only what its follower may see of it."""
    reported = list(session.scalars(select(Case).where(Case.reporter_id == resident.id).order_by(Case.id)))
    followed_ids = select(case_followers.c.case_id).where(case_followers.c.resident_id == resident.id)
    followed = session.scalars(
        select(Case)
        .where(Case.id.in_(followed_ids), or_(Case.reporter_id.is_(None), Case.reporter_id != resident.id))
        .order_by(Case.id)
    ).all()
    subscriptions = session.scalars(
        select(SubscribeConsent).where(SubscribeConsent.resident_id == resident.id).order_by(SubscribeConsent.id)
    ).all()
    applications = session.scalars(
        select(GrantApplication).where(GrantApplication.applicant_id == resident.id).order_by(GrantApplication.id)
    ).all()
    consents = session.scalars(
        select(PrivacyConsent).where(PrivacyConsent.resident_id == resident.id).order_by(PrivacyConsent.id)
    ).all()
    return {
        "resident": _resident(resident),
        "cases_reported": [_reported(session, settings, case, resident) for case in reported],
        "cases_followed": [
            {"number": c.number, "status": c.status.value, "status_label": c.status.label} for c in followed
        ],
        "notifications": _notifications(session, resident),
        # The privacy-notice agreements, oldest first (the latest counts); WeChat subscriptions are below.
        "consents": [
            {
                "version": c.version,
                "scopes": sorted(c.scopes or []),
                "channel": c.channel,
                "agreed_at": _at(c.agreed_at),
            }
            for c in consents
        ],
        "subscriptions": [{"template_id": s.template_id, "remaining": s.remaining} for s in subscriptions],
        "grant_applications": [_application(a) for a in applications],
    }


def export_resident(session: Session, settings: Settings, resident: Resident, *, channel: str) -> dict[str, Any]:
    """`resident_data`, and the request recorded in the access log (`privacy.export`, the resident's id only)."""
    data = resident_data(session, settings, resident)
    actor = Actor(resident_id=resident.id)
    record(session, actor, "privacy.export", "resident", resident.id, detail={"channel": channel})
    return data

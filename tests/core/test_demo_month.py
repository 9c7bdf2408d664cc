"""The demo district's lived-in month: every source, status and tier, real timelines, photos that are served."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.glossary import CaseSource, CaseStatus, NotificationStatus, PhotoStatus, Tier
from core.models import Case, CaseEvent, CheckIn, Notification, Photo, Resident
from core.models.base import utcnow
from core.services.demo import DEMO_PASSWORD, load_demo
from core.services.demo_month import CASES, DEMO_PREFIX, load_demo_month
from media.demo_images import DemoPhotos
from media.storage import store_for
from tests.support.console import console_login

NUMBER = re.compile(r"GZ\d{8}-\d{6}")
pytestmark = pytest.mark.slow  # the demo district's accounts and a month of cases


@pytest.fixture
def month(app, settings):
    """The demo district and its month, loaded once into the empty test database as `flask demo` does."""
    context = app.extensions["gongzhi"]
    with context.uow() as uow:
        load_demo(uow.session, settings)
        summary = load_demo_month(uow.session, settings, DemoPhotos(store_for(settings)))
        uow.commit()
    return summary


def count(session, *where, model=Case) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_month_has_every_source_status_and_tier_real_timelines_photos_and_check_ins(month, app, session, settings):
    """One month loaded for all these checks: the demo district alone takes seconds to load."""
    cases = session.scalars(select(Case)).all()
    assert len(cases) == CASES == month.cases
    assert {c.source for c in cases} == set(CaseSource)
    statuses = Counter(c.status for c in cases)
    assert set(statuses) == set(CaseStatus) and all(n >= 3 for n in statuses.values()), statuses
    assert {c.tier for c in cases if c.tier} == set(Tier)
    assert all(c.description.startswith(DEMO_PREFIX) and c.intake_key.startswith("demo:") for c in cases)
    residents = session.scalars(select(Resident).where(Resident.id.in_([c.reporter_id for c in cases]))).all()
    assert residents and all((r.openid or r.mini_openid).startswith("demo-") for r in residents)
    span = max(c.created_at for c in cases) - min(c.created_at for c in cases)
    assert timedelta(days=25) < span <= timedelta(days=30)

    now = utcnow()
    overdue = session.scalars(select(Case).where(Case.status == CaseStatus.DISPATCHED, Case.deadline_at < now)).all()
    assert len(overdue) >= 5 and all(c.overdue_at == c.deadline_at for c in overdue)
    assert count(session, Case.handled_at > Case.deadline_at) >= 3  # handled, but after the time limit
    rated = session.scalars(select(Case).where(Case.rating.is_not(None))).all()
    assert len(rated) == count(session, Case.status == CaseStatus.EVALUATED) and len({c.rating for c in rated}) >= 4

    for case in session.scalars(select(Case)):
        events = case.events
        assert events[0].action == "report" and events[0].created_at == case.created_at
        for before, after in pairwise(events):
            assert after.from_status == before.to_status and after.created_at >= before.created_at
        assert events[-1].to_status == case.status and events[-1].created_at <= utcnow()
        stamps = {"accept": case.accepted_at, "dispatch": case.dispatched_at, "handle": case.handled_at}
        for event in events:
            if event.action in stamps:
                assert stamps[event.action] == event.created_at, (case.number, event.action)
        if case.status == CaseStatus.DISPATCHED:
            assert case.assignee_id is not None and case.deadline_at == case.dispatched_at + timedelta(
                hours=case.category.time_limit_hours
            )

    photos = session.scalars(select(Photo)).all()
    assert len(photos) == month.photos > CASES // 3
    assert all(p.status == PhotoStatus.READY for p in photos)
    assert all(
        (Path(settings.media_dir) / p.path).is_file() and (Path(settings.media_dir) / p.thumb_path).is_file()
        for p in photos
    )
    after = [p for p in photos if p.event_id is not None]
    handled = {e.id for e in session.scalars(select(CaseEvent).where(CaseEvent.action == "handle"))}
    assert after and {p.event_id for p in after} <= handled
    assert count(session, model=CheckIn) == month.check_ins > 500
    sent = count(session, Notification.status == NotificationStatus.SENT, model=Notification)
    assert sent > CASES and count(session, model=Notification) == month.notifications

    context = app.extensions["gongzhi"]
    with context.uow() as uow:
        again = load_demo_month(uow.session, settings, DemoPhotos(store_for(settings)))
        uow.commit()
    assert not again.added and "未重复生成" in again.describe()
    assert count(session) == CASES


def test_the_console_figures_patrol_tracking_and_open311_show_the_month(month, client, session):
    console_login(client, "demo-district", DEMO_PASSWORD)
    queue = client.get("/console/", query_string={"view": "all"}).get_data(as_text=True)
    assert len(set(NUMBER.findall(queue))) == 50  # a full first page
    overdue = client.get("/console/", query_string={"view": "overdue"}).get_data(as_text=True)
    assert len(set(NUMBER.findall(overdue))) >= 5
    figures = client.get("/console/figures", query_string={"from": (utcnow() - timedelta(days=31)).date().isoformat()})
    assert figures.status_code == 200 and "满意" in figures.get_data(as_text=True)
    patrol = client.get("/console/patrol")
    assert patrol.status_code == 200 and "方兴社区第一网格" in patrol.get_data(as_text=True)

    with_photo = session.scalar(select(Case).join(Photo, Photo.case_id == Case.id).where(Photo.event_id.is_not(None)))
    page = client.get(f"/console/cases/{with_photo.number}").get_data(as_text=True)
    media = re.findall(r'src="(/media/[^"]+)"', page)
    assert media
    image = client.get(media[0])
    assert image.status_code == 200 and image.mimetype == "image/jpeg" and image.data[:2] == b"\xff\xd8"

    tracking = client.get(f"/t/{with_photo.tracking_token}")
    assert tracking.status_code == 200 and with_photo.number in tracking.get_data(as_text=True)
    requests = client.get("/open311/v2/requests.json").get_json()
    assert len(requests) >= 10

"""`flask --app wsgi privacy purge [--dry-run]`: what retention takes out, when, and that it does so once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from core.audit import Actor, record
from core.glossary import CaseStatus, PhotoStatus, Role
from core.models import AccessLogEntry, Attachment, Case, CheckIn, Notification, Photo, Resident, case_followers
from core.models.base import utcnow
from core.privacy.anonymise import REDACTED, REDACTED_NOTE
from tests.support import factories, privacy
from tests.support import staff as staff_support

S = CaseStatus


@pytest.fixture
def app(api_settings, make_app):
    return make_app(api_settings.replace(retention_case_days=0))


def _purge(app, *args: str) -> dict[str, int]:
    result = app.test_cli_runner().invoke(args=["privacy", "purge", *args])
    assert result.exit_code == 0, result.output
    counts = [int(n) for n in re.findall(r"：(\d+)$", result.output, re.MULTILINE)]
    keys = ("cases", "positions", "check_ins", "drafts", "failed_uploads", "files", "access_log")
    assert len(counts) == len(keys), result.output
    return dict(zip(keys, counts, strict=True))


def _world(db, settings):
    """Finished cases (rated, rejected) with a voice file, an open case, all by one follower-reporter."""
    with db.session() as s:
        grids = factories.grid_tree(s)
        me = factories.resident(s, "oPurge_me")
        rated = privacy.finished_case(s, settings, me, grid=grids["G1"])
        rejected = privacy.finished_case(s, settings, me, grid=grids["G1"], status=S.REJECTED)
        open_case = factories.case(s, settings, grid=grids["G1"], reporter=me)
        open_case.contact_phone = privacy.PHONE
        voice = privacy.voice_file(settings, rated, s)
        s.commit()
        return {"rated": rated.number, "rejected": rejected.number, "open": open_case.number, "voice": voice}


def _case(s, number: str) -> Case:
    return s.scalar(select(Case).where(Case.number == number))


def test_retention_zero_anonymises_every_finished_case_and_no_open_one(app, client, db, api_settings, redis_client):
    world = _world(db, api_settings)

    counts = _purge(app)

    assert counts["cases"] == 2 and counts["files"] == 1
    with db.session() as s:
        rated = _case(s, world["rated"])
        assert (rated.reporter_id, rated.contact_phone, rated.rating_comment) == (None, None, None)
        assert rated.location_label == "网格G1" and rated.anonymised_at is not None
        assert privacy.PHONE not in rated.description
        assert rated.lat == round(rated.lat, 3)
        assert s.scalar(select(case_followers.c.resident_id).where(case_followers.c.case_id == rated.id)) is None
        assert [n.content for n in s.scalars(select(Notification))] == ["", ""]
        assert rated.events[-1].action == REDACTED
        attachment = s.scalar(select(Attachment).where(Attachment.case_id == rated.id))
        assert attachment.path is None
        assert _case(s, world["rejected"]).anonymised_at is not None
        still_open = _case(s, world["open"])
        assert still_open.reporter_id is not None and still_open.contact_phone == privacy.PHONE
        assert still_open.anonymised_at is None
        purges = privacy.entries(s, "privacy.purge")
        assert len(purges) == 1 and purges[0].detail["cases"] == 2
    assert privacy.stored(api_settings, world["voice"])  # deleted after the commit, by the worker
    assert privacy.run_file_deletions(db, api_settings, redis_client) == 1
    assert not privacy.stored(api_settings, world["voice"])
    # Staff still see the case, with the resident's comment shown redacted.
    with db.session() as s:
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()
    shown = client.get(f"/api/v1/staff/cases/{world['rated']}", headers=staff_support.token(client, "center"))
    assert shown.status_code == 200
    assert REDACTED_NOTE in [e["note"] for e in shown.get_json()["timeline"]]
    assert privacy.PHONE not in shown.get_data(as_text=True)


def test_a_dry_run_changes_nothing_and_counts_the_same(app, db, api_settings):
    world = _world(db, api_settings)
    with db.session() as s:
        before = [(c.number, c.reporter_id, c.description, c.location_label) for c in s.scalars(select(Case))]

    dry = _purge(app, "--dry-run")

    with db.session() as s:
        assert [(c.number, c.reporter_id, c.description, c.location_label) for c in s.scalars(select(Case))] == before
        assert privacy.entries(s, "privacy.purge") == []
    assert privacy.stored(api_settings, world["voice"])
    assert _purge(app) == dry


def test_a_second_run_changes_nothing(app, db, api_settings):
    _world(db, api_settings)
    first = _purge(app)
    with db.session() as s:
        events = s.execute(text("SELECT count(*) FROM case_events")).scalar()

    second = _purge(app)

    assert first["cases"] == 2
    assert set(second.values()) == {0}
    with db.session() as s:
        assert s.execute(text("SELECT count(*) FROM case_events")).scalar() == events


def test_the_default_keeps_a_case_finished_ten_days_ago(api_settings, make_app):
    app = make_app(api_settings)  # RETENTION_CASE_DAYS 1095
    db = app.extensions["gongzhi"].database
    world = _world(db, api_settings)
    with db.session() as s:
        s.execute(text("UPDATE cases SET closed_at = :at, updated_at = :at"), {"at": privacy.ago(days=10)})
        s.commit()

    assert _purge(app)["cases"] == 0
    with db.session() as s:
        assert _case(s, world["rated"]).reporter_id is not None


def test_positions_go_after_thirty_minutes(app, db):
    with db.session() as s:
        old, fresh = factories.resident(s, "oOld"), factories.resident(s, "oFresh")
        for person, minutes in ((old, 31), (fresh, 29)):
            person.last_lat, person.last_lng, person.last_located_at = 31.8, 117.3, privacy.ago(minutes=minutes)
        s.commit()

    assert _purge(app)["positions"] == 1
    with db.session() as s:
        assert s.scalar(select(Resident.last_lat).where(Resident.openid == "oOld")) is None
        assert s.scalar(select(Resident.last_lat).where(Resident.openid == "oFresh")) == 31.8


def test_check_in_positions_go_after_ninety_days(app, db):
    with db.session() as s:
        point = factories.gate_checkpoint(s)
        officer = factories.staff(s, "patrol", Role.GRID_WORKER, "G1")
        for days in (91, 89):
            s.add(
                CheckIn(
                    staff_id=officer.id,
                    checkpoint_id=point.id,
                    at=privacy.ago(days=days),
                    lat=31.8,
                    lng=117.3,
                    source="api",
                )
            )
        s.commit()

    assert _purge(app)["check_ins"] == 1
    with db.session() as s:
        rows = sorted(s.scalars(select(CheckIn)), key=lambda c: c.at)
        assert [(r.lat, r.lng) for r in rows] == [(None, None), (31.8, 117.3)]
        assert len(rows) == 2  # the check-in itself stays: who passed which checkpoint when


def test_access_log_entries_go_after_180_days(app, db):
    with db.session() as s:
        old = record(s, Actor(name="clerk"), "case.view", "case", 1)
        record(s, Actor(name="clerk"), "case.view", "case", 2)
        s.commit()
        s.execute(text("UPDATE access_log SET at = :at WHERE id = :id"), {"at": privacy.ago(days=181), "id": old.id})
        s.commit()

    assert _purge(app)["access_log"] == 1
    with db.session() as s:
        left = [e.target_id for e in s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id))]
        assert left == ["2", None]  # the newer read, and the purge's own entry


def test_stale_drafts_and_failed_uploads_go(app, db, api_settings, redis_client):
    from core.models import ReportDraft
    from media.storage import store_for

    with db.session() as s:
        stale, live = factories.resident(s, "oStale"), factories.resident(s, "oLive")
        s.add_all(
            [
                ReportDraft(resident_id=stale.id, report={"description": "x"}, updated_at=privacy.ago(hours=2)),
                ReportDraft(resident_id=live.id, report={"description": "y"}, updated_at=utcnow()),
            ]
        )
        case = factories.case(s, api_settings, reporter=live)
        upload = store_for(api_settings).put("uploads/broken.jpg", b"not a photo", "image/jpeg")
        s.add(Photo(case_id=case.id, upload_path=upload, status=PhotoStatus.FAILED, error="坏图"))
        s.commit()

    counts = _purge(app)

    assert (counts["drafts"], counts["failed_uploads"]) == (1, 1)
    with db.session() as s:
        assert [d.resident_id for d in s.scalars(select(ReportDraft))] == [
            s.scalar(select(Resident.id).where(Resident.openid == "oLive"))
        ]
        assert s.scalar(select(Photo.upload_path)) is None
    privacy.run_file_deletions(db, api_settings, redis_client)
    assert not privacy.stored(api_settings, upload)

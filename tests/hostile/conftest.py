"""The hostile corpus's world: a small district with a sign, two residents, a case, staff in and out of its area.

Each hostile request is checked the same way: a clear 4xx (or a handled reply where WeChat needs
a 200), never a 5xx, and the stored state — the rows of every table that holds what people send,
and the files under MEDIA_DIR — exactly as before unless the entry says what may change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.glossary import Role
from core.models import (
    Attachment,
    Case,
    CaseEvent,
    CheckIn,
    Checkpoint,
    GrantApplication,
    GrantDisbursement,
    GrantEvent,
    GrantFile,
    GrantMember,
    GrantRound,
    GrantScore,
    Notification,
    OutboxMessage,
    Photo,
    ReportDraft,
    Resident,
    StaffUser,
)
from core.services.catalogue import load_catalogue
from core.services.checkpoints import public_code
from tests import factories

TABLES = (Case, CaseEvent, Photo, Attachment, ReportDraft, OutboxMessage, CheckIn, Notification, Resident)
GRANT_TABLES = (GrantRound, GrantMember, GrantApplication, GrantEvent, GrantScore, GrantDisbursement, GrantFile)
RESIDENT_A = "oHostile_resident_A"
RESIDENT_B = "oHostile_resident_B"
# What the world's cases say: no one but their reporter and staff may ever read it back.
PRIVATE = "三栋四零二室漏水，联系人老王"


@dataclass
class World:
    """What the hostile requests aim at."""

    code: str  # the sign's valid public code
    old_code: str  # its code before a rotation
    case_number: str  # resident A's case
    other_number: str  # a case in another street


@pytest.fixture
def settings(settings, fake_wechat):
    """The WeChat API is the fake one, and it knows the mini-program, so residents can sign in."""
    fake_wechat.apps[settings.wechat_mini_app_id] = settings.wechat_mini_app_secret
    return settings.replace(wechat_api_base=fake_wechat.base_url, wechat_timeout_seconds=2.0)


@pytest.fixture
def world(app, settings) -> World:
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        load_catalogue(s, settings.catalogue_file)
        grids = factories.grid_tree(s)
        grids["G1"].boundary = factories.G1_BOX
        point = Checkpoint(label="CP0001", name="小区东门", grid=grids["G1"], lat=31.805, lng=117.305)
        s.add(point)
        s.flush()
        old_code = public_code(settings, point)
        point.key_version = 2
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        factories.staff(s, "worker", Role.GRID_WORKER, "G1")
        factories.staff(s, "outsider", Role.GRID_WORKER, "X")
        owner = factories.resident(s, RESIDENT_A)
        owner.mini_openid = "oMini_" + RESIDENT_A
        factories.resident(s, RESIDENT_B).mini_openid = "oMini_" + RESIDENT_B
        case = factories.case(s, settings, grid=grids["G1"], reporter=owner)
        other = factories.case(s, settings, grid=grids["X"])
        case.description = other.description = PRIVATE
        s.commit()
        return World(public_code(settings, point), old_code, case.number, other.number)


def snapshot(app, settings) -> dict[str, object]:
    """Row counts of the tables people write into, staff sign-in state, and the files under MEDIA_DIR."""
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        counts: dict[str, object] = {
            m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in TABLES + GRANT_TABLES
        }
        counts["grant_states"] = sorted(
            (a.id, a.status.value, str(a.decision), a.decision_fen, a.approved_fen)
            for a in s.scalars(select(GrantApplication))
        )
        counts["grant_rounds_published"] = sorted(
            (r.id, str(r.decisions_published_at)) for r in s.scalars(select(GrantRound))
        )
        counts["case_states"] = sorted((c.number, c.status.value, c.description) for c in s.scalars(select(Case)))
        counts["staff"] = sorted(
            (u.username, u.token_version, u.password_hash, u.totp_secret) for u in s.scalars(select(StaffUser))
        )
    media = Path(settings.media_dir)
    counts["files"] = (
        sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()) if media.exists() else []
    )
    return counts


@pytest.fixture
def unchanged(app, settings):
    """Call with a response-producing function; asserts nothing stored changed and returns the response."""

    def run(send, *, may_change: tuple[str, ...] = ()):
        before = snapshot(app, settings)
        response = send()
        after = snapshot(app, settings)
        for key in before:
            if key not in may_change:
                assert after[key] == before[key], f"{key} changed: {before[key]} → {after[key]}"
        return response

    return run

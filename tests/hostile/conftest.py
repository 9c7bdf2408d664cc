"""The hostile corpus's world: a small district with a sign, two residents, a case, staff in and out of its area.

Each hostile request is checked the same way: a clear 4xx (or a handled reply where WeChat needs
a 200), never a 5xx, and the stored state — the rows of every table that holds what people send,
and the files under MEDIA_DIR — exactly as before unless the entry says what may change.
"""

from __future__ import annotations

import pytest

from core.glossary import Role
from core.models import Checkpoint, PrivacyConsent
from core.services.catalogue import load_catalogue
from core.services.checkpoints import public_code
from tests.support import factories
from tests.support.hostile import PRIVATE, RESIDENT_A, RESIDENT_B, World, snapshot


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
        other_resident = factories.resident(s, RESIDENT_B)
        other_resident.mini_openid = "oMini_" + RESIDENT_B
        for person in (owner, other_resident):  # both read the privacy notice and agreed, as residents do
            version = settings.privacy_notice_version
            s.add(PrivacyConsent(resident_id=person.id, version=version, scopes=["location"], channel="wechat"))
        case = factories.case(s, settings, grid=grids["G1"], reporter=owner)
        other = factories.case(s, settings, grid=grids["X"])
        case.description = other.description = PRIVATE
        s.commit()
        return World(public_code(settings, point), old_code, case.number, other.number)


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

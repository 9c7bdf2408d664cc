"""Hostile requests at the resident's rights: someone else's data link, tokens for the wrong door, replayed erasure."""

from __future__ import annotations

import itertools

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from core.errors import NotFound
from core.models import AccessLogEntry, Case, Resident
from core.privacy import links
from core.privacy.erasure import erase_resident
from tests.support.hostile import PRIVATE, RESIDENT_A, RESIDENT_B

_codes = itertools.count(1)


def _sign_in(client, fake_wechat, openid: str) -> dict[str, str]:
    code = f"hostile-privacy-{next(_codes)}"
    fake_wechat.add_login_code(code, openid, "session-key")
    return {"Authorization": f"Bearer {client.post('/api/v1/session', json={'code': code}).get_json()['token']}"}


def _id(app, openid: str) -> int:
    with app.extensions["gongzhi"].database.session() as s:
        return s.scalar(select(Resident.id).where(Resident.openid == openid))


@pytest.mark.parametrize(
    "token",
    ["forged_for_a", "bs_link_with_a_id", "resident_api_token", "media_token", "empty", "huge", "path_dots"],
)
def test_a_data_link_for_someone_else_or_another_door_shows_nothing(client, app, settings, world, unchanged, token):
    a = _id(app, RESIDENT_A)
    b_link = links.data_token(settings, _id(app, RESIDENT_B))
    made = {
        "forged_for_a": URLSafeTimedSerializer("not-the-server-key", salt=links.SALT).dumps({"rid": a}),
        # B's genuine link with A's id spliced into its payload: the signature no longer matches.
        "bs_link_with_a_id": URLSafeTimedSerializer("x", salt=links.SALT).dumps({"rid": a}).split(".")[0]
        + "."
        + ".".join(b_link.split(".")[1:]),
        "resident_api_token": URLSafeTimedSerializer(settings.signing_keys, salt="gongzhi.resident-token").dumps(
            {"rid": a}
        ),
        "media_token": URLSafeTimedSerializer(settings.signing_keys, salt="gongzhi.media").dumps({"rid": a}),
        "empty": " ",
        "huge": "a" * 5000,
        "path_dots": "..%2F..%2Fetc%2Fpasswd",
    }[token]

    response = unchanged(lambda: client.get(links.PAGE_PATH + made))

    assert response.status_code == 404
    assert PRIVATE not in response.get_data(as_text=True) and RESIDENT_A not in response.get_data(as_text=True)


def test_a_data_link_is_no_api_token(client, app, settings, world, unchanged):
    page_token = links.data_token(settings, _id(app, RESIDENT_A))

    for method in (client.get, client.delete):
        path = "/api/v1/me/data" if method == client.get else "/api/v1/me"
        response = unchanged(lambda m=method, p=path: m(p, headers={"Authorization": f"Bearer {page_token}"}))
        assert response.status_code == 401


def test_a_replayed_erase_is_401_and_changes_nothing_more(client, app, fake_wechat, world, unchanged):
    headers = _sign_in(client, fake_wechat, "oMini_" + RESIDENT_A)
    assert client.delete("/api/v1/me", headers=headers).status_code == 200

    replayed = unchanged(lambda: client.delete("/api/v1/me", headers=headers))

    assert replayed.status_code == 401
    with app.extensions["gongzhi"].database.session() as s:
        erasures = s.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "privacy.erase")).all()
        assert len(erasures) == 1
        case = s.scalar(select(Case).where(Case.number == world.case_number))
        assert case.reporter_id is None


def test_erasing_twice_is_refused_and_records_once(app, world):
    database = app.extensions["gongzhi"].database
    a = _id(app, RESIDENT_A)
    with database.session() as s:
        erase_resident(s, a)
        s.commit()
    with database.session() as s:
        with pytest.raises(NotFound):
            erase_resident(s, a)
        s.rollback()
        assert len(s.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "privacy.erase")).all()) == 1


def test_erasing_someone_else_through_the_api_is_impossible(client, app, fake_wechat, world):
    b = _sign_in(client, fake_wechat, "oMini_" + RESIDENT_B)

    # The API erases the caller and no one else: no id is taken from the request.
    response = client.delete("/api/v1/me", headers=b, json={"resident_id": _id(app, RESIDENT_A)})

    assert response.status_code == 200
    with app.extensions["gongzhi"].database.session() as s:
        a = s.scalar(select(Resident).where(Resident.openid == RESIDENT_A))
        assert a is not None and a.erased_at is None
        assert s.scalar(select(Case.reporter_id).where(Case.number == world.case_number)) == a.id


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/hostname", "attachments/../../outside.txt", ""])
def test_the_file_deletion_job_deletes_nothing_outside_media_dir(tmp_path, path):
    from media.storage.local import LocalStore
    from worker.jobs.privacy import remove_file

    media = tmp_path / "media"
    media.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")

    with pytest.raises(ValueError):
        remove_file(LocalStore(str(media)), path)

    assert outside.read_text() == "keep me"

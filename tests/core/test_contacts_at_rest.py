"""No contact phone in the database: every column holds ciphertext, recusal matches by hash, rekey rotates."""

from __future__ import annotations

from sqlalchemy import select, text

from core.grants import committee
from core.grants.terms import GrantStatus, MemberKind
from core.models import Case, GrantApplication, GrantMember, Resident
from core.privacy.crypto import FieldCipher, parse_key
from core.privacy.rekey import rekey
from core.settings import Settings
from tests.support import factories
from tests.support import grants as gh
from tests.support.sealed import KEY_A, KEY_B, PHONE, PHONE_RUN, cipher, raw

SEALED = [
    ("residents", "phone"),
    ("cases", "contact_phone"),
    ("grant_members", "phone"),
    ("grant_applications", "team"),
]


def _everything_with_a_phone(session) -> GrantApplication:
    person = factories.resident(session)
    person.phone = PHONE
    made = factories.case(session, Settings(), reporter=person)
    made.contact_phone = "138 1234 5678"
    grant_round = gh.open_round(session)
    gh.member(session, grant_round, "m-phone", MemberKind.FUNDER_REP, phone="+86 138-1234-5678")
    team = [{"name": "李会计", "role": "会计", "phone": PHONE}]
    app = gh.at_status(session, gh.application(session, grant_round, team=team), GrantStatus.IN_REVIEW)
    session.commit()
    return app


def test_the_database_holds_no_phone_and_the_models_read_it_plainly(session):
    _everything_with_a_phone(session)
    for table, column in SEALED:
        stored = raw(session, table, column)
        assert stored, (table, column)
        for value in stored:
            assert value.startswith("v1:aes:") and not PHONE_RUN.search(value), (table, column)
            assert "李会计" not in value
    session.expire_all()
    assert session.scalar(select(Resident.phone).where(Resident.phone.is_not(None))) == PHONE
    assert session.scalar(select(Case.contact_phone)) == "138 1234 5678"
    assert session.scalar(select(GrantApplication)).team[0]["phone"] == PHONE
    member = session.scalar(select(GrantMember))
    assert member.phone == "+86 138-1234-5678" and len(member.phone_hash) == 64
    assert PHONE not in member.phone_hash


def test_a_dump_of_the_whole_database_holds_no_phone(session, database):
    _everything_with_a_phone(session)
    if database.engine.dialect.name != "postgresql":
        return
    # Every text column of every table, as pg_dump would write it.
    columns = session.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND data_type IN ('character varying', 'text', 'json', 'jsonb')"
        )
    ).all()
    for table, column in columns:
        for value in session.execute(text(f'SELECT "{column}"::text FROM "{table}"')).scalars():
            written = (PHONE, "138 1234 5678", "138-1234-5678")
            assert value is None or not any(form in value for form in written), (table, column)


def test_recusal_by_phone_goes_through_the_keyed_hash(session):
    app = _everything_with_a_phone(session)
    member = session.scalar(select(GrantMember))
    assert "电话相同" in committee.recusal_reason(member, app)
    # The member's own number is not opened: recusal holds with the sealed phone gone.
    session.execute(text("UPDATE grant_members SET phone = NULL"))
    session.expire_all()
    assert "电话相同" in committee.recusal_reason(session.scalar(select(GrantMember)), app)
    other = gh.member(session, app.round, "m-other", phone="13900000000")
    assert committee.recusal_reason(other, app) is None


def test_sm4_seals_under_its_own_header(session):
    with cipher("sm4", KEY_A):
        _everything_with_a_phone(session)
        for table, column in SEALED:
            assert all(v.startswith("v1:sm4:") for v in raw(session, table, column))
        session.expire_all()
        assert session.scalar(select(Resident.phone).where(Resident.phone.is_not(None))) == PHONE
        assert "电话相同" in committee.recusal_reason(
            session.scalar(select(GrantMember)), session.scalar(select(GrantApplication))
        )


def test_rekey_after_a_rotation_seals_everything_under_the_new_key_once(session, database):
    with cipher("aes", KEY_A):
        _everything_with_a_phone(session)
        before = {(t, c): raw(session, t, c) for t, c in SEALED}
    session.close()
    new = FieldCipher("aes", parse_key(KEY_B))
    with cipher("aes", KEY_B, fallbacks=(KEY_A,)) as rotated, database.engine.connect() as connection:
        # Until rekey runs, old rows open with the fallback and recusal still matches the old hash.
        app = session.scalar(select(GrantApplication))
        assert app.team[0]["phone"] == PHONE
        assert "电话相同" in committee.recusal_reason(session.scalar(select(GrantMember)), app)
        session.close()
        counts = rekey(connection, rotated)
        assert [(c.column, c.resealed, c.current, c.unreadable) for c in counts] == [
            (f"{t}.{c}", 1, 0, 0) for t, c in SEALED
        ]
        again = rekey(connection, rotated)
        assert [(c.resealed, c.current, c.unreadable) for c in again] == [(0, 1, 0)] * len(SEALED)
    for table, column in SEALED:
        (value,) = raw(database.engine, table, column)
        assert value.startswith(f"v1:aes:{new.kid}:") and value not in before[(table, column)]
    # The old key is no longer needed.
    with cipher("aes", KEY_B):
        assert session.scalar(select(Resident.phone).where(Resident.phone.is_not(None))) == PHONE
        member = session.scalar(select(GrantMember))
        assert member.phone_hash == new.keyed_hash(PHONE)
        assert "电话相同" in committee.recusal_reason(member, session.scalar(select(GrantApplication)))
        session.close()


def test_rekey_without_the_old_key_counts_what_it_cannot_open_and_leaves_it(session, database):
    with cipher("aes", KEY_A):
        _everything_with_a_phone(session)
    session.close()
    before = raw(database.engine, "cases", "contact_phone")
    with cipher("aes", KEY_B) as wrong, database.engine.connect() as connection:
        counts = rekey(connection, wrong)
    assert all((c.resealed, c.unreadable) == (0, 1) for c in counts)
    assert raw(database.engine, "cases", "contact_phone") == before

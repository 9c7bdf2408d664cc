"""Mini-program residents: found or created by mini-program openid, linked by unionid to the official account's."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.models import Case, Resident, SubscribeConsent, case_followers

log = logging.getLogger(__name__)


def _by(session: Session, column: InstrumentedAttribute[str | None], value: str | None) -> Resident | None:
    if not value:
        return None
    return session.scalar(select(Resident).where(column == value).with_for_update())


def _merge_into(session: Session, keep: Resident, gone: Resident) -> None:
    """Move a mini-program-only resident's identity, cases, follows and consents onto `keep`.

    `gone` stays as an empty row: its timeline entries and notifications are history and keep
    pointing at it.
    """
    mini_openid = gone.mini_openid
    gone.mini_openid = None
    session.flush()  # free the unique mini_openid before `keep` takes it
    keep.mini_openid = mini_openid
    session.flush()
    session.execute(update(Case).where(Case.reporter_id == gone.id).values(reporter_id=keep.id))
    already = select(case_followers.c.case_id).where(case_followers.c.resident_id == keep.id)
    session.execute(
        update(case_followers)
        .where(case_followers.c.resident_id == gone.id, case_followers.c.case_id.not_in(already))
        .values(resident_id=keep.id)
    )
    session.execute(delete(case_followers).where(case_followers.c.resident_id == gone.id))
    session.execute(update(SubscribeConsent).where(SubscribeConsent.resident_id == gone.id).values(resident_id=keep.id))
    session.expire_all()


def _link(session: Session, mini_openid: str, unionid: str | None) -> Resident:
    by_mini = _by(session, Resident.mini_openid, mini_openid)
    by_union = _by(session, Resident.unionid, unionid)
    if by_mini is None and by_union is None:
        resident = Resident(mini_openid=mini_openid, unionid=unionid)
        session.add(resident)
        session.flush()
        return resident
    if by_mini is None:
        assert by_union is not None
        # The official account's resident opens the mini-program for the first time.
        by_union.mini_openid = mini_openid
        return by_union
    if by_union is None or by_union.id == by_mini.id:
        if unionid and by_mini.unionid is None:
            by_mini.unionid = unionid
        return by_mini
    if by_mini.unionid is None and by_mini.openid is None:
        # Two rows for one person: the mini-program row was made before WeChat gave a unionid.
        _merge_into(session, by_union, by_mini)
        return by_union
    # WeChat does not give one unionid to two people; keep what we have rather than guess.
    # Resident ids only: openids and unionids are personal data and never reach a log.
    log.warning(
        "a mini-program sign-in's unionid belongs to resident %s, its openid to resident %s; not linked",
        by_union.id,
        by_mini.id,
    )
    return by_mini


def resident_for_mini(session: Session, mini_openid: str, unionid: str | None = None) -> Resident:
    """The resident behind a mini-program openid, created on first sign-in, in the caller's transaction.

    With a `unionid` (WeChat gives one when the mini-program and the official account share an
    Open Platform account) the resident is the same row as the official account's: one person,
    one Resident with both openids, whichever of the two they used first.
    """
    if not mini_openid:
        raise ValueError("mini_openid is required")
    try:
        with session.begin_nested():
            return _link(session, mini_openid, unionid)
    except IntegrityError:
        # A second sign-in of the same person created the row a moment ago; it is there now.
        return _link(session, mini_openid, unionid)

"""Rotating a key voids nothing it should not: signs survive a new SECRET_KEY, links survive a fallback."""

from __future__ import annotations

import pytest
from itsdangerous import BadSignature

from core.codes import Verdict
from core.media_urls import media_path, serializer
from core.services.checkpoints import public_code, resolve_code
from tests.support import factories

OLD, NEW, SIGNS = "o" * 32, "n" * 32, "c" * 32


def test_signs_printed_before_a_checkpoint_key_stay_valid_and_survive_rotating_the_secret_key(session, settings):
    checkpoint = factories.gate_checkpoint(session)
    printed = public_code(settings.replace(secret_key=OLD), checkpoint)  # sealed with SECRET_KEY, as before

    with_key = settings.replace(secret_key=OLD, checkpoint_key=SIGNS)
    assert resolve_code(session, with_key, printed).verdict is Verdict.VALID
    reprinted = public_code(with_key, checkpoint)
    assert reprinted != printed

    rotated = settings.replace(secret_key=NEW, checkpoint_key=SIGNS)  # OLD is gone altogether
    assert resolve_code(session, rotated, reprinted).verdict is Verdict.VALID
    assert resolve_code(session, rotated, printed).verdict is Verdict.FORGED


def test_a_rotated_secret_key_still_opens_what_it_signed_while_it_is_a_fallback(settings):
    link = media_path(settings.replace(secret_key=OLD), "photos/a.jpg")
    token = link.rsplit("/", 1)[1]
    rotated = settings.replace(secret_key=NEW, secret_key_fallbacks=(OLD,))
    assert serializer(rotated).loads(token) == "photos/a.jpg"
    assert media_path(rotated, "photos/a.jpg") != link  # new links are signed with the new key
    forgotten = settings.replace(secret_key=NEW)
    with pytest.raises(BadSignature):  # a key no longer listed opens nothing
        serializer(forgotten).loads(token)

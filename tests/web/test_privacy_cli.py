"""`flask --app wsgi privacy rekey`: after a rotation every contact detail is sealed under the new key, once."""

from __future__ import annotations

from core.models import Case
from core.privacy.crypto import FieldCipher, parse_key
from tests.support import factories
from tests.support.sealed import KEY_A, KEY_B, PHONE, cipher, raw


def _case_sealed_under_a(app, settings) -> None:
    with cipher("aes", KEY_A), app.extensions["gongzhi"].database.session() as s:
        made = factories.case(s, settings)
        made.contact_phone = PHONE
        s.commit()


def test_rekey_prints_what_it_did_and_a_second_run_does_nothing(settings, make_app):
    with cipher("aes", KEY_B, fallbacks=(KEY_A,)):
        app = make_app(settings.replace(personal_data_key=KEY_B, personal_data_key_fallbacks=(KEY_A,)))
        _case_sealed_under_a(app, settings)
        runner = app.test_cli_runner()
        first = runner.invoke(args=["privacy", "rekey"])
        assert first.exit_code == 0, first.output
        assert "cases.contact_phone: 重新加密 1，已是当前密钥 0，无法解密 0" in first.output
        engine = app.extensions["gongzhi"].database.engine
        (sealed,) = raw(engine, "cases", "contact_phone")
        assert sealed.startswith(f"v1:aes:{FieldCipher('aes', parse_key(KEY_B)).kid}:")
        second = runner.invoke(args=["privacy", "rekey"])
        assert "cases.contact_phone: 重新加密 0，已是当前密钥 1，无法解密 0" in second.output
        assert raw(engine, "cases", "contact_phone") == [sealed]
    with cipher("aes", KEY_B), app.extensions["gongzhi"].database.session() as s:
        assert s.query(Case).one().contact_phone == PHONE


def test_rekey_without_the_old_key_fails_and_leaves_the_rows(settings, make_app):
    with cipher("aes", KEY_B):
        app = make_app(settings.replace(personal_data_key=KEY_B))
        _case_sealed_under_a(app, settings)
        engine = app.extensions["gongzhi"].database.engine
        before = raw(engine, "cases", "contact_phone")
        result = app.test_cli_runner().invoke(args=["privacy", "rekey"])
        assert result.exit_code != 0 and "无法解密 1" in result.output
        assert "PERSONAL_DATA_KEY_FALLBACKS" in result.output
        assert raw(engine, "cases", "contact_phone") == before

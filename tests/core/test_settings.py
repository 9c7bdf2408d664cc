"""Settings from the environment: defaults for a newcomer, and production refusing to start half-set."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.settings import PRODUCTION_REQUIRED, REAL_WECHAT_API_BASE, Settings


def test_defaults_are_the_embedded_setup():
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("instance/gongzhi.sqlite3")
    assert settings.redis_url is None
    assert settings.wechat_api_base == REAL_WECHAT_API_BASE
    assert settings.timezone == "Asia/Shanghai"


def test_values_are_read_and_typed():
    settings = Settings.from_env(
        {
            "REDIS_URL": "redis://127.0.0.1:6379/3",
            "WECHAT_API_BASE": "http://127.0.0.1:9999",
            "WECHAT_TIMEOUT_SECONDS": "2.5",
            "WECHAT_MAX_RETRIES": "4",
            "JOB_RETRY_INTERVALS": "1, 5,30",
            "DATABASE_URL": "",  # empty means unset
        }
    )
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert settings.wechat_api_base == "http://127.0.0.1:9999/"
    assert (settings.wechat_timeout_seconds, settings.wechat_max_retries) == (2.5, 4)
    assert settings.job_retry_intervals == (1, 5, 30)
    assert settings.database_url.startswith("sqlite:///")


def test_production_names_every_missing_setting():
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"APP_ENV": "production", "SECRET_KEY": "s3cret", "REDIS_URL": "redis://x"})
    message = raised.value.message
    for name in PRODUCTION_REQUIRED:
        assert (name in message) == (name not in ("SECRET_KEY", "REDIS_URL")), name


PRODUCTION = {name: "x" for name in PRODUCTION_REQUIRED} | {
    "APP_ENV": "production",
    "SECRET_KEY": "k" * 32,
    "PERSONAL_DATA_KEY": "ab" * 32,
}


def test_production_with_everything_set_starts():
    assert Settings.from_env(PRODUCTION).is_production


def test_production_pushes_to_an_https_platform():
    settings = Settings.from_env(PRODUCTION | {"PLATFORM_URL": "https://platform.example.gov.cn/cases"})
    assert settings.platform_url == "https://platform.example.gov.cn/cases"
    # Development may still use a local fake platform over http.
    assert Settings.from_env({"PLATFORM_URL": "http://127.0.0.1:9/cases"}).platform_url.startswith("http://")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"SECRET_KEY": Settings.secret_key}, "SECRET_KEY"),
        ({"SECRET_KEY": "k" * 31}, "SECRET_KEY"),
        ({"SECRET_KEY": "密" * 10}, "SECRET_KEY"),  # 30 bytes in UTF-8
        ({"CHECKPOINT_KEY": "short"}, "CHECKPOINT_KEY"),
        ({"SECRET_KEY_FALLBACKS": f"{'o' * 40},{Settings.secret_key}"}, "SECRET_KEY_FALLBACKS"),
        ({"WECHAT_TOKEN": Settings.wechat_token}, "WECHAT_TOKEN"),
        ({"PERSONAL_DATA_KEY": Settings.personal_data_key}, "PERSONAL_DATA_KEY"),
        ({"PERSONAL_DATA_KEY": "ab" * 31}, "PERSONAL_DATA_KEY"),
        ({"PERSONAL_DATA_KEY_FALLBACKS": f"{'cd' * 32},short"}, "PERSONAL_DATA_KEY_FALLBACKS"),
        ({"PERSONAL_DATA_CIPHER": "des"}, "PERSONAL_DATA_CIPHER"),
        # Cases, photo links and reporter references must not cross the network in the clear.
        ({"PLATFORM_URL": "http://platform.example.gov.cn/cases"}, "PLATFORM_URL"),
        ({"PLATFORM_URL": "platform.example.gov.cn/cases"}, "PLATFORM_URL"),
        ({"PLATFORM_REFERENCE_KEY": "short"}, "PLATFORM_REFERENCE_KEY"),
    ],
)
def test_production_refuses_keys_anyone_can_read_or_guess(changes, named):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(PRODUCTION | changes)
    assert raised.value.message.startswith(named) and "\n" not in raised.value.message


def test_development_keeps_its_known_key_and_rotated_keys_are_read_in_order():
    assert Settings.from_env({}).secret_key == Settings.secret_key
    settings = Settings.from_env(PRODUCTION | {"SECRET_KEY_FALLBACKS": f"{'a' * 32}, {'b' * 32}"})
    assert settings.secret_key_fallbacks == ("a" * 32, "b" * 32)
    # itsdangerous signs with the last key and tries them all: the newest fallback stands next to it.
    assert settings.signing_keys == ["b" * 32, "a" * 32, "k" * 32]
    assert {"a" * 32, "b" * 32, "k" * 32} <= set(settings.secret_values())
    assert "k" * 32 not in repr(settings)


def test_a_wrong_time_zone_is_refused():
    with pytest.raises(ConfigError, match="TIMEZONE"):
        Settings.from_env({"TIMEZONE": "Mars/Olympus"})


def test_status_templates_are_read_with_a_default():
    settings = Settings.from_env({"WECHAT_STATUS_TEMPLATES": " default:TPL_A , closed:TPL_B,"})
    assert dict(settings.wechat_status_templates) == {"default": "TPL_A", "closed": "TPL_B"}
    assert settings.template_for("closed") == "TPL_B"
    assert settings.template_for("accepted") == "TPL_A"


def test_without_status_templates_there_are_none():
    settings = Settings.from_env({})
    assert settings.wechat_status_templates == ()
    assert settings.template_for("closed") is None
    only_closed = Settings.from_env({"WECHAT_STATUS_TEMPLATES": "closed:TPL_B"})
    assert only_closed.template_for("accepted") is None


@pytest.mark.parametrize(
    "raw",
    [
        "TPL_A",  # no status
        "closed:",  # no template id
        ":TPL_A",
        "default:TPL_A;closed:TPL_B",  # wrong separator
        "finished:TPL_A",  # not a status
        "closed:TPL_A,closed:TPL_B",  # named twice
    ],
)
def test_malformed_status_templates_are_refused_by_name(raw):
    with pytest.raises(ConfigError, match="WECHAT_STATUS_TEMPLATES"):
        Settings.from_env({"WECHAT_STATUS_TEMPLATES": raw})


def test_postgresql_without_redis_is_refused_with_a_sentence():
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/test"})
    assert "REDIS_URL" in raised.value.message and "PostgreSQL" in raised.value.message
    with_redis = {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/test", "REDIS_URL": "redis://127.0.0.1"}
    assert Settings.from_env(with_redis).redis_url == "redis://127.0.0.1"


def test_pool_settings_are_read():
    settings = Settings.from_env({"DB_POOL_SIZE": "3", "DB_MAX_OVERFLOW": "0", "DB_PGBOUNCER": "true"})
    assert (settings.db_pool_size, settings.db_max_overflow, settings.db_pgbouncer) == (3, 0, True)

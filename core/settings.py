"""Settings read once from environment variables; nothing else reads the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo

from core.errors import ConfigError
from core.glossary import CaseStatus

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_WECHAT_API_BASE = "https://api.weixin.qq.com/"

# Settings production cannot run without; the embedded defaults would be wrong there.
PRODUCTION_REQUIRED = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "PUBLIC_BASE_URL",
    "MEDIA_DIR",
    "WECHAT_TOKEN",
    "WECHAT_APP_ID",
    "WECHAT_APP_SECRET",
)


# The key in WECHAT_STATUS_TEMPLATES for every status not named on its own.
DEFAULT_TEMPLATE_KEY = "default"
# WeChat's template ids are letters, digits, "-" and "_"; anything else is a typo such as a wrong separator.
_TEMPLATE_ID = re.compile(r"[A-Za-z0-9_-]+")


def _bool(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: {raw!r} is not true or false")


def _int_list(raw: str) -> tuple[int, ...]:
    return tuple(int(part) for part in raw.split(",") if part.strip())


def _status_templates(raw: str, name: str = "WECHAT_STATUS_TEMPLATES") -> tuple[tuple[str, str], ...]:
    """Parse a status → template setting (`name`), `status:template_id` pairs separated by commas.

    A status is a CaseStatus value or `default`; each may be named once. Anything else is a
    ConfigError naming the setting, so a typo stops the service instead of silently sending
    no template messages.
    """
    known = {DEFAULT_TEMPLATE_KEY, *(status.value for status in CaseStatus)}
    pairs: dict[str, str] = {}
    for part in (piece.strip() for piece in raw.split(",")):
        if not part:
            continue
        status, colon, template_id = (item.strip() for item in part.partition(":"))
        if not colon or not status or not _TEMPLATE_ID.fullmatch(template_id):
            raise ConfigError(f"{name}: {part!r} is not status:template_id")
        if status not in known:
            raise ConfigError(f"{name}: unknown status {status!r}; use one of " + ", ".join(sorted(known)))
        if status in pairs:
            raise ConfigError(f"{name} names {status!r} twice")
        pairs[status] = template_id
    return tuple(pairs.items())


# Anyone can read these in the source: a service signing with one signs for everyone.
MIN_KEY_BYTES = 32
KEY_HINT = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def _key_list(raw: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in raw.split(",") if key.strip())


def _refuse_known_secrets(env: Mapping[str, str]) -> None:
    """Production refuses the development values, and keys too short to withstand guessing."""
    keys = [("SECRET_KEY", env.get("SECRET_KEY")), ("CHECKPOINT_KEY", env.get("CHECKPOINT_KEY"))]
    keys += [("SECRET_KEY_FALLBACKS", key) for key in _key_list(env.get("SECRET_KEY_FALLBACKS", ""))]
    for name, value in keys:
        if value and (value == Settings.secret_key or len(value.encode()) < MIN_KEY_BYTES):
            raise ConfigError(
                f"{name} must be a random value of at least {MIN_KEY_BYTES} bytes in production;"
                f" make one with {KEY_HINT}"
            )
    if env.get("WECHAT_TOKEN") == Settings.wechat_token:
        raise ConfigError("WECHAT_TOKEN is the development value; set the token of your official account")


@dataclass(frozen=True)
class Settings:
    """Every setting of the service; see README and .env.example for what each means."""

    app_env: str = "development"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'instance' / 'gongzhi.sqlite3'}"
    redis_url: str | None = None
    secret_key: str = field(default="dev-only-not-secret", repr=False)
    # Keys SECRET_KEY replaced, still accepted (never used to sign) so a rotation signs nobody out.
    secret_key_fallbacks: tuple[str, ...] = field(default=(), repr=False)
    # Seals checkpoint codes; unset: SECRET_KEY. Either key's codes are accepted, so signs printed
    # before it was set stay valid, and rotating SECRET_KEY later leaves the signs alone.
    checkpoint_key: str | None = field(default=None, repr=False)
    public_base_url: str = "http://127.0.0.1:5000"
    media_dir: str = str(PROJECT_ROOT / "instance" / "media")
    timezone: str = "Asia/Shanghai"
    wechat_token: str = field(default="gongzhi-dev-token", repr=False)
    wechat_app_id: str = "wx-dev-app-id"
    wechat_app_secret: str = field(default="wx-dev-app-secret", repr=False)
    # The mini-program (小程序): its own app id and secret, for sign-in and subscribe messages.
    wechat_mini_app_id: str = "wx-dev-mini-app-id"
    wechat_mini_app_secret: str = field(default="wx-dev-mini-app-secret", repr=False)
    wechat_encoding_aes_key: str | None = field(default=None, repr=False)
    wechat_api_base: str = REAL_WECHAT_API_BASE
    wechat_replay_window_seconds: int = 300
    wechat_timeout_seconds: float = 5.0
    wechat_max_retries: int = 2
    # (status or "default", template id) pairs; empty: no template messages, only customer service.
    wechat_status_templates: tuple[tuple[str, str], ...] = ()
    # The mini-program's subscribe-message templates per status, and the page a message opens.
    wechat_mini_status_templates: tuple[tuple[str, str], ...] = ()
    wechat_mini_page: str = "pages/case/detail"
    staff_token_max_age_seconds: int = 12 * 3600
    draft_ttl_seconds: int = 30 * 60
    # A resident's mini-program token; wx.login is silent, so signing in again costs them nothing.
    resident_token_max_age_seconds: int = 24 * 3600
    job_retry_intervals: tuple[int, ...] = (10, 60, 300)
    relay_poll_seconds: float = 2.0
    # How often the worker sweeps deadlines (warning at 80% of a time limit, overdue at 100%).
    deadline_sweep_seconds: int = 60
    # How often each worker looks for jobs of dead workers (rq's registry maintenance) and retries them.
    worker_maintenance_seconds: int = 60
    # A district's own governance platform: accepted cases are pushed there, its moves come back.
    platform_url: str | None = None
    platform_secret: str | None = field(default=None, repr=False)
    platform_timeout_seconds: float = 10.0
    # Reverse proxies in front (nginx: 1) whose X-Forwarded-For and X-Forwarded-Proto are believed;
    # 0 trusts none, so every client is its socket's address.
    trusted_proxy_hops: int = 0
    # Staff sign-in: this many failures in a row of one account from one client address lock that
    # account for that address (only) for LOGIN_LOCK_SECONDS.
    login_max_failures: int = 5
    login_lock_seconds: int = 15 * 60
    # ... and this many failures from one client address, whatever the accounts, within the window
    # stop that address signing in at all until the window ends.
    login_client_max_failures: int = 30
    login_client_window_seconds: int = 15 * 60
    # A console session ends after this many minutes without a request, and this many hours after sign-in.
    console_idle_minutes: int = 30
    console_max_hours: int = 12
    # Every staff account must sign in with a TOTP code as well (二次验证); off until all have enrolled.
    staff_totp_required: bool = False
    catalogue_file: str = str(PROJECT_ROOT / "core" / "data" / "catalogue.csv")
    # The font file checkpoint signs are printed in; unset: fontconfig's choice for Chinese (zh-CN).
    sign_font: str | None = None
    # How long personal data is kept, in days (named in the notice; the retention sweeps use them).
    retention_case_days: int = 1095
    retention_checkin_days: int = 90
    retention_access_log_days: int = 180

    def secret_values(self) -> tuple[str, ...]:
        """The values no log line, job record, page or error body may hold (fields kept out of repr)."""
        values: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if not f.repr and value:
                values.extend(value if isinstance(value, tuple) else [value])
        return tuple(values)

    @property
    def signing_keys(self) -> list[str]:
        """SECRET_KEY and the keys it replaced, oldest first (itsdangerous signs with the last)."""
        return [*reversed(self.secret_key_fallbacks), self.secret_key]

    @property
    def checkpoint_keys(self) -> tuple[str, ...]:
        """The key that seals new checkpoint codes first, then every other key a printed sign may carry."""
        keys = [self.checkpoint_key or self.secret_key, self.secret_key, *self.secret_key_fallbacks]
        return tuple(dict.fromkeys(keys))

    @property
    def has_wechat_credentials(self) -> bool:
        """Whether real official-account credentials are set (not the development placeholders)."""
        return self.wechat_app_secret != Settings.wechat_app_secret and bool(self.wechat_app_secret)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def template_for(self, status: CaseStatus | str) -> str | None:
        """The template message id for a case entering `status`, or None if none is configured."""
        templates = dict(self.wechat_status_templates)
        return templates.get(str(status), templates.get(DEFAULT_TEMPLATE_KEY))

    def mini_template_for(self, status: CaseStatus | str) -> str | None:
        """The mini-program subscribe-message template for a case entering `status`, if any."""
        templates = dict(self.wechat_mini_status_templates)
        return templates.get(str(status), templates.get(DEFAULT_TEMPLATE_KEY))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default: os.environ); in production, refuse missing ones."""
        env = os.environ if env is None else env
        app_env = env.get("APP_ENV", "development")
        if app_env == "production":
            missing = [name for name in PRODUCTION_REQUIRED if not env.get(name)]
            if missing:
                raise ConfigError("APP_ENV=production needs these settings, which are not set: " + ", ".join(missing))
            _refuse_known_secrets(env)
        values: dict[str, object] = {"app_env": app_env}
        for f in fields(cls):
            name = f.name.upper()
            if f.name == "app_env" or not env.get(name):
                continue
            raw = env[name]
            if f.type == "bool":
                values[f.name] = _bool(raw, name)
            elif f.type in ("int", "int | None"):
                values[f.name] = int(raw)
            elif f.type == "float":
                values[f.name] = float(raw)
            elif f.name == "secret_key_fallbacks":
                values[f.name] = _key_list(raw)
            elif f.name == "job_retry_intervals":
                values[f.name] = _int_list(raw)
            elif f.name in ("wechat_status_templates", "wechat_mini_status_templates"):
                values[f.name] = _status_templates(raw, name)
            else:
                values[f.name] = raw
        if "wechat_api_base" in values and not str(values["wechat_api_base"]).endswith("/"):
            values["wechat_api_base"] = f"{values['wechat_api_base']}/"
        try:
            ZoneInfo(str(values.get("timezone", cls.timezone)))
        except Exception as exc:  # zoneinfo raises several types for a bad key
            raise ConfigError(f"TIMEZONE is not a known time zone: {values.get('timezone')}") from exc
        return cls(**values)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> Settings:
        """A copy with some settings changed (tests and the worker use it)."""
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        current.update(changes)
        return Settings(**current)

"""Settings read once from environment variables; nothing else reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from zoneinfo import ZoneInfo

from core.errors import ConfigError

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


def _int_list(raw: str) -> tuple[int, ...]:
    return tuple(int(part) for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Every setting of the service; see README and .env.example for what each means."""

    app_env: str = "development"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'instance' / 'gongzhi.sqlite3'}"
    redis_url: str | None = None
    secret_key: str = "dev-only-not-secret"
    public_base_url: str = "http://127.0.0.1:5000"
    media_dir: str = str(PROJECT_ROOT / "instance" / "media")
    timezone: str = "Asia/Shanghai"
    wechat_token: str = "gongzhi-dev-token"
    wechat_app_id: str = "wx-dev-app-id"
    wechat_app_secret: str = "wx-dev-app-secret"
    wechat_encoding_aes_key: str | None = None
    wechat_api_base: str = REAL_WECHAT_API_BASE
    wechat_replay_window_seconds: int = 300
    wechat_timeout_seconds: float = 5.0
    wechat_max_retries: int = 2
    staff_token_max_age_seconds: int = 12 * 3600
    draft_ttl_seconds: int = 30 * 60
    job_retry_intervals: tuple[int, ...] = (10, 60, 300)
    relay_poll_seconds: float = 2.0
    catalogue_file: str = str(PROJECT_ROOT / "core" / "data" / "catalogue.csv")

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default: os.environ); in production, refuse missing ones."""
        env = os.environ if env is None else env
        app_env = env.get("APP_ENV", "development")
        if app_env == "production":
            missing = [name for name in PRODUCTION_REQUIRED if not env.get(name)]
            if missing:
                raise ConfigError("APP_ENV=production needs these settings, which are not set: " + ", ".join(missing))
        values: dict[str, object] = {"app_env": app_env}
        for f in fields(cls):
            name = f.name.upper()
            if f.name == "app_env" or not env.get(name):
                continue
            raw = env[name]
            if f.type in ("int", "int | None"):
                values[f.name] = int(raw)
            elif f.type == "float":
                values[f.name] = float(raw)
            elif f.name == "job_retry_intervals":
                values[f.name] = _int_list(raw)
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
        return Settings(**current)  # type: ignore[arg-type]

"""The parts a job needs (database, Redis, WeChat client), built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.db import Database
from core.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    redis: Any
    _wechat: Any = field(default=None, repr=False)
    _mini: Any = field(default=None, repr=False)

    @property
    def wechat(self) -> Any:
        """The official account's client, made on first use (the bot module imports wechatpy)."""
        if self._wechat is None:
            from wxclient.official import make_wechat_client

            self._wechat = make_wechat_client(self.settings, self.redis)
        return self._wechat

    @property
    def mini(self) -> Any:
        """The mini-program's client (subscribe messages), made on first use."""
        if self._mini is None:
            from wxclient.mini import make_mini_client

            self._mini = make_mini_client(self.settings, self.redis)
        return self._mini


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    """Make `runtime` the one jobs in this process use."""
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        # An rq work horse of a worker started some other way: build from the environment.
        from worker.wiring import runtime_from_settings

        install(runtime_from_settings(Settings.from_env()))
    assert _current is not None
    return _current

"""Draft reports in Redis: one per resident, forgotten after 30 minutes of silence."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from core.glossary import CoordSystem
from core.services.intake import ReportInput

KEY = "gongzhi:draft:{openid}"


def _decode(raw: bytes | None) -> ReportInput:
    if not raw:
        return ReportInput()
    data = json.loads(raw)
    if data.get("coord_system"):
        data["coord_system"] = CoordSystem(data["coord_system"])
    return ReportInput(**data)


class DraftStore:
    """Read-modify-write of a resident's draft, safe when several of their messages arrive at once."""

    def __init__(self, redis: Any, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    def get(self, openid: str) -> ReportInput:
        return _decode(self.redis.get(KEY.format(openid=openid)))

    def update(self, openid: str, change: Callable[[ReportInput], None]) -> ReportInput:
        """Apply `change` to the draft atomically (WATCH/MULTI, retried on conflict) and keep it alive."""
        key = KEY.format(openid=openid)
        result: dict[str, ReportInput] = {}

        def attempt(pipe: Any) -> None:
            draft = _decode(pipe.get(key))
            change(draft)
            pipe.multi()
            pipe.set(key, json.dumps(asdict(draft), ensure_ascii=False), ex=self.ttl)
            result["draft"] = draft

        self.redis.transaction(attempt, key)
        return result["draft"]

    def discard(self, openid: str) -> None:
        self.redis.delete(KEY.format(openid=openid))

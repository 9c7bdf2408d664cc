"""Fixed-window rate limits in Redis: a bounded number of actions per key and window."""

from __future__ import annotations

import time
from typing import Any


def hit(redis: Any, name: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one action for `key`; False once `limit` actions fall in the current window."""
    window = int(time.time()) // window_seconds
    bucket = f"gongzhi:rate:{name}:{key}:{window}"
    with redis.pipeline() as pipe:
        pipe.incr(bucket)
        pipe.expire(bucket, window_seconds * 2)
        count, _ = pipe.execute()
    return int(count) <= limit

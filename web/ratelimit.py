"""Fixed-window rate limits in Redis: a bounded number of actions per key and window."""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger(__name__)


def hit(redis: Any, name: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one action for `key`; False once `limit` actions fall in the current window.

    With Redis unreachable the action is allowed and the miss logged: a resident's report or a
    staff member's sign-in matters more than the limit, and an outage must not turn into a 500.
    """
    window = int(time.time()) // window_seconds
    bucket = f"gongzhi:rate:{name}:{key}:{window}"
    try:
        with redis.pipeline() as pipe:
            pipe.incr(bucket)
            pipe.expire(bucket, window_seconds * 2)
            count, _ = pipe.execute()
    except RedisError:
        log.warning("rate limit %s not checked: Redis is unreachable", name)
        return True
    return int(count) <= limit

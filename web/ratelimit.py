"""Rate limits in Redis: a bounded number of actions per key in a window that opens with the first."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger(__name__)


def hit(redis: Any, name: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one action for `key`; False once `limit` actions fall in the current window.

    With Redis unreachable the action is allowed and the miss logged: a resident's report or a
    staff member's sign-in matters more than the limit, and an outage must not turn into a 500.
    """
    # The window opens with the key's first action rather than on the wall clock's multiples, so a
    # burst that straddles a round minute is not let through twice.
    bucket = f"gongzhi:rate:{name}:{key}"
    try:
        with redis.pipeline() as pipe:
            pipe.set(bucket, 0, ex=window_seconds, nx=True)
            pipe.incr(bucket)
            _, count = pipe.execute()
    except RedisError:
        log.warning("rate limit %s not checked: Redis is unreachable", name)
        return True
    return int(count) <= limit

"""The upload sweep: objects under uploads/ in the store that no row refers to and older than an hour are deleted.

A request that fails after keeping its uploads (a crash, a lost database), or a worker killed between
committing a clean copy and removing the original, leaves such files behind. The sweep runs from the
cron (worker/cron.py); it is idempotent — a second run finds nothing more — and logs each deletion.
It works the same over a directory and a bucket: the store lists the prefix with each object's age.
"""

from __future__ import annotations

import logging
import time

from core.services import uploads
from media.storage import store_for
from worker import runtime

log = logging.getLogger(__name__)


def sweep_uploads(now: float | None = None) -> list[str]:
    """Delete the orphaned uploads older than ORPHAN_AGE_SECONDS; the keys deleted."""
    rt = runtime.current()
    store = store_for(rt.settings)
    cutoff = (time.time() if now is None else now) - uploads.ORPHAN_AGE_SECONDS
    old = [item.key for item in store.list(f"{uploads.UPLOAD_DIR}/") if item.modified.timestamp() < cutoff]
    if not old:
        return []
    with rt.database.session() as session:
        kept = uploads.referenced(session, old)
    deleted = []
    for key in sorted(old):
        if key in kept:
            continue
        store.delete(key)
        log.info("upload sweep: deleted %s (no row refers to it)", key)
        deleted.append(key)
    return deleted

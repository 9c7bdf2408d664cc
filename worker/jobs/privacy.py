"""Privacy jobs: deleting the media files erasure and retention took out of their rows, and the daily purge."""

from __future__ import annotations

import logging

from core.privacy.retention import clear_positions, purge
from media.storage import Store, check_key, store_for
from worker import runtime

log = logging.getLogger(__name__)


def remove_file(store: Store, key: str) -> bool:
    """Delete one stored file (its key in the store); False when it was not there. The one place files
    are deleted for privacy. A key that is not a plain relative path is refused (BadKey, a ValueError):
    nothing outside the store is reached, whatever a queued payload says."""
    check_key(key)
    if not store.exists(key):
        return False
    store.delete(key)
    return True


def delete_files(paths: list[str]) -> int:
    """Delete `paths` (keys) from the store (STORAGE_URL); idempotent (one already gone is skipped). How many went."""
    store = store_for(runtime.current().settings)
    deleted = sum(1 for key in paths if remove_file(store, key))
    log.info("privacy: deleted %d of %d media files", deleted, len(paths))
    return deleted


def purge_daily() -> dict[str, int]:
    """The daily retention purge (core/privacy/retention.py), committed; its counts."""
    rt = runtime.current()
    with rt.database.session() as session:
        report = purge(session, rt.settings)
        session.commit()
    log.info("privacy purge: %s", report)
    return vars(report)


def clear_old_positions() -> int:
    """Residents' last positions older than 30 minutes are forgotten (every few minutes, between purges)."""
    rt = runtime.current()
    with rt.database.session() as session:
        cleared = clear_positions(session)
        session.commit()
    return cleared

"""How long the access log is kept: RETENTION_ACCESS_LOG_DAYS (the Cybersecurity Law's six months)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.audit.log import expire
from core.settings import Settings


def expire_access_log(session: Session, settings: Settings, now: datetime) -> int:
    """Delete the entries older than `settings.retention_access_log_days` before `now`; the count.

    The caller commits (the daily purge). A setting below one day is taken as one, so a typo
    cannot empty the log of today.
    """
    days = max(1, settings.retention_access_log_days)
    return expire(session, now - timedelta(days=days))

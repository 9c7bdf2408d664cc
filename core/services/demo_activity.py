"""The demo month's activity around its cases: residents' notifications and grid workers' check-ins."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.glossary import CaseSource, CoordSystem, NotificationStatus
from core.models import Case, CaseEvent, CheckIn, Checkpoint, Grid, Notification, StaffUser


def add_notifications(session: Session, moves: Sequence[tuple[Case, CaseEvent]], rng: random.Random) -> int:
    """One notification per (case, event) told to the case's reporter, as the worker would have recorded it."""
    rows = []
    for case, event in moves:
        assert case.reporter_id is not None
        channel = "mp_subscribe" if case.source == CaseSource.MINIPROGRAM else "oa_template"
        sent = event.created_at + timedelta(seconds=rng.randint(2, 40))
        # A few never reached the resident (blocked the account, no subscribe consent left).
        failed = rng.random() < 0.04
        rows.append(
            {
                "event_id": event.id,
                "resident_id": case.reporter_id,
                "channel": channel,
                "status": NotificationStatus.FAILED if failed else NotificationStatus.SENT,
                "content": f"您上报的问题 {case.number} 状态更新：{event.to_status.label}",
                "attempts": 1,
                "error": "用户拒收" if failed else None,
                "sent_at": None if failed else sent,
                "created_at": event.created_at,
            }
        )
    if rows:
        session.execute(insert(Notification), rows)
    return len(rows)


def add_check_ins(
    session: Session,
    grids: Sequence[tuple[Grid, StaffUser, Sequence[Checkpoint]]],
    now: datetime,
    tz: ZoneInfo,
    rng: random.Random,
    days: int,
) -> int:
    """Each grid's worker passes most of its checkpoints on most of the last `days` days, in working hours."""
    rows = []
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    for _grid, worker, checkpoints in grids:
        for days_ago in range(days):
            day = today - timedelta(days=days_ago)
            for checkpoint in checkpoints:
                at = day + timedelta(hours=rng.uniform(8, 18))
                if rng.random() < 0.72 and at < now:
                    rows.append(
                        {
                            "staff_id": worker.id,
                            "checkpoint_id": checkpoint.id,
                            "at": at.astimezone(UTC),
                            "lat": checkpoint.lat,
                            "lng": checkpoint.lng,
                            "coord_system": CoordSystem.GCJ02,
                            "source": rng.choice(("wechat", "page", "api")),
                        }
                    )
    if rows:
        session.execute(insert(CheckIn), rows)
    return len(rows)

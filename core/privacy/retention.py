"""Retention: personal data that has served its purpose is anonymised or deleted, on a schedule, idempotently."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.audit import Actor, record
from core.audit.log import expire
from core.glossary import PhotoStatus
from core.models import Case, CheckIn, Photo, ReportDraft, Resident
from core.models.base import utcnow
from core.privacy.anonymise import FINISHED, anonymise_case, queue_file_deletion
from core.settings import Settings

# A resident's last reported position (WeChat's LOCATION event) serves the report being written now.
POSITION_MINUTES = 30
_BATCH = 200
SYSTEM = Actor(name="privacy purge")


@dataclass
class PurgeReport:
    """What one purge did (or, in a dry run, would do), in counts."""

    cases: int = 0
    positions: int = 0
    check_ins: int = 0
    drafts: int = 0
    failed_uploads: int = 0
    files: int = 0
    access_log: int = 0

    def lines(self) -> list[str]:
        """One line per kind, for the command's output."""
        return [
            f"已办结、不予受理或合并超过保存期限的案件已匿名化：{self.cases}",
            f"居民最后上报位置已清除：{self.positions}",
            f"巡查签到位置已清除：{self.check_ins}",
            f"过期草稿已删除：{self.drafts}",
            f"处理失败的上传已删除：{self.failed_uploads}",
            f"待删除的语音、视频和上传文件：{self.files}",
            f"过期访问日志已删除：{self.access_log}",
        ]


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def purge(session: Session, settings: Settings, *, now: datetime | None = None) -> PurgeReport:
    """Apply every retention rule in the caller's transaction and record one `privacy.purge` access-log entry.

    Finished cases (closed, rejected, merged) finished more than RETENTION_CASE_DAYS ago are anonymised
    (core/privacy/anonymise.py); a resident's last position goes after 30 minutes; check-in positions
    after RETENTION_CHECKIN_DAYS; drafts silent for longer than DRAFT_TTL_SECONDS; uploads that failed
    processing at once; access-log entries after RETENTION_ACCESS_LOG_DAYS. A second run finds nothing
    more. The caller commits, or rolls back for a dry run: the counts are the same either way.
    """
    now = now or utcnow()
    report = PurgeReport()
    files: list[str] = []
    report.cases = _anonymise_finished(session, now - timedelta(days=settings.retention_case_days), now, files)
    report.positions = clear_positions(session, now)
    report.check_ins = _count(
        session.execute(
            update(CheckIn)
            .where(CheckIn.lat.is_not(None), CheckIn.at < now - timedelta(days=settings.retention_checkin_days))
            .values(lat=None, lng=None, coord_system=None)
            .execution_options(synchronize_session=False)
        )
    )
    report.drafts = _count(
        session.execute(
            delete(ReportDraft)
            .where(ReportDraft.updated_at < now - timedelta(seconds=settings.draft_ttl_seconds))
            .execution_options(synchronize_session=False)
        )
    )
    failed = session.scalars(
        select(Photo).where(Photo.status == PhotoStatus.FAILED, Photo.upload_path.is_not(None))
    ).all()
    uploads = [photo.upload_path for photo in failed if photo.upload_path]
    for photo in failed:
        photo.upload_path = None
    queue_file_deletion(session, uploads)
    report.failed_uploads = len(failed)
    report.files = len(files) + len(uploads)
    report.access_log = expire(session, now - timedelta(days=settings.retention_access_log_days))
    session.flush()
    record(session, SYSTEM, "privacy.purge", detail=asdict(report))
    return report


def clear_positions(session: Session, now: datetime | None = None) -> int:
    """Forget residents' last reported positions older than 30 minutes (also run every few minutes)."""
    now = now or utcnow()
    return _count(
        session.execute(
            update(Resident)
            .where(Resident.last_lat.is_not(None), Resident.last_located_at < now - timedelta(minutes=POSITION_MINUTES))
            .values(last_lat=None, last_lng=None, last_coord_system=None, last_located_at=None)
            .execution_options(synchronize_session=False)
        )
    )


def _anonymise_finished(session: Session, before: datetime, now: datetime, files: list[str]) -> int:
    """Finished cases not yet anonymised whose last move is at or before `before`, in batches."""
    finished_at = func.coalesce(Case.closed_at, Case.updated_at)
    query = (
        select(Case)
        .where(Case.status.in_(FINISHED), Case.anonymised_at.is_(None), finished_at <= before)
        .order_by(Case.id)
        .limit(_BATCH)
    )
    done = 0
    while True:
        cases = session.scalars(query).all()
        if not cases:
            return done
        for case in cases:
            files += anonymise_case(session, case, now, full=True)
        done += len(cases)
        session.flush()

"""Residents' agreement to the privacy notice and their separate consents (PIPL); not WeChat subscribe consent.

Acknowledging the current notice is what every report needs (the district acts under statutory duty,
art. 13(3)); sensitive uses — a precise position, a photo's EXIF position, sharing with the district
platform — need their scope too (art. 29, 23). Rows are history: the latest per resident counts, and
only while its version is the current notice's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import GongzhiError, InvalidInput
from core.models import PrivacyConsent, Resident
from core.privacy_notice import SCOPES
from core.settings import Settings

LOCATION = "location"
PHOTO_LOCATION = "photo_location"
PHONE = "phone"
PLATFORM_SHARING = "platform_sharing"
CHANNELS = ("miniprogram", "wechat", "scan")


class ConsentRequired(GongzhiError):
    """The resident has not agreed to the current notice, or not to a scope this use needs."""

    code = "consent_required"

    def __init__(self, message: str, *, version: str, scopes: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.version = version
        self.scopes = sorted(scopes)


@dataclass(frozen=True)
class ConsentState:
    """What counts now for one resident: whether they acknowledged the current notice, and which scopes."""

    current_version: str
    agreed_version: str | None = None
    agreed_at: datetime | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def acknowledged(self) -> bool:
        return self.agreed_version == self.current_version

    def allows(self, scope: str) -> bool:
        """Whether `scope` is consented under the current notice (an older version's consent counts for nothing)."""
        return self.acknowledged and scope in self.scopes


def latest_consent(session: Session, resident_id: int) -> PrivacyConsent | None:
    """The resident's latest agreement row, whatever its version."""
    query = select(PrivacyConsent).where(PrivacyConsent.resident_id == resident_id)
    return session.scalar(query.order_by(PrivacyConsent.id.desc()).limit(1))


def consent_state(session: Session, settings: Settings, resident: Resident) -> ConsentState:
    """What the resident has agreed to that counts now."""
    row = latest_consent(session, resident.id)
    current = settings.privacy_notice_version
    if row is None:
        return ConsentState(current)
    scopes = frozenset(row.scopes or ()) if row.version == current else frozenset()
    return ConsentState(current, row.version, row.agreed_at, scopes)


def check_version(settings: Settings, version: str) -> None:
    """Refuse agreement to any notice but the current one: the resident must read what now applies."""
    if version != settings.privacy_notice_version:
        raise InvalidInput(
            f"个人信息保护说明已更新为 {settings.privacy_notice_version} 版，请重新阅读后再确认", code="stale_version"
        )


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, known ones only, sorted and without repeats; an unknown one is InvalidInput."""
    chosen = set(scopes)
    unknown = chosen - SCOPES.keys()
    if unknown:
        raise InvalidInput("未知的同意范围：" + "、".join(sorted(unknown)) + "；可选：" + "、".join(SCOPES))
    return sorted(chosen)


def record_consent(
    session: Session,
    settings: Settings,
    resident: Resident,
    *,
    version: str,
    scopes: Iterable[str],
    channel: str,
) -> PrivacyConsent:
    """Record that `resident` agreed to notice `version` with exactly `scopes` (fewer than before withdraws).

    A stale version or an unknown scope is InvalidInput and records nothing.
    """
    check_version(settings, version)
    chosen = check_scopes(scopes)
    if channel not in CHANNELS:
        raise ValueError(f"unknown consent channel {channel!r}")
    row = PrivacyConsent(resident_id=resident.id, version=version, scopes=chosen, channel=channel)
    session.add(row)
    session.flush()
    return row


def acknowledge(
    session: Session,
    settings: Settings,
    resident: Resident,
    *,
    version: str,
    channel: str,
    scopes: Iterable[str] = (),
) -> ConsentState:
    """The resident acknowledged notice `version` (with a report, in the chat) and consented to `scopes` as well.

    Scopes already given under the current notice stay; a row is recorded only when something is new.
    Consent given to an older notice is not carried over: it is asked again.
    """
    check_version(settings, version)
    wanted = frozenset(check_scopes(scopes))
    state = consent_state(session, settings, resident)
    if state.acknowledged and wanted <= state.scopes:
        return state
    row = record_consent(session, settings, resident, version=version, scopes=state.scopes | wanted, channel=channel)
    return ConsentState(settings.privacy_notice_version, row.version, row.agreed_at, frozenset(row.scopes))


def require(state: ConsentState, *scopes: str) -> None:
    """Raise ConsentRequired unless the current notice is acknowledged and every one of `scopes` given."""
    missing = [scope for scope in scopes if not state.allows(scope)]
    if not state.acknowledged:
        raise ConsentRequired(
            f"请先阅读并同意《个人信息保护说明》（{state.current_version} 版）后再上报",
            version=state.current_version,
            scopes=missing,
        )
    if missing:
        what = "、".join(SCOPES[scope].split("：")[0] for scope in missing)
        raise ConsentRequired(
            f"使用{what}需要您单独同意；也可以不提供，改为扫描巡查点二维码上报",
            version=state.current_version,
            scopes=missing,
        )


def report_record(state: ConsentState) -> dict[str, object]:
    """What a case's intake event keeps of the consent it was reported under (no personal data)."""
    return {"version": state.agreed_version, "scopes": sorted(state.scopes)}

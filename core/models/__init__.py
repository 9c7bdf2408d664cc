"""Every table of 共治, as SQLAlchemy 2.0 typed mappings."""

from core.models.audit import AccessLogEntry
from core.models.base import Base
from core.models.cases import Case, CaseEvent, CaseNumberCounter, case_followers
from core.models.catalogue import Category
from core.models.drafts import ReportDraft
from core.models.grants import (
    GrantApplication,
    GrantDisbursement,
    GrantEvent,
    GrantFile,
    GrantMember,
    GrantReport,
    GrantRound,
    GrantScore,
    GrantSource,
    GrantSupport,
)
from core.models.media import Attachment, Photo
from core.models.messaging import ApiKey, Notification, OutboxMessage, SubscribeConsent
from core.models.people import Resident, StaffUser
from core.models.places import CheckIn, Checkpoint, Grid
from core.models.platform import PlatformEvent, PlatformPush
from core.models.privacy import PrivacyConsent

__all__ = [
    "AccessLogEntry",
    "ApiKey",
    "Attachment",
    "Base",
    "Case",
    "CaseEvent",
    "CaseNumberCounter",
    "Category",
    "CheckIn",
    "Checkpoint",
    "GrantApplication",
    "GrantDisbursement",
    "GrantEvent",
    "GrantFile",
    "GrantMember",
    "GrantReport",
    "GrantRound",
    "GrantScore",
    "GrantSource",
    "GrantSupport",
    "Grid",
    "Notification",
    "OutboxMessage",
    "Photo",
    "PlatformEvent",
    "PlatformPush",
    "PrivacyConsent",
    "ReportDraft",
    "Resident",
    "StaffUser",
    "SubscribeConsent",
    "case_followers",
]

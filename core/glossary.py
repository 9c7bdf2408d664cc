"""The glossary of DESIGN.md as enums, each with the Chinese label people read."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    REPORTED = "reported"
    ACCEPTED = "accepted"
    DISPATCHED = "dispatched"
    HANDLED = "handled"
    VERIFIED = "verified"
    CLOSED = "closed"
    EVALUATED = "evaluated"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    CaseStatus.REPORTED: "已上报",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.DISPATCHED: "处理中",
    CaseStatus.HANDLED: "已处置",
    CaseStatus.VERIFIED: "已核查",
    CaseStatus.CLOSED: "已办结",
    CaseStatus.EVALUATED: "已评价",
    CaseStatus.REJECTED: "不予受理",
    CaseStatus.DUPLICATE: "已合并",
}


class Tier(StrEnum):
    COMMUNITY = "community"
    STREET = "street"
    DISTRICT = "district"

    @property
    def label(self) -> str:
        return {"community": "微循环（社区）", "street": "小循环（街道）", "district": "大循环（区）"}[self.value]

    def raised(self) -> Tier | None:
        """The next tier up, or None at the top."""
        order = list(Tier)
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


class GridLevel(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"

    @property
    def label(self) -> str:
        return {"district": "区", "street": "街镇", "community": "居村", "grid": "基础网格"}[self.value]


class Role(StrEnum):
    DISTRICT_CENTER = "district_center"
    STREET_CENTER = "street_center"
    COMMUNITY_STATION = "community_station"
    GRID_LEADER = "grid_leader"
    GRID_WORKER = "grid_worker"
    DEPARTMENT = "department"
    COMMITTEE = "committee"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.DISTRICT_CENTER: "区网格中心",
    Role.STREET_CENTER: "街镇分中心",
    Role.COMMUNITY_STATION: "居村工作站",
    Role.GRID_LEADER: "网格长",
    Role.GRID_WORKER: "网格员",
    Role.DEPARTMENT: "职能部门",
    Role.COMMITTEE: "评审委员",
    Role.AUDITOR: "审计管理员",
}


class CoordSystem(StrEnum):
    """Which datum a point was given in: WeChat and Chinese maps use GCJ-02, GPS and EXIF WGS-84."""

    GCJ02 = "gcj02"
    WGS84 = "wgs84"


class CaseSource(StrEnum):
    WECHAT = "wechat"
    MINIPROGRAM = "miniprogram"
    SCAN = "scan"
    OPEN311 = "open311"
    STAFF = "staff"


class PhotoStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # handed to WeChat; if a worker dies here we cannot know whether it arrived
    SENT = "sent"
    FAILED = "failed"

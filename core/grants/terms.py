"""The words of micro-grants as enums, each with the label staff read and the one the applicant reads."""

from __future__ import annotations

from enum import StrEnum


class GrantStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    INFO_REQUESTED = "info_requested"
    RESUBMITTED = "resubmitted"
    APPROVED = "approved"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        """What staff and the committee see."""
        return _STAFF_LABELS[self]

    @property
    def applicant_label(self) -> str:
        """What the applying volunteer or group sees."""
        return _APPLICANT_LABELS[self]

    @property
    def short_label(self) -> str:
        """At most 5 characters, for the `phrase` field of a mini-program subscribe message."""
        return _SHORT_LABELS[self]


_STAFF_LABELS = {
    GrantStatus.DRAFT: "草稿",
    GrantStatus.SUBMITTED: "已提交",
    GrantStatus.IN_REVIEW: "评审中",
    GrantStatus.INFO_REQUESTED: "待补充材料",
    GrantStatus.RESUBMITTED: "已补充材料",
    GrantStatus.APPROVED: "已立项",
    GrantStatus.DECLINED: "未立项",
    GrantStatus.IN_PROGRESS: "实施中",
    GrantStatus.COMPLETED: "已结项",
    GrantStatus.WITHDRAWN: "已撤回",
}
_APPLICANT_LABELS = {
    GrantStatus.DRAFT: "草稿（未提交）",
    GrantStatus.SUBMITTED: "已提交，等待评审",
    GrantStatus.IN_REVIEW: "评审中",
    GrantStatus.INFO_REQUESTED: "请补充材料",
    GrantStatus.RESUBMITTED: "已补充，等待评审",
    GrantStatus.APPROVED: "已获资助",
    GrantStatus.DECLINED: "未获资助",
    GrantStatus.IN_PROGRESS: "项目实施中",
    GrantStatus.COMPLETED: "已结项",
    GrantStatus.WITHDRAWN: "已撤回",
}
_SHORT_LABELS = {
    GrantStatus.DRAFT: "草稿",
    GrantStatus.SUBMITTED: "已提交",
    GrantStatus.IN_REVIEW: "评审中",
    GrantStatus.INFO_REQUESTED: "待补充",
    GrantStatus.RESUBMITTED: "已补充",
    GrantStatus.APPROVED: "已获资助",
    GrantStatus.DECLINED: "未获资助",
    GrantStatus.IN_PROGRESS: "实施中",
    GrantStatus.COMPLETED: "已结项",
    GrantStatus.WITHDRAWN: "已撤回",
}


class MemberKind(StrEnum):
    RESIDENT_REP = "resident_rep"
    FUNDER_REP = "funder_rep"
    EXPERT = "expert"

    @property
    def label(self) -> str:
        return {"resident_rep": "居民代表", "funder_rep": "出资方代表", "expert": "专家"}[self.value]


class Decision(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"


DEFAULT_CATEGORIES = ("小区维护", "楼栋自治", "小区文化营造", "组织孵化", "志愿服务")
# Shares of funding sources are basis points (1/100 of a percent) so that they stay integers.
FULL_SHARE = 10_000


def yuan(fen: int) -> str:
    """An amount in fen as people read it: 「1,234.50 元」."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d} 元"

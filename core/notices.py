"""What residents, applicants and staff are told when a case or a micro-grant moves, in short plain Chinese."""

from __future__ import annotations

from datetime import datetime, tzinfo

from core.glossary import CaseStatus, Tier
from core.models import Case, CaseEvent, GrantApplication, GrantEvent, GrantReport
from core.privacy.anonymise import shown_note
from core.privacy.masking import mask_text

S = CaseStatus

_BY_ACTION = {
    "accept": "您反映的问题已受理，我们会尽快安排处理。",
    "dispatch": "已派遣工作人员处理，请耐心等待。",
    "escalate": "问题已上报至{tier}协调处理。",
    "reassign": "已改派其他工作人员处理。",
    "rework": "处置结果未通过核查，已重新安排处理。",
    "reopen": "已根据您的反馈重新安排处理。",
    "handle": "工作人员已处置完毕，正在核查。",
    "verify": "处置结果已核查通过。",
    "close": "已办结。如问题仍未解决，7 天内可回复「未解决」；也欢迎回复 1-5 为本次处理评分。",
    "evaluate": "感谢您的评价！",
    "reject": "经核实不予受理。原因：{note}",
    "duplicate": "与案件 {original} 为同一问题，已合并办理，后续进展会一并通知您。",
}

# A follower who did not report the case may not say 未解决 or rate it (only its reporter may), and did
# not give the feedback or the rating that moved it: they are told these instead.
_FOR_FOLLOWERS = {
    "close": "已办结。感谢您的关注。",
    "evaluate": "反映人已对本次处理作出评价。",
    "reopen": "已根据反映人的反馈重新安排处理。",
}

# What the assignee of a case is told (worker/jobs/deadlines.py).
DEADLINE_WARNING = "即将超时：案件 {number}{what}将于 {deadline} 到期，请尽快处置。"
OVERDUE = "已超时：案件 {number}{what}已于 {deadline} 超过处置时限。"

GRANT_REMINDER = "报告提醒"  # a reminder's status word, where a grant message names one


def notice_body(event: CaseEvent, *, reporter: bool = True) -> str:
    """What happened, without the case number and status (a template message shows those itself).

    `reporter`: told to the case's reporter; False for a follower, whose wording invites no reply.
    """
    template = (None if reporter else _FOR_FOLLOWERS.get(event.action)) or _BY_ACTION.get(
        event.action, "案件状态已更新。"
    )
    tier = Tier(event.data["tier"]).label if event.data.get("tier") else ""
    # Every follower of the case reads this, not only its reporter: a staff note is masked, and a
    # resident's note that was redacted stays so.
    note = shown_note(event)
    note = mask_text(note) if note else "—"
    return template.format(tier=tier, note=note, original=event.data.get("original", ""))


def status_notice(case: Case, event: CaseEvent, *, reporter: bool = True) -> str:
    """The whole message for the reporter of `case` (or, `reporter` False, a follower) about `event`."""
    return f"【共治】您的案件 {case.number} 状态：{event.to_status.label}。{notice_body(event, reporter=reporter)}"


def _local(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%m月%d日 %H:%M") if moment else "未设定"


def _what(case: Case) -> str:
    parts = [case.category.name if case.category else "", case.location_label or ""]
    detail = "，".join(p for p in parts if p)
    return f"（{detail}）" if detail else ""


def assigned_notice(case: Case, tz: tzinfo) -> str:
    """「新派遣」for whoever `case` was dispatched, escalated, reassigned or sent back to."""
    return f"新派遣：案件 {case.number}{_what(case)}，时限 {_local(case.deadline_at, tz)}。请及时处置。"


def deadline_notice(wording: str, case: Case, tz: tzinfo) -> str:
    """`wording` (DEADLINE_WARNING or OVERDUE) filled in for the assignee of `case`."""
    return wording.format(number=case.number, what=_what(case), deadline=_local(case.deadline_at, tz))


def grant_notice(application: GrantApplication, event: GrantEvent) -> str:
    """The text an applicant reads about `event` (a move of their application, or a reminder)."""
    if event.action == "remind":
        return f"【微公益】您的项目「{application.title}」：{event.note}。"
    text = f"【微公益】您的申请「{application.title}」{event.to_status.applicant_label}"
    return text + (f"：{event.note}" if event.note else "。")


def late_report_notice(application: GrantApplication, report: GrantReport) -> str:
    """「进度报告逾期」for the staff member who opened the application's round."""
    return (
        f"进度报告逾期：微公益项目「{application.title}」第 {report.sequence} 次报告"
        f"应于 {report.due_on:%Y-%m-%d} 提交，至今未交。"
    )

"""What a resident is told when their case moves, in short plain Chinese."""

from __future__ import annotations

from core.glossary import CaseStatus, Tier
from core.models import Case, CaseEvent

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


def notice_body(event: CaseEvent) -> str:
    """What happened, without the case number and status (a template message shows those itself)."""
    template = _BY_ACTION.get(event.action, "案件状态已更新。")
    tier = Tier(event.data["tier"]).label if event.data.get("tier") else ""
    return template.format(tier=tier, note=event.note or "—", original=event.data.get("original", ""))


def status_notice(case: Case, event: CaseEvent) -> str:
    """The whole message for the followers of `case` about `event`."""
    return f"【共治】您的案件 {case.number} 状态：{event.to_status.label}。{notice_body(event)}"

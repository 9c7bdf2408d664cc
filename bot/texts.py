"""Everything the bot says, in short plain Chinese, and the few formatters that fill it in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from core.models import Case, Checkpoint
from core.privacy_notice import notice_url
from core.services.intake import ReportInput
from core.services.resident_cases import TimelineEntry
from core.services.suggest import Suggestion
from core.settings import Settings

HELP = (
    "随手拍 · 共治：发现身边的问题，几步就能上报。\n"
    "1. 拍照发送（最多 9 张）\n"
    "2. 发送位置（点「+」→「位置」），或扫描巡查点二维码\n"
    "3. 用文字描述问题\n"
    "最后回复「提交」。回复「取消」重新开始。\n"
    "查进展：回复「我的上报」或「查询 案件编号」。\n"
    "评价：「评价 案件编号 5 很满意」；问题未解决：「没修好 案件编号」。\n"
    "个人信息：回复「我的数据」查看，回复「注销」删除。"
)
WELCOME = "欢迎关注！这里可以随时上报身边的问题，并收到处理进展。\n\n" + HELP
AGREE_HOWTO = (
    "回复「同意」，表示您已阅读并同意该说明，并单独同意在上报时提供您发送的位置"
    "（精确位置属于敏感个人信息，仅用于确定问题地点）。"
)
AGREED = "已记录您的同意（说明版本 {version}）。现在可以拍照、发送位置来上报问题了。如需撤回，回复「撤回同意」。"
WITHDRAWN = "已撤回您的单独同意（位置等）。已提交的案件照常办理；如需再次上报，请回复「同意」。"
NOTHING_TO_WITHDRAW = "您目前没有给出需要撤回的同意。"
REPORT_HOWTO = "请拍照发送问题现场，再发送位置和文字描述，完成后回复「提交」。"
CANCELLED = "已清空，您可以重新开始上报。"
NOTHING_TO_SUBMIT = "还没有要提交的内容。\n" + REPORT_HOWTO
SIGN_REPLACED = "这个巡查点的二维码已经更换，请扫描现场张贴的新二维码；也可以直接拍照、发送位置来上报。"
NOT_A_CHECKPOINT = "这不是本社区巡查点的二维码。您可以直接拍照、发送位置来上报。"
VOICE_WITHOUT_TEXT = "已收到语音。为便于处理，请再用文字简单描述问题。"
BAD_LOCATION = "没能识别这个位置，请重新发送。"
NO_CASES = "您还没有上报过问题。" + REPORT_HOWTO
RATED = "感谢您的评价！"
REOPENED = "已收到您的反馈，案件 {number} 已重新交办处理。"
ERASE_ASK = (
    "注销将删除本平台保存的您的个人信息：微信标识（openid、unionid）、手机号、昵称和位置，"
    "并取消您对案件的关注、各项同意和订阅，清空未提交的草稿。"
    "您上报过的案件将转为匿名反映继续保留，不再与您关联，之后也无法再查询或评价。\n"
    "确需注销，请在 {minutes} 分钟内回复「确认注销」；回复其他任何内容即取消。"
)
ERASE_NOT_ASKED = "没有待确认的注销：如您刚才已确认，注销已经完成；如需注销，请先回复「注销」。"
ERASED = "您的个人信息已删除，账号已注销。感谢您参与社区治理；今后再发消息，将作为新用户开始。"
MY_DATA = "点击查看本平台保存的您的全部个人信息（链接 {minutes} 分钟内有效，仅限本人查看，请勿转发）：\n{url}"


def help_text(settings: Settings) -> str:
    """The help text, with the privacy notice's link."""
    return f"{HELP}\n个人信息保护说明：{notice_url(settings)}"


def welcome(settings: Settings) -> str:
    """What a new follower reads first: what the account does, how, and the privacy notice."""
    return f"{WELCOME}\n\n上报前请阅读《个人信息保护说明》：{notice_url(settings)}\n{AGREE_HOWTO}"


def consent_prompt(settings: Settings) -> str:
    """Asked before a report is taken from someone who has not agreed to the current notice in the chat."""
    return (
        f"上报前，请先阅读《个人信息保护说明》（{settings.privacy_notice_version} 版）：{notice_url(settings)}\n"
        f"{AGREE_HOWTO}同意前发送的内容不会保存，同意后请重新发送。"
    )


def _time(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%m-%d %H:%M")


def next_step(report: ReportInput) -> str:
    """What is still missing, or that the report can be submitted."""
    missing = []
    if not report.wechat_media_ids:
        missing.append("照片")
    if report.lat is None and report.checkpoint_label is None:
        missing.append("位置")
    if not report.description:
        missing.append("文字描述")
    if missing:
        return f"还可以发送：{'、'.join(missing)}。准备好后回复「提交」。"
    return "信息已齐全，回复「提交」即可上报。"


def category_line(chosen: Suggestion | None, others: Sequence[Suggestion]) -> str:
    """「类别：…」 with the alternatives the resident can pick by number."""
    if chosen is None:
        return ""
    line = f"问题类别：{chosen.name}。"
    if others:
        choices = " ".join(f"{n}. {c.name}" for n, c in enumerate(others, start=2))
        line += f"如不对，回复序号改为：{choices}"
    return line


def at_checkpoint(checkpoint: Checkpoint) -> str:
    grid = checkpoint.grid.name if checkpoint.grid else ""
    return f"您在「{checkpoint.name}」（{grid}）。请拍照并描述问题，完成后回复「提交」。"


def submitted(case: Case) -> str:
    return f"提交成功！案件编号 {case.number}。处理进展会通过本公众号通知您。"


def case_list(cases: Sequence[Case], tz: ZoneInfo) -> str:
    if not cases:
        return NO_CASES
    lines = ["您最近的上报："]
    for n, case in enumerate(cases, start=1):
        what = case.category.name if case.category else (case.description[:12] or "随手拍")
        lines.append(f"{n}. {case.number} {case.status.label}（{what}，{_time(case.created_at, tz)}）")
    lines.append("回复「查询 案件编号」查看进展。")
    return "\n".join(lines)


def timeline(case: Case, entries: Sequence[TimelineEntry], tz: ZoneInfo) -> str:
    what = case.category.name if case.category else "随手拍"
    lines = [f"案件 {case.number}（{what}）当前状态：{case.status.label}"]
    for entry in entries:
        text = f" {entry.text}" if entry.text else ""
        lines.append(f"{_time(entry.at, tz)} {entry.status_label}{text}")
    return "\n".join(lines)

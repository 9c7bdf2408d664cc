"""The privacy notice residents read at /privacy (PIPL art. 17): its text, version and address, from settings."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings

NOTICE_PATH = "/privacy"
NOTICE_TITLE = "个人信息保护说明"

# The separate consents a resident may give beside the notice, each with what it allows, as they read it.
SCOPES: dict[str, str] = {
    "location": "精确位置：您发送或允许获取的手机定位，用于确定问题地点（敏感个人信息，行踪轨迹）",
    "photo_location": "照片拍摄位置：照片 EXIF 中记录的拍摄地点，仅在您选择「使用照片位置」时读取",
    "phone": "联系电话：您留下的电话号码，仅供工作人员回访",
    "platform_sharing": "向区网格化治理平台提供：受理后的案件（含描述、位置、照片）推送到区里的治理平台办理",
}


@dataclass(frozen=True)
class Section:
    """One heading of the notice and its paragraphs."""

    title: str
    paragraphs: tuple[str, ...]


def notice_url(settings: Settings) -> str:
    """The notice's public address on PUBLIC_BASE_URL."""
    return settings.public_base_url.rstrip("/") + NOTICE_PATH


def notice_sections(settings: Settings) -> list[Section]:
    """The notice, section by section, with the district's own parts filled in from settings."""
    who = settings.privacy_controller_name
    return [
        Section(
            "一、谁在处理您的个人信息",
            (
                f"「共治 · 随手拍」由{who}运营（个人信息处理者）。您通过公众号对话、小程序或扫描巡查点二维码"
                "反映的问题，由本区网格化社会治理体系受理、派遣、处置并告知您进展。",
            ),
        ),
        Section(
            "二、收集哪些信息、为什么",
            (
                "微信身份标识（openid、unionid）：识别您，把处理进展发送给您。",
                "您上报的照片、文字、语音、视频：了解并处理您反映的问题。照片在任何人查看前去除全部元数据"
                "（包括拍摄位置），原始文件随即删除。",
                "位置：确定问题发生在哪里、由哪个网格处理。您发送的精确位置和照片中的拍摄位置属于敏感个人信息"
                "（行踪轨迹），只有在您单独同意后才会使用；不同意时，您可以扫描巡查点二维码，以巡查点位置上报。",
                "联系电话（选填）：方便工作人员回访。",
                "您对处理结果的评价和「没修好」的反馈：改进工作、必要时重新处理。",
            ),
        ),
        Section(
            "三、处理的依据",
            (
                f"受理和处理群众反映的问题是{who}履行法定职责所必需（《个人信息保护法》第十三条第一款第三项、"
                "第三十四条、第三十五条）：向您告知本说明后即可处理上述一般个人信息。",
                "精确位置、照片拍摄位置等敏感个人信息，以及向区网格化治理平台提供案件信息，另需您的单独同意"
                "（第二十三条、第二十九条）。您可以随时撤回同意，撤回不影响此前已经办理的案件。",
            ),
        ),
        Section(
            "四、谁能看到",
            (
                "只有负责处理该问题的网格员、社区工作站、街镇和区网格中心工作人员及相关职能部门，在其职责范围内查看；"
                "工作人员查看您的联系方式会被记录。选择匿名上报时，工作人员看不到反映人。",
                "公开的进度页面和开放接口不显示任何个人信息；其他居民看不到您的案件内容。",
                "我们不会把您的个人信息用于与处理问题无关的用途，也不会出售或提供给其他单位，"
                "法律法规另有规定或您单独同意的除外。",
            ),
        ),
        Section(
            "五、保存多久",
            (
                f"案件（含照片、描述、位置、联系电话）：保存 {settings.retention_case_days} 天，"
                "期满后删除或匿名化处理。",
                f"工作人员巡查签到记录：保存 {settings.retention_checkin_days} 天。",
                f"访问日志：保存 {settings.retention_access_log_days} 天。",
                "您的同意记录（说明版本、同意范围和时间）与您的居民账号一并保存，用于证明处理有据。",
            ),
        ),
        Section(
            "六、您的权利",
            (
                "您有权查阅、复制、更正、删除您的个人信息，有权撤回同意、要求解释处理规则（第四十四条至第四十八条）。",
                "撤回同意：在小程序「个人信息保护」中取消相应选项，或在公众号回复「撤回同意」。",
                "查阅、复制或删除：通过下方联系方式提出，我们核实身份后在十五个工作日内答复。",
            ),
        ),
        Section(
            "七、联系我们",
            (f"个人信息处理者：{who}。", f"联系方式：{settings.privacy_contact}。"),
        ),
        Section(
            "八、版本",
            (
                f"本说明版本：{settings.privacy_notice_version}。内容更新时版本随之更新，"
                "您再次上报前我们会请您重新阅读并确认。",
            ),
        ),
    ]


def notice_text(settings: Settings) -> str:
    """The whole notice as plain text (the mini-program shows it as is)."""
    parts = [f"{NOTICE_TITLE}（版本 {settings.privacy_notice_version}）"]
    for section in notice_sections(settings):
        parts.append("\n".join((section.title, *section.paragraphs)))
    return "\n\n".join(parts)

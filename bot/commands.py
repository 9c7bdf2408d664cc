"""Text messages: the resident's commands (提交, 取消, 我的上报, 查询, 评价, 没修好, 注销 …), else the description."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError

from bot import reports, texts
from bot.turn import Handler, Turn
from core.errors import GongzhiError
from core.models.base import utcnow
from core.privacy.erasure import erase_resident
from core.privacy.links import MAX_AGE_SECONDS as LINK_MAX_AGE_SECONDS
from core.privacy.links import data_url
from core.services import patrol, resident_cases
from core.services.intake import ReportInput
from core.services.suggest import suggest_categories
from core.settings import Settings
from core.text import clean

SUBMIT = {"提交", "确认提交", "提交上报"}
CANCEL = {"取消", "重新开始", "取消上报"}
HELP = {"帮助", "使用帮助", "help", "?", "？", "菜单"}
REPORT = {"上报", "随手拍", "我要上报"}
MY_CASES = {"我的上报", "我的案件", "进度", "查询"}
NUMBER = r"(GZ\d{8}-\d{6})"
LOOKUP = re.compile(rf"^(?:查询|查看|进度)\s*{NUMBER}$", re.IGNORECASE)
RATE = re.compile(rf"^评价\s*{NUMBER}\s*([0-9０-９一二三四五]+)\s*(.*)$", re.IGNORECASE | re.DOTALL)
REOPEN = re.compile(rf"^(?:没修好|未解决|没解决)\s*{NUMBER}\s*(.*)$", re.IGNORECASE | re.DOTALL)
CHOICE = re.compile(r"^[1-9１-９]$")
BIND = re.compile(r"^绑定\s*([0-9０-９]{1,12})$")
AGREE = {"同意", "我同意", "同意并继续"}
WITHDRAW = {"撤回同意", "不同意"}
MY_DATA = {"我的数据", "我的信息", "个人信息"}
ERASE = {"注销", "注销账号", "删除我的信息"}
CONFIRM_ERASE = "确认注销"
# How long 「确认注销」 is accepted after 「注销」.
ERASE_CONFIRM_MINUTES = 5
CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


def _digit(text: str) -> int | None:
    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if text in CHINESE_DIGITS:
        return CHINESE_DIGITS[text]
    return int(text) if text.isdigit() else None


def fixed_reply(text: str, settings: Settings) -> str | None:
    """The reply to a command whose answer is the same for everyone (帮助, 上报), else None."""
    if text.lower() in HELP:
        return texts.help_text(settings)
    if text in REPORT:
        return texts.REPORT_HOWTO
    return None


def on_text(turn: Turn, message: Any) -> str:
    text = clean(message.content)
    if text in SUBMIT:
        return reports.submit(turn, message)
    if text in CANCEL:
        turn.draft_only = True
        turn.report = ReportInput()
        return texts.CANCELLED
    if text in AGREE:
        return reports.agree(turn)
    if text in WITHDRAW:
        return reports.withdraw(turn)
    if reply := fixed_reply(text, turn.settings):
        return reply
    if text in MY_CASES:
        cases = resident_cases.my_cases(turn.session, turn.resident, limit=5)
        return texts.case_list(cases, turn.settings.tz)
    if match := BIND.match(text):
        return _bind(turn, message, match[1])
    if text in MY_DATA:
        url = data_url(turn.settings, turn.resident.id)
        return texts.MY_DATA.format(url=url, minutes=LINK_MAX_AGE_SECONDS // 60)
    if text in ERASE:
        turn.erase_pending = utcnow()
        return texts.ERASE_ASK.format(minutes=ERASE_CONFIRM_MINUTES)
    if text == CONFIRM_ERASE:
        return _erase(turn)
    if command := _case_command(turn, text):
        return command
    if CHOICE.match(text) and turn.report.suggested_codes:
        return reports.choose_category(turn, _digit(text) or 0)
    if turn.report.is_empty() and not suggest_categories(turn.session, text, limit=1):
        # Outside a draft, text that names no problem we know ("你好") gets the help text.
        return texts.help_text(turn.settings)
    return reports.describe(turn, text)


def _bind(turn: Turn, message: Any, code: str) -> str:
    """「绑定 123456」: a staff member binds this WeChat to their account with a code from the staff API."""
    code = code.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    try:
        staff = patrol.bind_openid(turn.session, turn.redis, message.source, code)
    except GongzhiError as exc:
        return exc.message
    except RedisError:
        return "暂时无法绑定，请稍后再试。"
    return f"绑定成功！本微信已绑定工作账号「{staff.display_name}」，今后在公众号中扫描巡查点二维码即可签到。"


def _erase(turn: Turn) -> str:
    """「确认注销」 within a few minutes of 「注销」: the resident's data is erased (core/privacy/erasure.py)."""
    asked = turn.erase_asked_at
    if asked is None or utcnow() - asked > timedelta(minutes=ERASE_CONFIRM_MINUTES):
        return texts.ERASE_NOT_ASKED
    erase_resident(turn.session, turn.resident.id)
    turn.erased = True
    return texts.ERASED


def _case_command(turn: Turn, text: str) -> str | None:
    """查询 / 评价 / 没修好 followed by a case number; None when `text` is none of them."""
    try:
        if match := LOOKUP.match(text):
            case = resident_cases.find_own_case(turn.session, turn.resident, match[1])
            return texts.timeline(case, resident_cases.resident_timeline(case), turn.settings.tz)
        if match := RATE.match(text):
            rating = _digit(match[2])
            if rating is None:
                return "评分请用 1 到 5 的数字，例如「评价 GZ20261121-000001 5 很满意」。"
            resident_cases.evaluate(turn.session, turn.resident, match[1], rating, clean(match[3], 500))
            return texts.RATED
        if match := REOPEN.match(text):
            case = resident_cases.find_own_case(turn.session, turn.resident, match[1])
            resident_cases.reopen(turn.session, turn.resident, case.number, clean(match[2], 500))
            return texts.REOPENED.format(number=case.number)
    except GongzhiError as exc:
        return exc.message
    return None


HANDLERS: dict[str, Handler] = {"text": on_text}

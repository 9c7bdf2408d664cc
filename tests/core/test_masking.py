"""core.privacy.masking: every common form of a phone, ID, plate and room is masked; ordinary numbers are not."""

from __future__ import annotations

import pytest

from core.glossary import CaseStatus
from core.models import CaseEvent
from core.notices import notice_body
from core.privacy.masking import MASK, mask_optional, mask_text

MASKED = [
    # mobile numbers
    ("电话13812345678", "电话" + MASK),
    ("电话 138 1234 5678 找我", "电话 " + MASK + " 找我"),
    ("138-1234-5678", MASK),
    ("138.1234.5678", MASK),
    ("+8613812345678", MASK),
    ("+86 138 1234 5678", MASK),
    ("+86-13812345678", MASK),
    ("0086 13812345678", MASK),
    ("008613812345678", MASK),
    ("(+86)13912345678", MASK),
    ("＋86 15912345678", MASK),
    ("联系19912345678。", "联系" + MASK + "。"),
    # landlines
    ("010-12345678", MASK),
    ("01012345678", MASK),
    ("0571-88888888", MASK),
    ("(0571)8888 8888", MASK),
    ("（0571）88888888", MASK),
    ("(010) 1234-5678", MASK),
    ("021 6123 4567", MASK),
    ("0551-6512345", MASK),
    ("+86 10 12345678", MASK),
    ("0086-571-88888888", MASK),
    ("010-12345678转123", MASK),
    # ID card numbers
    ("身份证110101199003074514", "身份证" + MASK),
    ("11010119900307451X", MASK),
    ("11010119900307451x", MASK),
    ("110101 19900307 4514", MASK),
    # licence plates
    ("京A12345", MASK),
    ("车牌皖A·12345挡住了消防通道", "车牌" + MASK + "挡住了消防通道"),
    ("粤B·D12345", MASK),
    ("粤BD12345", MASK),
    ("沪A 1234F", MASK),
    ("苏E12345挂", MASK),
    ("浙a12345", MASK),
    # rooms
    ("3栋502室", MASK),
    ("住在3栋502室楼下", "住在" + MASK + "楼下"),
    ("3号楼2单元502", MASK),
    ("3号楼2单元502室", MASK),
    ("502室", MASK),
    ("1203房", MASK),
    ("2单元302", MASK),
    ("B座1203", MASK),
    ("12幢301", MASK),
    ("5栋3单元", MASK),
    # e-mail
    ("写信到 someone@example.com", "写信到 " + MASK),
]

KEPT = [
    "案件 GZ20261204-000002 已受理",
    "GZ20261121-000042",
    "2026-12-04 10:30",
    "2026年12月4日 下午3点",
    "20261204",
    "金额 1380 元",
    "¥12,345.00",
    "共 123456 元",
    "处置时限 24 小时",
    "2室1厅",
    "3号楼门口的路灯坏了",
    "3栋楼下有垃圾",
    "距离 150 米",
    "400-800-1234",
    "第 12 号检查点",
    "云Backup 服务",
    "新Model 手机",
    "路灯 No.12345",
    "1.5 米宽",
    "文明路 118 号",
    "编号 ABC12345678901",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_personal_identifiers_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_several_identifiers_in_one_text_are_all_masked() -> None:
    text = "我是3栋502室住户，电话138 1234 5678，京A12345 天天停在消防通道，案件GZ20261204-000002"
    masked = mask_text(text)
    assert "502" not in masked and "5678" not in masked and "12345" not in masked.replace("GZ20261204-000002", "")
    assert masked.count(MASK) == 3
    assert masked.endswith("GZ20261204-000002")


def test_missing_text_stays_missing() -> None:
    assert mask_optional(None) is None
    assert mask_optional("") is None
    assert mask_optional("电话13812345678") == "电话" + MASK


def test_a_rejection_reason_sent_to_every_follower_is_masked() -> None:
    event = CaseEvent(
        action="reject", to_status=CaseStatus.REJECTED, note="已电话 13812345678 联系3栋502室住户", data={}
    )
    assert notice_body(event) == f"经核实不予受理。原因：已电话 {MASK} 联系{MASK}住户"

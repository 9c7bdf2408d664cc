"""What Open311 clients send, checked: a POST requests form as a report, a GET requests query as filters.

Every refusal is InvalidInput (400) or NotFound (404) with a Chinese sentence naming the parameter;
core.services.open311 then files the report or runs the query with plain values.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.glossary import CoordSystem
from core.models import Checkpoint
from core.models.base import utcnow
from core.services.intake import MAX_DESCRIPTION, ReportInput
from core.services.open311 import PostedRequest, RequestQuery, find_service
from core.text import clean

# GET requests: at most 90 days at once (and the last 90 days by default), at most 100 ids.
MAX_SPAN = timedelta(days=90)
MAX_IDS = 100
MAX_MEDIA_URL = 1024
MAX_PHONE = 32
STATUSES = ("open", "closed")
LIST_TYPES = ("singlevaluelist", "multivaluelist")


@dataclass(frozen=True)
class Attribute:
    """One extra question of a service definition, and how its answer is kept with the case."""

    code: str
    datatype: str  # string, number, datetime, text, singlevaluelist, multivaluelist
    required: bool
    order: int
    description: str
    label: str  # how the answer is written into the case's description for staff
    datatype_description: str | None = None
    values: tuple[tuple[str, str], ...] = ()  # (key, name) for the list types
    max_length: int = 64

    def as_spec(self) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "variable": True,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": self.datatype_description,
            "order": self.order,
            "description": self.description,
        }
        if self.datatype in LIST_TYPES:
            shape["values"] = [{"key": key, "name": name} for key, name in self.values]
        return shape


# Every service asks the same two optional questions; staff read the answers in the description.
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        code="building",
        datatype="string",
        required=False,
        order=1,
        description="楼栋号或门牌号（选填），如「3栋」「12号」",
        label="楼栋号",
        datatype_description="不超过 32 个字",
        max_length=32,
    ),
    Attribute(
        code="recurrence",
        datatype="singlevaluelist",
        required=False,
        order=2,
        description="这个问题是第一次发现，还是反复出现？（选填）",
        label="出现情况",
        values=(("first", "第一次发现"), ("repeat", "反复出现")),
    ),
)
_ATTRIBUTES_BY_CODE = {attribute.code: attribute for attribute in ATTRIBUTES}
_PHONE = re.compile(r"[0-9+()\- ]+")
_ATTRIBUTE_KEY = re.compile(r"attribute\[([^\[\]]+)\](\[\])?")
_W3C = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2}))?")


# --- POST requests ---------------------------------------------------------------------------


def _first(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = form.get(name) or []
    return values[0] if values else None


def _coordinate(raw: str, name: str, low: float, high: float) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise InvalidInput(f"{name} 不是数字：{clean(raw, 32)}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidInput(f"{name} 超出范围（{low} 到 {high}）")
    return value


def _attributes(form: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The answers given as attribute[code] (or attribute[code][] for several), checked against ATTRIBUTES."""
    answers: dict[str, list[str]] = {}
    for key, values in form.items():
        if not key.startswith("attribute"):
            continue
        match = _ATTRIBUTE_KEY.fullmatch(key)
        if match is None:
            raise InvalidInput(f"参数 {clean(key, 64)} 的格式应为 attribute[代码]")
        code = match.group(1)
        attribute = _ATTRIBUTES_BY_CODE.get(code)
        if attribute is None:
            known = "、".join(_ATTRIBUTES_BY_CODE)
            raise InvalidInput(f"没有代码为 {clean(code, 32)} 的附加项（可用：{known}）")
        given = [clean(value) for value in values if clean(value)]
        if len(given) > 1 and attribute.datatype != "multivaluelist":
            raise InvalidInput(f"附加项 {code} 只能有一个值")
        for value in given:
            if attribute.datatype in LIST_TYPES and value not in dict(attribute.values):
                allowed = "、".join(key for key, _ in attribute.values)
                raise InvalidInput(f"附加项 {code} 的值 {clean(value, 32)} 不在可选项中（{allowed}）")
            if len(value) > attribute.max_length:
                raise InvalidInput(f"附加项 {code} 最多 {attribute.max_length} 个字")
        if given:
            answers[code] = given
    for attribute in ATTRIBUTES:
        if attribute.required and attribute.code not in answers:
            raise InvalidInput(f"缺少必填的附加项 attribute[{attribute.code}]：{attribute.description}")
    return answers


def _media_url(raw: str | None) -> str | None:
    url = (raw or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if (
        len(url) > MAX_MEDIA_URL
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(ch.isspace() for ch in url)
    ):
        raise InvalidInput(f"media_url 必须是不超过 {MAX_MEDIA_URL} 个字符的 http(s) 网址")
    return url


def _phone(raw: str | None) -> str | None:
    phone = clean(raw)
    if not phone:
        return None
    if len(phone) > MAX_PHONE or not _PHONE.fullmatch(phone):
        raise InvalidInput("phone 应为电话号码（数字，可含 + - 空格和括号）")
    return phone


def read_request(session: Session, form: Mapping[str, Sequence[str]]) -> PostedRequest:
    """A POST requests form (every value a list, as posted) checked and made the report it asks for.

    e-mail, names, device_id and account_id are accepted and not kept; a phone number is kept for
    call-backs, encrypted (Case.contact_phone), and shown to staff only masked.
    """
    category = find_service(session, _first(form, "service_code"))

    lat_raw, lng_raw = _first(form, "lat"), _first(form, "long")
    lat_raw = lat_raw if lat_raw and lat_raw.strip() else None
    lng_raw = lng_raw if lng_raw and lng_raw.strip() else None
    if (lat_raw is None) != (lng_raw is None):
        raise InvalidInput("lat 和 long 须同时提供")
    lat = _coordinate(lat_raw, "lat", -90, 90) if lat_raw is not None else None
    lng = _coordinate(lng_raw, "long", -180, 180) if lng_raw is not None else None
    address_string = clean(_first(form, "address_string"), 256) or None
    # Open311's address_id is, here, a checkpoint's printed label (CP0001), never its signed public code.
    checkpoint_label = clean(_first(form, "address_id"), 64) or None
    if lat is None and checkpoint_label is None:
        if address_string:
            raise InvalidInput(
                "本系统不能按地址文字定位：请同时提供 lat 和 long（WGS-84），或以 address_id 给出巡查点编号"
            )
        raise InvalidInput("缺少位置：请提供 lat 和 long（WGS-84），或以 address_id 给出巡查点编号")
    known = select(Checkpoint.id).where(Checkpoint.label == checkpoint_label)
    if checkpoint_label is not None and session.scalar(known) is None:
        raise InvalidInput(f"address_id {checkpoint_label} 不是本区的巡查点编号（如 CP0001）")

    description = clean(_first(form, "description"))
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description 最多 {MAX_DESCRIPTION} 字")
    answers = _attributes(form)
    media_url = _media_url(_first(form, "media_url"))
    phone = _phone(_first(form, "phone"))

    # The answers and the media link are kept where staff read the report: its description.
    lines = [description or category.name]
    for attribute in ATTRIBUTES:
        if attribute.code in answers:
            names = dict(attribute.values)
            shown = "、".join(names.get(value, value) for value in answers[attribute.code])
            lines.append(f"{attribute.label}：{shown}")
    if media_url:
        lines.append(f"图片链接：{media_url}")
    text = "\n".join(lines)
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(f"description 连同附加项和 media_url 最多 {MAX_DESCRIPTION} 字")

    report = ReportInput(
        description=text,
        lat=lat,
        lng=lng,
        coord_system=CoordSystem.WGS84 if lat is not None else None,
        location_label=address_string,
        checkpoint_label=checkpoint_label,
        category_code=category.code,
        contact_phone=phone,
        category_chosen=True,
    )
    posted = [
        category.code,
        lat,
        lng,
        checkpoint_label,
        address_string,
        description,
        sorted(answers.items()),
        media_url,
    ]
    fingerprint = hashlib.sha256(json.dumps(posted, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]
    return PostedRequest(report, fingerprint)


# --- GET requests ----------------------------------------------------------------------------


def _list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def parse_w3c(raw: str, name: str, tz: ZoneInfo) -> datetime:
    """A W3C datetime (with Z or an offset), or a date alone meaning 00:00 that day in the district."""
    text = raw.strip()
    if not _W3C.fullmatch(text):
        raise InvalidInput(f"{name} 应为带时区的 W3C 日期时间，例如 2026-11-21T14:03:00+08:00 或 2026-11-21T06:03:00Z")
    try:
        if "T" not in text:
            return datetime.combine(datetime.fromisoformat(text).date(), time(), tz)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} 不是有效的日期时间：{clean(text, 40)}") from None


def parse_query(session: Session, args: Mapping[str, str], tz: ZoneInfo, now: datetime | None = None) -> RequestQuery:
    """Check the query of GET requests; InvalidInput (400) or NotFound (404, unknown service_code)."""
    numbers = _list(args.get("service_request_id"))
    if numbers:
        if len(numbers) > MAX_IDS:
            raise InvalidInput(f"service_request_id 一次最多 {MAX_IDS} 个")
        return RequestQuery(numbers=tuple(number.upper() for number in numbers))

    codes = _list(args.get("service_code"))
    for code in codes:
        find_service(session, code)
    statuses = _list(args.get("status"))
    for status in statuses:
        if status not in STATUSES:
            raise InvalidInput(f"status 只能是 open 或 closed（可用逗号分隔），不能是 {clean(status, 16)}")

    start_raw, end_raw = args.get("start_date"), args.get("end_date")
    start = parse_w3c(start_raw, "start_date", tz) if start_raw else None
    end = parse_w3c(end_raw, "end_date", tz) if end_raw else None
    if start is None and end is None:
        end = now or utcnow()
    if start is None:
        assert end is not None
        start = end - MAX_SPAN
    if end is None:
        end = start + MAX_SPAN
    if start > end:
        raise InvalidInput("start_date 不能晚于 end_date")
    if end - start > MAX_SPAN:
        raise InvalidInput("start_date 到 end_date 不能超过 90 天")
    return RequestQuery(service_codes=tuple(codes), start=start, end=end, statuses=frozenset(statuses))

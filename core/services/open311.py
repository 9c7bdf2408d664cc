"""Open311 GeoReport v2 in the domain's words: services are the catalogue's sub-categories, requests are cases.

This module has the services and the posting of requests; core/services/open311_requests.py the
reading of them. Everything returns plain values named as the specification names them; web/open311 only
renders them as JSON or XML. Nothing personal leaves through these shapes: no reporter, phone,
e-mail, name, staff member or rating comment, and typed text has phone numbers, ID numbers and
e-mail addresses masked.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.errors import InvalidInput, NotFound
from core.glossary import CaseSource, CaseStatus, CoordSystem
from core.models import ApiKey, Case, Category, Checkpoint
from core.models.base import utcnow
from core.services.intake import MAX_DESCRIPTION, ReportInput, submit_report
from core.settings import Settings
from core.text import clean

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# GET requests: at most 90 days at once (and the last 90 days by default), at most 1000 requests.
MAX_SPAN = timedelta(days=90)
MAX_RESULTS = 1000
MAX_IDS = 100
# The same key posting the same thing again within this long gets the first answer back.
DOUBLE_POST_WINDOW = timedelta(seconds=10)
MAX_MEDIA_URL = 1024
MAX_PHONE = 32
CLOSED = frozenset({CaseStatus.CLOSED, CaseStatus.EVALUATED, CaseStatus.REJECTED, CaseStatus.DUPLICATE})
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

# Masked in every text shown publicly: ID numbers, mobile and landline numbers, e-mail addresses.
_PERSONAL = (
    re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])"),
    re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
    re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)"),
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
)
MASK = "＊＊＊"
_PHONE = re.compile(r"[0-9+()\- ]+")
_ATTRIBUTE_KEY = re.compile(r"attribute\[([^\[\]]+)\](\[\])?")


def public_text(text: str | None) -> str | None:
    """`text` with personal identifiers masked, or None when there is none."""
    if not text:
        return None
    for pattern in _PERSONAL:
        text = pattern.sub(MASK, text)
    return text


def w3c(moment: datetime | None, tz: ZoneInfo) -> str | None:
    """A W3C datetime with the district's offset, e.g. 2026-11-21T14:03:00+08:00."""
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None


# --- services --------------------------------------------------------------------------------


def services(session: Session) -> list[Category]:
    """The sub-categories of the catalogue, in catalogue order: the services a client can report."""
    query = (
        select(Category)
        .where(Category.parent_id.is_not(None))
        .options(selectinload(Category.parent))
        .order_by(Category.sort_order, Category.id)
    )
    return list(session.scalars(query))


def find_service(session: Session, code: object) -> Category:
    """The sub-category `code`; NotFound for anything else (a major category is not a service)."""
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput("缺少 service_code")
    code = code.strip()
    category = session.scalar(select(Category).where(Category.code == code, Category.parent_id.is_not(None)))
    if category is None:
        raise NotFound(f"没有编码为 {clean(code, 32)} 的服务（service_code）")
    return category


def service_notice(category: Category) -> str:
    """What happens to a request of this service: who handles it, how soon, and when it counts as done."""
    parts = ["受理后派遣处置"]
    if category.time_limit_hours:
        parts.append(f"处置时限 {category.time_limit_hours} 小时")
    notice = "，".join(parts)
    if category.closing_standard:
        notice += f"；结案标准：{category.closing_standard}"
    return notice


def service_entry(category: Category) -> dict[str, Any]:
    """One service of GET services."""
    described = []
    if category.kind:
        described.append(f"{category.kind}类")
    if category.default_tier:
        described.append(f"{category.default_tier.label}处置")
    if category.time_limit_hours:
        described.append(f"时限 {category.time_limit_hours} 小时")
    description = "，".join(described)
    if category.closing_standard:
        description += f"。结案标准：{category.closing_standard}"
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": description or category.name,
        "metadata": bool(ATTRIBUTES),
        "type": "realtime",
        "keywords": ", ".join(category.keywords.split()) if category.keywords else None,
        "group": category.parent.name if category.parent else None,
    }


def service_definition(category: Category) -> dict[str, Any]:
    """GET services/<service_code>: the service's extra questions."""
    return {"service_code": category.code, "attributes": [attribute.as_spec() for attribute in ATTRIBUTES]}


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


@dataclass
class _Posted:
    """A POST requests form, checked: what becomes the report, and what identifies a double post."""

    category: Category
    report: ReportInput
    fingerprint: str


def _read_form(session: Session, form: Mapping[str, Sequence[str]]) -> _Posted:
    category = find_service(session, _first(form, "service_code"))

    lat_raw, lng_raw = _first(form, "lat"), _first(form, "long")
    lat_raw = lat_raw if lat_raw and lat_raw.strip() else None
    lng_raw = lng_raw if lng_raw and lng_raw.strip() else None
    if (lat_raw is None) != (lng_raw is None):
        raise InvalidInput("lat 和 long 须同时提供")
    lat = _coordinate(lat_raw, "lat", -90, 90) if lat_raw is not None else None
    lng = _coordinate(lng_raw, "long", -180, 180) if lng_raw is not None else None
    address_string = clean(_first(form, "address_string"), 256) or None
    address_id = clean(_first(form, "address_id"), 64) or None
    if lat is None and address_id is None:
        if address_string:
            raise InvalidInput(
                "本系统不能按地址文字定位：请同时提供 lat 和 long（WGS-84），或以 address_id 给出巡查点编号"
            )
        raise InvalidInput("缺少位置：请提供 lat 和 long（WGS-84），或以 address_id 给出巡查点编号")
    if address_id is not None and session.scalar(select(Checkpoint.id).where(Checkpoint.code == address_id)) is None:
        raise InvalidInput(f"address_id {address_id} 不是本区的巡查点编号（如 CP0001）")

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
        checkpoint_code=address_id,
        category_code=category.code,
        contact_phone=phone,
        category_chosen=True,
    )
    posted = [category.code, lat, lng, address_id, address_string, description, sorted(answers.items()), media_url]
    fingerprint = hashlib.sha256(json.dumps(posted, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]
    return _Posted(category, report, fingerprint)


def _intake_key(api_key: ApiKey, fingerprint: str, moment: datetime) -> str:
    window = int(moment.timestamp() // DOUBLE_POST_WINDOW.total_seconds())
    return f"open311:{api_key.id}:{fingerprint}:{window}"


def submit_request(
    session: Session,
    settings: Settings,
    api_key: ApiKey,
    form: Mapping[str, Sequence[str]],
    now: datetime | None = None,
) -> tuple[Case, bool]:
    """POST requests: the form becomes a case (source open311) in the caller's transaction.

    Returns (case, created). The same key posting the same service, place, description and
    answers again within 10 seconds gets the first case back (created False) instead of a second
    one. e-mail, names, device_id and account_id are accepted and not kept; a phone number is kept
    for call-backs and never shown.
    """
    posted = _read_form(session, form)
    now = now or utcnow()
    # The key names the 10-second window the post falls in; the window before is looked up too.
    previous = _intake_key(api_key, posted.fingerprint, now - DOUBLE_POST_WINDOW)
    earlier = session.scalar(select(Case).where(Case.intake_key == previous))
    if earlier is not None and now - earlier.created_at < DOUBLE_POST_WINDOW:
        return earlier, False
    return submit_report(
        session,
        settings,
        resident=None,
        report=posted.report,
        source=CaseSource.OPEN311,
        intake_key=_intake_key(api_key, posted.fingerprint, now),
    )


def receipt(case: Case) -> dict[str, Any]:
    """The answer to POST requests, one element of the array."""
    return {
        "service_request_id": case.number,
        "token": case.tracking_token,
        "service_notice": service_notice(case.category) if case.category else None,
        "account_id": None,
    }

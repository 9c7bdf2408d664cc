"""Marshmallow fields and validators whose error messages are Chinese sentences a resident can read."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask_smorest import fields as smorest_fields
from marshmallow import validate as validate  # re-exported: schemas write f.validate.Length
from werkzeug.datastructures import FileStorage

# Characters no text of ours may hold: control characters (bar tab and newlines), lone surrogates,
# and the two non-characters; PostgreSQL refuses NUL outright.
_UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

# marshmallow declares these per instance, so they are not ClassVars (ruff's RUF012 is off here).
Messages = dict[str, str | list[Any] | dict[Any, Any]]

_COMMON = {"required": "必填", "null": "不能为空", "validator_failed": "取值无效"}


class String(ma.fields.String):
    """Text without control characters; refuses them rather than storing what cannot be shown."""

    default_error_messages: Messages = {
        **_COMMON,
        "invalid": "应为文字",
        "invalid_utf8": "不是有效的 UTF-8 文字",
        "unreadable": "含有无法识别的字符",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _UNREADABLE.search(text):
            raise self.make_error("unreadable")
        return text


class Integer(ma.fields.Integer):
    default_error_messages: Messages = {**_COMMON, "invalid": "应为整数", "too_large": "数值太大"}


class Float(ma.fields.Float):
    default_error_messages: Messages = {
        **_COMMON,
        "invalid": "应为数字",
        "too_large": "数值太大",
        "special": "应为有限的数字",
    }


class Boolean(ma.fields.Boolean):
    default_error_messages: Messages = {**_COMMON, "invalid": "应为 true 或 false"}


class List(ma.fields.List):  # type: ignore[type-arg]  # of any field, as marshmallow's own
    default_error_messages: Messages = {**_COMMON, "invalid": "应为列表"}


class Nested(ma.fields.Nested):
    default_error_messages: Messages = {**_COMMON, "type": "格式有误"}


class Upload(smorest_fields.Upload):
    """A file of a multipart request; a plain form value under the same name is refused."""

    default_error_messages: Messages = {**_COMMON, "invalid": "应为上传的文件"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> FileStorage:
        if not isinstance(value, FileStorage):
            raise self.make_error("invalid")
        return value


def between(low: float, high: float) -> validate.Range:
    """low ≤ value ≤ high, said in Chinese."""
    return validate.Range(min=low, max=high, error=f"应在 {low:g} 到 {high:g} 之间")


def one_of(choices: list[str]) -> validate.OneOf:
    """One of `choices`, said in Chinese."""
    return validate.OneOf(choices, error="只能是 " + "、".join(choices) + " 之一")


def length(low: int | None = None, high: int | None = None) -> validate.Length:
    """A length between `low` and `high` characters (either may be open), said in Chinese."""
    if low and high:
        message = f"长度应为 {low} 到 {high} 个字符"
    elif high:
        message = f"最多 {high} 个字符"
    else:
        message = f"至少 {low} 个字符"
    return validate.Length(min=low, max=high, error=message)


def matching(pattern: str, message: str) -> validate.Regexp:
    """The whole value matches `pattern`; `message` says what is wanted."""
    return validate.Regexp(pattern, error=message)


class ApiSchema(ma.Schema):
    """Base of every request schema: unknown keys are ignored, a body of the wrong type is explained."""

    class Meta:
        unknown = ma.EXCLUDE

    error_messages: dict[str, str] = {"type": "格式有误：应为 JSON 对象", "unknown": "未知字段"}

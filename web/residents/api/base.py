"""The mini-program API's flask-smorest pieces: a parser that answers 400, multipart bodies, the error schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import marshmallow as ma
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

# The name of the resident bearer token in the OpenAPI document's security schemes.
SECURITY_SCHEME = "residentToken"


class ErrorDetail(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "机器可读的错误代码，如 invalid、not_found"})
    message = ma.fields.String(required=True, metadata={"description": "给居民看的中文说明"})
    field_errors = ma.fields.Dict(
        data_key="fields",
        keys=ma.fields.String(),
        metadata={"description": "校验错误：字段名 → 该字段的问题（仅 code 为 invalid 时）"},
    )
    version = ma.fields.String(metadata={"description": "consent_required 时：须同意的说明版本"})
    scopes = ma.fields.List(ma.fields.String(), metadata={"description": "consent_required 时：还须单独同意的范围"})


class ErrorSchema(ma.Schema):
    """Every error of the API: {"error": {"code", "message", "fields"?}}."""

    error = ma.fields.Nested(ErrorDetail, required=True)


class ApiParser(FlaskParser):
    """webargs for this API: bad input is a 400, and `multipart` reads form fields and files together."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "json": None,
        "multipart": ma.EXCLUDE,
    }
    __location_map__: dict[str, Any] = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req: Any, schema: ma.Schema) -> Any:
        """Form fields and files of a multipart/form-data request, as one MultiDict."""
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class ApiBlueprint(Blueprint):
    """A flask-smorest Blueprint with our parser, multipart bodies and the resident's bearer token."""

    ARGUMENTS_PARSER = ApiParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict[str, str]] = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }

    def errors(self, *statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Document the error answers a view may give, each in ErrorSchema's shape."""

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            for status in statuses:
                func = self.alt_response(status, schema=ErrorSchema)(func)
            return func

        return decorator

    def resident_only(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Let the request through only with a valid resident token (see web.residents.api.auth); documented."""
        from web.residents.api.auth import require_resident

        guarded = require_resident(func)
        guarded = self.alt_response(401, schema=ErrorSchema, description="缺少、无效或过期的令牌")(guarded)
        return self.doc(security=[{SECURITY_SCHEME: []}])(guarded)

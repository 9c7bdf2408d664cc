"""Open311 answers as JSON or XML in the specification's shapes: the one place either format is written.

XML is built with the standard library's ElementTree, which escapes text; characters XML 1.0
cannot carry at all are dropped, so every answer is well-formed UTF-8.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from flask import Response

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The element each item of a list is written in, by the name of the list.
ITEMS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def format_of(path: str) -> str:
    """The format a path asks for: XML for .xml, else JSON (also for paths that match nothing)."""
    return "xml" if path.endswith(".xml") else "json"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        child = ITEMS[element.tag]
        for item in value:
            _fill(ET.SubElement(element, child), item)
    else:
        element.text = _text(value)


def to_xml(data: Any, root: str, item: str | None = None) -> bytes:
    """`data` under the element `root`: a list with each entry as an `item` element, or one dict."""
    element = ET.Element(root)
    if item is None:
        _fill(element, data)
    else:
        for entry in data:
            _fill(ET.SubElement(element, item), entry)
    return DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")


def respond(fmt: str, data: Any, root: str, item: str | None = None, status: int = 200) -> Response:
    """The answer in `fmt`; `root` and `item` name the XML elements (JSON has no names for them)."""
    body = to_xml(data, root, item) if fmt == "xml" else json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(body, status=status, content_type=CONTENT_TYPES[fmt])


def errors(fmt: str, status: int, description: str) -> Response:
    """An error as the specification writes it: an array of {code, description}, code = HTTP status."""
    return respond(fmt, [{"code": status, "description": description}], "errors", "error", status)

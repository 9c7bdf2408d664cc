"""A Flask-test-client look-alike over real HTTP, so the suite's senders can talk to nginx and gunicorn."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter


class HttpResponse:
    """The parts of a Flask test response the suite reads, around a `requests` response."""

    def __init__(self, response: requests.Response) -> None:
        self.raw = response
        self.status_code = response.status_code
        self.headers = response.headers
        self._data = response.content

    def get_data(self, as_text: bool = False) -> Any:
        return self._data.decode() if as_text else self._data

    def set_data(self, data: bytes) -> None:
        self._data = data

    @property
    def is_json(self) -> bool:
        return self.headers.get("Content-Type", "").startswith("application/json")

    def get_json(self) -> Any:
        return self.raw.json()


class _SourceAdapter(HTTPAdapter):
    """Connections from the loopback address `source` (127.0.0.0/8 is all loopback on Linux)."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


class HttpClient:
    """`post` and `get` as the Flask test client takes them, sent to `base_url` over HTTP."""

    def __init__(self, base_url: str, timeout: float = 30.0, source: str | None = None) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.session = requests.Session()
        if source is not None:  # another loopback address, to be another client for per-address limits
            self.session.mount("http://", _SourceAdapter(source))

    def _url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def get(self, path: str, query_string: dict | None = None, headers: dict | None = None, **kw: Any) -> HttpResponse:
        return HttpResponse(
            self.session.get(self._url(path), params=query_string, headers=headers, timeout=self.timeout, **kw)
        )

    def post(
        self,
        path: str,
        query_string: dict | None = None,
        data: Any = None,
        json: Any = None,
        headers: dict | None = None,
        content_type: str | None = None,
    ) -> HttpResponse:
        headers = dict(headers or {})
        files = None
        if isinstance(data, dict) and content_type == "multipart/form-data":
            data, files = _multipart(data)
        elif content_type:
            headers["Content-Type"] = content_type
        response = self.session.post(
            self._url(path),
            params=query_string,
            data=data,
            json=json,
            files=files,
            headers=headers,
            timeout=self.timeout,
        )
        return HttpResponse(response)


def _multipart(form: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, tuple[str, bytes]]]]:
    """Split a Flask-style form ({name: value | (stream, filename) | [...]}) into fields and files."""
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, tuple[str, bytes]]] = []
    for name, value in form.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple) and isinstance(item[0], io.IOBase):
                files.append((name, (item[1], item[0].read())))
            else:
                fields.append((name, str(item)))
    return fields, files

"""A fake district governance platform, speaking docs/platform-api.md from the platform's side.

Run it as a process of its own (the end-to-end test does):

    python -m tests.fakes.platform_server --port 8765 --secret S --app-url http://127.0.0.1:5000

or in a test with `with FakePlatform(secret, app_url) as fake:`. It writes its own signing code
from the document rather than importing ours, so a test through it checks the contract, not the
code against itself.

    POST /cases              a pushed case: the signature, its time and the Idempotency-Key are
                             checked; one case is kept per key (a repeat gets the first answer)

Test control under /_fake/:

    GET  /_fake/state        {"attempts": [...every POST /cases...], "cases": {key: body}}
    POST /_fake/fail_next    {"n", "status"?}   answer the next n pushes with that status (503)
    POST /_fake/send_event   {...event body...} sign it and POST it to <app-url>/platform/events;
                             answers {"status": <the app's HTTP status>, "body": <its JSON>}
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Self

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

WINDOW = 300


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, content_type="application/json")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>`, as the document says."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class FakePlatform:
    """The fake platform's state and WSGI app; `start()` serves it from a thread on loopback."""

    def __init__(self, secret: str, app_url: str, port: int = 0) -> None:
        self.secret = secret
        self.app_url = app_url.rstrip("/")
        self.port = port
        self._lock = threading.Lock()
        self.attempts: list[dict[str, Any]] = []
        self.cases: dict[str, dict[str, Any]] = {}
        self._external: dict[str, str] = {}
        self._fail: list[int] = []
        self._server: BaseWSGIServer | None = None

    def make_server(self) -> BaseWSGIServer:
        self._server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_port
        return self._server

    def start(self) -> Self:
        server = self.make_server()
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- the platform's side of the contract ------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        routes = {
            ("POST", "/cases"): self._push,
            ("GET", "/_fake/state"): self._state,
            ("POST", "/_fake/fail_next"): self._fail_next,
            ("POST", "/_fake/send_event"): self._send_event,
        }
        handler = routes.get((request.method, request.path))
        response = handler(request) if handler else _json({"error": "no such path"}, 404)
        return response(environ, start_response)

    def _push(self, request: Request) -> Response:
        raw = request.get_data()
        timestamp = request.headers.get("X-Gongzhi-Timestamp", "")
        sent = request.headers.get("X-Gongzhi-Signature", "")
        key = request.headers.get("Idempotency-Key", "")
        signed = bool(timestamp.isdigit()) and hmac.compare_digest(sent, signature(self.secret, timestamp, raw))
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= WINDOW
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        attempt = {"key": key, "signed": signed, "fresh": fresh, "body": body, "time": time.time()}
        with self._lock:
            self.attempts.append(attempt)
            if self._fail:
                status = self._fail.pop(0)
                attempt["answer"] = status
                return _json({"error": "平台维护中"}, status)
            if not (signed and fresh):
                attempt["answer"] = 401
                return _json({"error": "签名无效"}, 401)
            if not isinstance(body, dict) or not key or body.get("idempotency_key") != key:
                attempt["answer"] = 400
                return _json({"error": "Idempotency-Key 与请求体不符"}, 400)
            duplicate = key in self.cases
            if not duplicate:
                self.cases[key] = body
                self._external[key] = f"PF-{len(self.cases):06d}"
            attempt["answer"] = 200
            return _json({"external_id": self._external[key], "status": "duplicate" if duplicate else "received"})

    # --- control -----------------------------------------------------------------------------

    def _state(self, request: Request) -> Response:
        with self._lock:
            return _json({"attempts": self.attempts, "cases": self.cases})

    def _fail_next(self, request: Request) -> Response:
        data = request.get_json(force=True)
        with self._lock:
            self._fail.extend([int(data.get("status", 503))] * int(data["n"]))
        return _json({"ok": True})

    def _send_event(self, request: Request) -> Response:
        return _json(self.send_event(request.get_json(force=True)))

    def send_event(self, event: dict[str, Any], *, timestamp: int | None = None) -> dict[str, Any]:
        """Sign `event` and post it to the app, as the platform would; the app's status and JSON."""
        raw = json.dumps(event, ensure_ascii=False).encode()
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Gongzhi-Timestamp": stamp,
            "X-Gongzhi-Signature": signature(self.secret, stamp, raw),
        }
        response = requests.post(f"{self.app_url}/platform/events", data=raw, headers=headers, timeout=10)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return {"status": response.status_code, "body": body}


class PlatformRemote:
    """Drives a FakePlatform running in another process, through its /_fake/ control API."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def state(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/_fake/state", timeout=5).json()

    def fail_next(self, n: int, status: int = 503) -> None:
        requests.post(f"{self.url}/_fake/fail_next", json={"n": n, "status": status}, timeout=5).raise_for_status()

    def send_event(self, event: dict[str, Any]) -> dict[str, Any]:
        return requests.post(f"{self.url}/_fake/send_event", json=event, timeout=15).json()


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake district governance platform (tests only).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--app-url", required=True, help="where /platform/events of the app is served")
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first N pushes with 503")
    args = parser.parse_args()
    fake = FakePlatform(args.secret, args.app_url, args.port)
    fake._fail.extend([503] * args.fail_first)
    server = fake.make_server()
    print(f"fake platform listening on {fake.url}", flush=True)
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()

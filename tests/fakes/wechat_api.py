"""A fake WeChat API server on loopback HTTP, controllable from Python and from other processes.

Start it in a test (`with FakeWeChatAPI() as fake:`), point `Settings.wechat_api_base` at
`fake.base_url`, and every WeChat call of the code under test — in this process or in an rq worker
process — lands here. It answers like the real API (same paths, same JSON, same errcodes) for:

    GET  /cgi-bin/token                 access token (client_credential)
    GET  /cgi-bin/media/get             temporary media, as registered with add_media
    POST /cgi-bin/message/custom/send   customer-service message
    POST /cgi-bin/message/template/send template message (answers a msgid)
    POST /cgi-bin/menu/create           the custom menu
    POST /cgi-bin/qrcode/create         a parametric QR code (answers a ticket and its weixin.qq.com URL)
    POST /cgi-bin/message/subscribe/send     mini-program subscribe message
    POST /cgi-bin/message/subscribe/bizsend  official-account subscribe message
    GET  /sns/jscode2session            mini-program login, for codes registered with add_login_code

Test control is a JSON API under /_fake/ (see `FakeWeChatRemote`, which a worker process or a
second test process uses to drive a fake it did not start):

    POST /_fake/media        {"media_id", "data_base64", "content_type", "filename"?}
    POST /_fake/login_codes  {"code", "openid", "session_key", "unionid"?}
    GET  /_fake/calls?path=/cgi-bin/...        -> {"calls": [...]}
    POST /_fake/reset
    POST /_fake/expire_tokens
    POST /_fake/fail_next    {"n", "status"?, "errcode"?, "delay"?, "path"?}
    POST /_fake/fail_ratio   {"ratio", "seed", "kind", "path"?, "status"?, "errcode"?, "delay"?}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import mimetypes
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Self

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

DEFAULT_APP_ID = "wx-dev-app-id"
DEFAULT_APP_SECRET = "wx-dev-app-secret"
TOKEN_EXPIRES_IN = 7200

# The messages the real API sends with each errcode (it appends " rid: …" to each).
ERRMSGS = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    40097: "invalid args",
    47001: "data format error",
}

FailureKind = Literal["errcode", "status", "delay"]


def _errmsg(errcode: int) -> str:
    return f"{ERRMSGS.get(errcode, 'error')} rid: {secrets.token_hex(4)}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Call:
    """One API call the fake received (control calls under /_fake/ are not recorded).

    `status` and `errcode` are what the fake answered; both are None while the answer is still
    being prepared (e.g. during an injected delay) — the call is recorded as soon as it arrives.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any
    time: float
    status: int | None = None
    errcode: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Call:
        return cls(**data)


@dataclass
class _Failure:
    remaining: int
    path: str | None
    status: int | None
    errcode: int | None
    delay: float | None

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path is None or self.path == path)


@dataclass
class _RandomFailure:
    ratio: float
    rng: random.Random
    kind: FailureKind
    path: str | None
    status: int
    errcode: int
    delay: float


@dataclass
class _State:
    calls: list[dict[str, Any]] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    random_failure: _RandomFailure | None = None
    media: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)
    login_codes: dict[str, dict[str, str]] = field(default_factory=dict)
    used_codes: set[str] = field(default_factory=set)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> appid
    expired_tokens: set[str] = field(default_factory=set)
    msgid: int = 1_000_000_000


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _json(data: dict[str, Any], status: int = 200) -> Response:
    # The real API answers JSON with this content type, Chinese unescaped.
    return Response(
        json.dumps(data, ensure_ascii=False), status=status, content_type="application/json; encoding=utf-8"
    )


def _error(errcode: int) -> Response:
    return _json({"errcode": errcode, "errmsg": _errmsg(errcode)})


def _status_page(status: int) -> Response:
    # What a gateway in front of WeChat answers: HTML, not JSON.
    return Response(f"<html><body><h1>{status}</h1></body></html>", status=status, content_type="text/html")


class FakeWeChatAPI:
    """The fake WeChat API server; see the module docstring for what it speaks."""

    def __init__(
        self,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        *,
        other_apps: dict[str, str] | None = None,
    ) -> None:
        """`other_apps` maps more appids to secrets (e.g. a mini-program next to the account)."""
        self.apps = {app_id: app_secret, **(other_apps or {})}
        self._lock = threading.Lock()
        self._state = _State()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/cgi-bin/token"): self._token,
            ("GET", "/cgi-bin/media/get"): self._media_get,
            ("POST", "/cgi-bin/message/custom/send"): self._custom_send,
            ("POST", "/cgi-bin/message/template/send"): self._template_send,
            ("POST", "/cgi-bin/message/subscribe/send"): self._subscribe_send,
            ("POST", "/cgi-bin/message/subscribe/bizsend"): self._subscribe_send,
            ("GET", "/sns/jscode2session"): self._jscode2session,
            ("GET", "/sns/oauth2/access_token"): self._oauth_access_token,
            ("POST", "/cgi-bin/menu/create"): self._menu_create,
            ("POST", "/cgi-bin/qrcode/create"): self._qrcode_create,
        }

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on a free loopback port, serving from a daemon thread."""
        if self._server is not None:
            return self
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        # A short poll interval keeps stop() quick; serve_forever only notices shutdown between polls.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-wechat-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; calls still sleeping in an injected delay finish on their own threads."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The base to put in `wechat_api_base`, like "http://127.0.0.1:PORT/"."""
        if self._server is None:
            raise RuntimeError("FakeWeChatAPI is not started")
        return f"http://127.0.0.1:{self._server.server_port}/"

    # --- test control (also reachable over HTTP under /_fake/) -------------------------------

    def add_media(
        self, media_id: str, data: bytes, content_type: str = "image/jpeg", filename: str | None = None
    ) -> None:
        """Make GET /cgi-bin/media/get?media_id=… answer these bytes."""
        if filename is None:
            filename = f"{media_id}{mimetypes.guess_extension(content_type) or ''}"
        with self._lock:
            self._state.media[media_id] = (bytes(data), content_type, filename)

    def add_login_code(self, code: str, openid: str, session_key: str, unionid: str | None = None) -> None:
        """Make /sns/jscode2session (mini-program) and /sns/oauth2/access_token (web) accept `code` once."""
        with self._lock:
            self._state.login_codes[code] = {"openid": openid, "session_key": session_key}
            if unionid is not None:
                self._state.login_codes[code]["unionid"] = unionid
            self._state.used_codes.discard(code)

    def calls(self, path: str | None = None) -> list[Call]:
        """The API calls received so far, oldest first; only those to `path` if given."""
        with self._lock:
            rows = [dict(row) for row in self._state.calls if path is None or row["path"] == path]
        return [Call.from_dict(row) for row in rows]

    def count(self, path: str) -> int:
        """How many calls to `path` arrived so far; copies nothing, so it is cheap to poll."""
        with self._lock:
            return sum(1 for row in self._state.calls if row["path"] == path)

    def reset(self) -> None:
        """Forget recorded calls and all failure injection (media, codes and tokens stay)."""
        with self._lock:
            self._state.calls.clear()
            self._state.failures.clear()
            self._state.random_failure = None

    def expire_tokens(self) -> None:
        """Every token issued so far is answered with 42001 (access_token expired) from now on."""
        with self._lock:
            self._state.expired_tokens.update(self._state.tokens)

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int | None = None,
        errcode: int | None = None,
        delay: float | None = None,
        path: str | None = None,
    ) -> None:
        """Make the next `n` API calls (to `path`, if given) fail.

        `delay` sleeps that many seconds before answering (alone: a slow but correct answer);
        `status` answers that HTTP status with an HTML body; `errcode` answers HTTP 200 with that
        WeChat errcode. Rules queue up; each call consumes one from the first rule that matches.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        if status is None and errcode is None and delay is None:
            raise ValueError("fail_next needs a status, an errcode or a delay")
        with self._lock:
            self._state.failures.append(_Failure(n, path, status, errcode, delay))

    def fail_ratio(
        self,
        ratio: float,
        seed: int,
        kind: FailureKind = "errcode",
        *,
        path: str | None = None,
        status: int = 503,
        errcode: int = -1,
        delay: float = 10.0,
    ) -> None:
        """Fail a `ratio` of API calls (to `path`, if given) at random, reproducibly from `seed`.

        `kind` says how: "errcode" answers `errcode` (default -1, WeChat's "system error"),
        "status" answers HTTP `status`, "delay" sleeps `delay` seconds and then answers normally.
        A ratio of 0 turns it off. Rules from fail_next are consumed first.
        """
        if not 0 <= ratio <= 1:
            raise ValueError("ratio must be between 0 and 1")
        if kind not in ("errcode", "status", "delay"):
            raise ValueError(f"unknown failure kind {kind!r}")
        with self._lock:
            self._state.random_failure = (
                _RandomFailure(ratio, random.Random(seed), kind, path, status, errcode, delay) if ratio else None
            )

    def issued_tokens(self) -> list[str]:
        """The access tokens handed out so far."""
        with self._lock:
            return list(self._state.tokens)

    # --- the WSGI app ---------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        request = Request(environ)
        response = self._control(request) if request.path.startswith("/_fake/") else self._api(request)
        return response(environ, start_response)

    def _api(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True)) if request.get_data() else None
        except ValueError:
            body = None
        row: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "query": request.args.to_dict(),
            "json": body,
            "time": time.time(),
            "status": None,
            "errcode": None,
        }
        with self._lock:
            self._state.calls.append(row)
            failure = self._take_failure(request.path)
        status, errcode, delay = failure if failure else (None, None, None)
        if delay:
            time.sleep(delay)
        if status is not None:
            response = _status_page(status)
        elif errcode is not None:
            response = _error(errcode)
        else:
            handler = self._routes.get((request.method, request.path))
            if handler is None:
                response = _json({"errcode": 404, "errmsg": f"fake WeChat has no {request.method} {request.path}"}, 404)
            else:
                response = handler(request)
        answered = None
        if response.mimetype == "application/json":
            answered = json.loads(response.get_data(as_text=True)).get("errcode")
        with self._lock:
            row["status"] = response.status_code
            row["errcode"] = answered
        return response

    def _take_failure(self, path: str) -> tuple[int | None, int | None, float | None] | None:
        """The failure to apply to this call, if any; call with the lock held."""
        for failure in self._state.failures:
            if failure.matches(path):
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._state.failures.remove(failure)
                return failure.status, failure.errcode, failure.delay
        chance = self._state.random_failure
        if chance is None or (chance.path is not None and chance.path != path):
            return None
        if chance.rng.random() >= chance.ratio:
            return None
        if chance.kind == "status":
            return chance.status, None, None
        if chance.kind == "delay":
            return None, None, chance.delay
        return None, chance.errcode, None

    def _check_token(self, request: Request) -> Response | None:
        """None if the access_token is good, else the real API's error answer."""
        token = request.args.get("access_token")
        if not token:
            return _error(41001)
        with self._lock:
            if token not in self._state.tokens:
                return _error(40001)
            if token in self._state.expired_tokens:
                return _error(42001)
        return None

    def _token(self, request: Request) -> Response:
        if request.args.get("grant_type") != "client_credential":
            return _error(40002)
        appid = request.args.get("appid", "")
        if appid not in self.apps:
            return _error(40013)
        if request.args.get("secret") != self.apps[appid]:
            # WeChat's documentation lists 40001 for a wrong AppSecret on this endpoint.
            return _error(40001)
        token = f"FAKE-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._state.tokens[token] = appid
        return _json({"access_token": token, "expires_in": TOKEN_EXPIRES_IN})

    def _media_get(self, request: Request) -> Response:
        if (refused := self._check_token(request)) is not None:
            return refused
        with self._lock:
            media = self._state.media.get(request.args.get("media_id", ""))
        if media is None:
            return _error(40007)
        data, content_type, filename = media
        response = Response(data, content_type=content_type)
        response.headers["Content-disposition"] = f'attachment; filename="{filename}"'
        return response

    def _message_body(self, request: Request, *required: str) -> dict[str, Any] | Response:
        """The JSON body of a send, or the real API's error answer for a malformed one."""
        if (refused := self._check_token(request)) is not None:
            return refused
        try:
            body = json.loads(request.get_data(as_text=True))
        except ValueError:
            return _error(47001)
        if not isinstance(body, dict):
            return _error(47001)
        if not body.get("touser"):
            return _error(40003)
        for name, errcode in (("msgtype", 40008), ("template_id", 40037), ("data", 47001)):
            if name in required and not body.get(name):
                return _error(errcode)
        return body

    def _custom_send(self, request: Request) -> Response:
        body = self._message_body(request, "msgtype")
        if isinstance(body, Response):
            return body
        if body["msgtype"] not in body:
            return _error(47001)
        return _json({"errcode": 0, "errmsg": "ok"})

    def _template_send(self, request: Request) -> Response:
        body = self._message_body(request, "template_id", "data")
        if isinstance(body, Response):
            return body
        with self._lock:
            self._state.msgid += 1
            msgid = self._state.msgid
        return _json({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    def _menu_create(self, request: Request) -> Response:
        if (refused := self._check_token(request)) is not None:
            return refused
        try:
            body = json.loads(request.get_data(as_text=True))
        except ValueError:
            return _error(40016)
        buttons = body.get("button") if isinstance(body, dict) else None
        # The real API: 1–3 top-level buttons, each with at most 5 sub-buttons.
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return _error(40016)
        if any(len(b.get("sub_button", [])) > 5 for b in buttons):
            return _error(40023)
        return _json({"errcode": 0, "errmsg": "ok"})

    def _qrcode_create(self, request: Request) -> Response:
        if (refused := self._check_token(request)) is not None:
            return refused
        try:
            body = json.loads(request.get_data(as_text=True))
        except ValueError:
            return _error(47001)
        if not isinstance(body, dict):
            return _error(47001)
        action = body.get("action_name")
        info = body.get("action_info")
        scene = info.get("scene") if isinstance(info, dict) else None
        if not isinstance(scene, dict):
            return _error(40097)
        # The real limits: string scenes 1–64 characters, numeric ones 1–100000 when permanent.
        if action in ("QR_LIMIT_STR_SCENE", "QR_STR_SCENE"):
            value = scene.get("scene_str")
            if not isinstance(value, str) or not 1 <= len(value) <= 64:
                return _error(40097)
        elif action in ("QR_LIMIT_SCENE", "QR_SCENE"):
            value = scene.get("scene_id")
            limit = 100_000 if action == "QR_LIMIT_SCENE" else 2**32 - 1
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
                return _error(40097)
        else:
            return _error(40097)
        # A permanent code is the same code each time it is asked for: derive it from the scene.
        digest = hashlib.sha256(f"{action}:{value}".encode()).digest()
        code = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        answer: dict[str, Any] = {"ticket": f"gQ{code}==", "url": f"http://weixin.qq.com/q/02{code[:22]}"}
        if "LIMIT" not in action:
            answer["expire_seconds"] = int(body.get("expire_seconds") or 30)
        return _json(answer)

    def _subscribe_send(self, request: Request) -> Response:
        body = self._message_body(request, "template_id", "data")
        if isinstance(body, Response):
            return body
        return _json({"errcode": 0, "errmsg": "ok"})

    def _oauth_access_token(self, request: Request) -> Response:
        """Web authorisation (snsapi_base): a code from add_login_code → the openid, once."""
        code = request.args.get("code", "")
        refused = self._take_code(request, code)
        if isinstance(refused, Response):
            return refused
        return _json(
            {
                "access_token": f"web-{secrets.token_hex(8)}",
                "expires_in": 7200,
                "refresh_token": f"refresh-{secrets.token_hex(8)}",
                "openid": refused["openid"],
                "scope": "snsapi_base",
            }
        )

    def _take_code(self, request: Request, code: str) -> dict[str, Any] | Response:
        appid = request.args.get("appid", "")
        if appid not in self.apps:
            return _error(40013)
        if request.args.get("secret") != self.apps[appid]:
            return _error(40125)
        if request.args.get("grant_type") != "authorization_code":
            return _error(40002)
        with self._lock:
            if code in self._state.used_codes:
                return _error(40163)
            login = self._state.login_codes.get(code)
            if login is None:
                return _error(40029)
            self._state.used_codes.add(code)
        return dict(login)

    def _jscode2session(self, request: Request) -> Response:
        # Like the real endpoint, this one needs no access_token (wechatpy sends one anyway).
        login = self._take_code(request, request.args.get("js_code", ""))
        return login if isinstance(login, Response) else _json(login)

    # --- the control API over HTTP ----------------------------------------------------------

    def _control(self, request: Request) -> Response:
        try:
            body = request.get_json(silent=True) or {}
            action = (request.method, request.path)
            if action == ("GET", "/_fake/calls"):
                calls = self.calls(request.args.get("path"))
                return _json({"calls": [call.to_dict() for call in calls]})
            if action == ("POST", "/_fake/media"):
                self.add_media(
                    body["media_id"],
                    base64.b64decode(body["data_base64"], validate=True),
                    body.get("content_type", "image/jpeg"),
                    body.get("filename"),
                )
            elif action == ("POST", "/_fake/login_codes"):
                self.add_login_code(body["code"], body["openid"], body["session_key"], body.get("unionid"))
            elif action == ("POST", "/_fake/reset"):
                self.reset()
            elif action == ("POST", "/_fake/expire_tokens"):
                self.expire_tokens()
            elif action == ("POST", "/_fake/fail_next"):
                self.fail_next(
                    int(body.get("n", 1)),
                    status=body.get("status"),
                    errcode=body.get("errcode"),
                    delay=body.get("delay"),
                    path=body.get("path"),
                )
            elif action == ("POST", "/_fake/fail_ratio"):
                options = {k: body[k] for k in ("path", "status", "errcode", "delay") if k in body}
                self.fail_ratio(float(body["ratio"]), int(body["seed"]), body.get("kind", "errcode"), **options)
            else:
                return _json({"error": f"no control {request.method} {request.path}"}, 404)
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            return _json({"error": f"bad control request: {exc!r}"}, 400)
        return _json({"ok": True})


class FakeWeChatRemote:
    """Drives a FakeWeChatAPI over HTTP, e.g. from a worker process that did not start it.

    Same control methods as FakeWeChatAPI: `FakeWeChatRemote(settings.wechat_api_base)`.
    """

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url if base_url.endswith("/") else f"{base_url}/"
        self.timeout = timeout

    def _post(self, action: str, body: dict[str, Any] | None = None) -> None:
        response = requests.post(f"{self.base_url}_fake/{action}", json=body or {}, timeout=self.timeout)
        response.raise_for_status()

    def add_media(
        self, media_id: str, data: bytes, content_type: str = "image/jpeg", filename: str | None = None
    ) -> None:
        body = {
            "media_id": media_id,
            "data_base64": base64.b64encode(data).decode("ascii"),
            "content_type": content_type,
        }
        if filename is not None:
            body["filename"] = filename
        self._post("media", body)

    def add_login_code(self, code: str, openid: str, session_key: str, unionid: str | None = None) -> None:
        self._post("login_codes", {"code": code, "openid": openid, "session_key": session_key, "unionid": unionid})

    def calls(self, path: str | None = None) -> list[Call]:
        params = {"path": path} if path is not None else None
        response = requests.get(f"{self.base_url}_fake/calls", params=params, timeout=self.timeout)
        response.raise_for_status()
        return [Call.from_dict(row) for row in response.json()["calls"]]

    def reset(self) -> None:
        self._post("reset")

    def expire_tokens(self) -> None:
        self._post("expire_tokens")

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int | None = None,
        errcode: int | None = None,
        delay: float | None = None,
        path: str | None = None,
    ) -> None:
        self._post("fail_next", {"n": n, "status": status, "errcode": errcode, "delay": delay, "path": path})

    def fail_ratio(
        self,
        ratio: float,
        seed: int,
        kind: FailureKind = "errcode",
        *,
        path: str | None = None,
        status: int = 503,
        errcode: int = -1,
        delay: float = 10.0,
    ) -> None:
        self._post(
            "fail_ratio",
            {
                "ratio": ratio,
                "seed": seed,
                "kind": kind,
                "path": path,
                "status": status,
                "errcode": errcode,
                "delay": delay,
            },
        )

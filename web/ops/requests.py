"""Every request gets an id (the proxy's X-Request-ID when sane, else a new one) and is counted and timed."""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, g, request

from core import logs
from web.ops.metrics import REQUEST_SECONDS, REQUESTS

HEADER = "X-Request-ID"
# nginx's $request_id (32 hex), UUIDs and the like; anything else is replaced, never logged as sent.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
# What a request that matched no route is counted under, so no raw path becomes a label.
UNMATCHED = "<unmatched>"
ENVIRON_ID = "gongzhi.request_id"
ENVIRON_ROUTE = "gongzhi.route"


def incoming_id(sent: str | None) -> str:
    """The proxy's request id if it looks like one, else a fresh one."""
    if sent and _SANE.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def route_label() -> str:
    """The route's pattern (`/q/<code>`), never the path itself: paths carry codes and tokens."""
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def init_app(app: Flask) -> None:
    def start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = incoming_id(request.headers.get(HEADER))
        g.request_id_token = logs.request_id.set(g.request_id)
        # gunicorn's access log reads these from the WSGI environ after the response is sent.
        request.environ[ENVIRON_ID] = g.request_id

    # First of all hooks, so a request another hook refuses (413, 403) still gets its id and its time.
    app.before_request_funcs.setdefault(None, []).insert(0, start)

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or incoming_id(None)
        response.headers[HEADER] = request_id
        route = route_label()
        request.environ[ENVIRON_ROUTE] = route
        started = g.get("request_started")
        REQUESTS.labels(route=route, method=request.method, status=str(response.status_code)).inc()
        if started is not None:
            REQUEST_SECONDS.labels(route=route, method=request.method).observe(time.perf_counter() - started)
        return response

    @app.teardown_request
    def _forget(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            logs.request_id.reset(token)

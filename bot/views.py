"""The callback URL WeChat calls: GET verifies the server, POST delivers messages and events."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, request

from bot.cli import create_cli
from bot.dialogue import Dialogue
from bot.protocol import (
    Refused,
    bind_signature_to_body,
    check_mode,
    check_request,
    is_safe_mode,
    read_message,
    render_reply,
)
from bot.replies import text_reply
from core.context import AppContext

log = logging.getLogger(__name__)

blueprint = Blueprint("wechat", __name__)


def current_context() -> AppContext:
    """This app's parts, as every view reaches them: from the Flask app serving the request."""
    return current_app.extensions["gongzhi"]


def init_app(app: Flask) -> None:
    """Serve /wechat and add the `wechat` commands to an app the web factory made."""
    app.register_blueprint(blueprint)
    app.cli.add_command(create_cli(app.extensions["gongzhi"]))


@blueprint.errorhandler(Refused)
def refused(exc: Refused) -> Response:
    log.info("wechat callback refused (%s): %s", exc.status, exc.reason)
    return Response(exc.reason, status=exc.status, mimetype="text/plain")


@blueprint.get("/wechat")
def verify() -> Response:
    check_request(current_context().settings, request.args)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@blueprint.post("/wechat")
def receive() -> Response:
    context = current_context()
    settings = context.settings
    check_request(settings, request.args)
    if (request.content_length or 0) > 1024 * 1024:
        raise Refused(413, "body too large")
    check_mode(settings, request.args)
    body = request.get_data(cache=False)
    if not is_safe_mode(request.args):
        bind_signature_to_body(context.redis, settings, request.args, body)
    message = read_message(settings, request.args, body)
    text = Dialogue(context).answer(message)
    if not text:
        return Response("success", mimetype="text/plain")
    return Response(render_reply(settings, request.args, text_reply(message, text)), mimetype="application/xml")

"""The callback URL WeChat calls: GET verifies the server, POST delivers messages and events."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from bot.dialogue import Dialogue
from bot.protocol import Refused, check_request, read_message, render_reply
from bot.replies import text_reply
from core.context import AppContext

log = logging.getLogger(__name__)


def create_blueprint(context: AppContext) -> Blueprint:
    """The /wechat endpoint, bound to the parts of this process."""
    blueprint = Blueprint("wechat", __name__)
    dialogue = Dialogue(context)
    settings = context.settings

    @blueprint.errorhandler(Refused)
    def refused(exc: Refused) -> Response:
        log.info("wechat callback refused (%s): %s", exc.status, exc.reason)
        return Response(exc.reason, status=exc.status, mimetype="text/plain")

    @blueprint.get("/wechat")
    def verify() -> Response:
        check_request(settings, request.args)
        return Response(request.args.get("echostr", ""), mimetype="text/plain")

    @blueprint.post("/wechat")
    def receive() -> Response:
        check_request(settings, request.args)
        if (request.content_length or 0) > 1024 * 1024:
            raise Refused(413, "body too large")
        body = request.get_data(cache=False)
        message = read_message(settings, request.args, body)
        text = dialogue.answer(message)
        if not text:
            return Response("success", mimetype="text/plain")
        return Response(render_reply(settings, request.args, text_reply(message, text)), mimetype="application/xml")

    return blueprint

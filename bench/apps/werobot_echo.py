"""The WeRoBot baseline: the echo bot from WeRoBot's own tutorial, which checks WeChat's signature."""

from __future__ import annotations

import os

import werobot

# No sessions: an echo bot keeps no state, and WeRoBot's default session store (one SQLite file)
# locks up under several processes.
robot = werobot.WeRoBot(token=os.environ["WECHAT_TOKEN"], enable_session=False)


@robot.text
def echo(message) -> str:
    return message.content


app = robot.wsgi

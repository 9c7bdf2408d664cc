"""`flask --app wsgi wechat …`: commands that talk to the official account (the custom menu)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from core.context import AppContext
from wxclient.official import make_wechat_client

MENU = {
    "button": [
        {
            "name": "随手拍",
            "sub_button": [
                {"type": "click", "name": "拍照上报", "key": "REPORT"},
                {"type": "scancode_waitmsg", "name": "扫码上报", "key": "SCAN_CHECKPOINT"},
            ],
        },
        {"type": "click", "name": "我的上报", "key": "MY_CASES"},
        {"type": "click", "name": "使用帮助", "key": "HELP"},
    ]
}


def create_cli(context: AppContext) -> AppGroup:
    """The `wechat` command group, bound to the parts of this process."""
    group = AppGroup("wechat", help="公众号管理。")

    @group.command("menu")
    def create_menu() -> None:
        """Create the account's custom menu: 随手拍 / 我的上报 / 使用帮助."""
        client = make_wechat_client(context.settings, context.redis)
        try:
            client.menu.create(MENU)
        except Exception as exc:  # the operator needs WeChat's words, not a traceback
            raise click.ClickException(f"创建菜单失败：{exc}") from None
        click.echo("自定义菜单已创建：随手拍（拍照上报 / 扫码上报）、我的上报、使用帮助")

    return group

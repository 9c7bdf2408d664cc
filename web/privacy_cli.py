"""`flask --app wsgi privacy rekey`: sealing stored contact details again under the current key."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from core.privacy import crypto
from core.privacy.rekey import rekey
from web.context import current_context

privacy_cli = AppGroup("privacy", help="个人信息保护：联系方式加密存储。")


@privacy_cli.command("rekey")
def rekey_command() -> None:
    """Seal every stored phone and grant team again under PERSONAL_DATA_KEY (run after a rotation)."""
    cipher = crypto.current()
    with current_context().database.engine.connect() as connection:
        counts = rekey(connection, cipher)
    for count in counts:
        click.echo(
            f"{count.column}: 重新加密 {count.resealed}，已是当前密钥 {count.current}，无法解密 {count.unreadable}"
        )
    unreadable = sum(count.unreadable for count in counts)
    if unreadable:
        raise click.ClickException(
            f"{unreadable} 个值无法用 PERSONAL_DATA_KEY 或 PERSONAL_DATA_KEY_FALLBACKS 解密，已原样保留；"
            "请把封存它们的旧密钥加入 PERSONAL_DATA_KEY_FALLBACKS 后再运行"
        )
    click.echo(f"完成：当前密钥 {cipher.kid}（{cipher.cipher}）。此后可从 PERSONAL_DATA_KEY_FALLBACKS 中删去旧密钥。")


def init_app(app: Flask) -> None:
    app.cli.add_command(privacy_cli)

"""`flask --app wsgi privacy …`: rekey (seal stored contact details again) and purge (retention, also run daily)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from core.privacy import crypto
from core.privacy.rekey import rekey
from core.privacy.retention import purge
from web.context import current_context

privacy_cli = AppGroup("privacy", help="个人信息保护：联系方式加密存储、保存期限。")


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


@privacy_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="只统计将处理的数量，不做任何改动")
def privacy_purge(dry_run: bool) -> None:
    """Anonymise and delete personal data past its retention period; prints what it did (or would do)."""
    context = current_context()
    with context.uow() as uow:
        report = purge(uow.session, context.settings)
        if dry_run:
            uow.session.rollback()
        else:
            uow.commit()
    if not dry_run:
        # Without Redis the app's own thread deletes the files: let it finish before the command exits.
        wait_idle = getattr(context.dispatcher, "wait_idle", None)
        if wait_idle is not None:
            wait_idle(60.0)
    click.echo("演练（--dry-run），未做任何改动：" if dry_run else "已完成：")
    for line in report.lines():
        click.echo(f"  {line}")


def init_app(app: Flask) -> None:
    app.cli.add_command(privacy_cli)

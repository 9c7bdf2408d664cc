"""`flask --app wsgi privacy purge [--dry-run]`: apply the retention rules now (the worker runs it daily)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from core.privacy.retention import purge
from web.context import current_context

privacy_cli = AppGroup("privacy", help="个人信息保护：保存期限。")


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

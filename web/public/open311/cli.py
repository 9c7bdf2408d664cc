"""`flask --app wsgi open311 key create|revoke|list`: the API keys of Open311 clients."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from core.errors import GongzhiError
from core.services import api_keys
from web.context import current_context

open311_cli = AppGroup("open311", help="Open311 GeoReport v2 接口（/open311/v2）。")
key_cli = AppGroup("key", help="Open311 客户端的 API 密钥：创建、停用、列出。")
open311_cli.add_command(key_cli)


@key_cli.command("create")
@click.option("--name", required=True, help="使用方名称，如「某某随手拍 App」")
def create(name: str) -> None:
    """创建一个 API 密钥；密钥只在最后一行显示这一次，库里只存它的 SHA-256 摘要。"""
    with current_context().uow() as uow:
        try:
            row, key = api_keys.create_key(uow.session, name)
        except GongzhiError as exc:
            raise click.ClickException(exc.message) from None
        uow.commit()
    click.echo(f"已创建 API 密钥 #{row.id}「{row.name}」。密钥只显示这一次，请妥善保存：")
    click.echo(key)


@key_cli.command("revoke")
@click.argument("key_id", type=int)
def revoke(key_id: int) -> None:
    """停用编号为 KEY_ID 的 API 密钥（open311 key list 可查编号），立即生效。"""
    with current_context().uow() as uow:
        try:
            row = api_keys.revoke_key(uow.session, key_id)
        except GongzhiError as exc:
            raise click.ClickException(exc.message) from None
        uow.commit()
    click.echo(f"已停用 API 密钥 #{row.id}「{row.name}」")


@key_cli.command("list")
def list_() -> None:
    """列出 API 密钥，每行一个：编号、名称、创建时间、状态（以制表符分隔）；不显示密钥本身。"""
    context = current_context()
    tz = context.settings.tz
    with context.uow() as uow:
        rows = api_keys.list_keys(uow.session)
        for row in rows:
            created = row.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            state = f"已停用 {row.revoked_at.astimezone(tz):%Y-%m-%d %H:%M}" if row.revoked_at else "有效"
            click.echo("\t".join((str(row.id), row.name, created, state)))
    if not rows:
        click.echo("（没有 API 密钥）", err=True)


def init_app(app: Flask) -> None:
    app.cli.add_command(open311_cli)

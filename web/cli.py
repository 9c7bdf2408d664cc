"""`flask --app wsgi …` commands: db upgrade, staff create, grid list, demo (checkpoints and privacy beside)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from core.errors import GongzhiError
from core.glossary import Role
from core.migrations import upgrade_database
from core.models import Grid
from core.services import staff_totp
from core.services.demo import load_demo
from core.services.demo_month import load_demo_month
from core.services.staff import create_staff, disable_staff, find_staff, set_password
from media.demo_images import DemoPhotos
from media.storage import store_for
from web import checkpoint_cli, privacy_cli
from web.context import current_context
from web.storage_cli import storage_cli

db_cli = AppGroup("db", help="数据库迁移 (Alembic)。")
staff_cli = AppGroup("staff", help="工作人员账号。")
grid_cli = AppGroup("grid", help="网格（区 → 街镇 → 居村 → 基础网格）。")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the migrations up to REVISION."""
    url = current_context().settings.database_url
    upgrade_database(url, revision)
    click.echo(f"数据库已升级到 {revision}")


@staff_cli.command("create")
@click.option("--username", required=True)
@click.option(
    "--password", prompt="密码", hide_input=True, confirmation_prompt="再次输入密码", help="不给则提示输入（不回显）"
)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--grid", "grid_code", help="所属网格代码（区网格中心可不填）")
@click.option("--name", "display_name", help="显示名称")
@click.option("--unit", "unit_code", help="部门代码（职能部门）")
def staff_create(
    username: str, password: str, role: str, grid_code: str | None, display_name: str | None, unit_code: str | None
) -> None:
    """Create a staff account."""
    with current_context().uow() as uow:
        try:
            staff = create_staff(
                uow.session,
                username=username,
                password=password,
                role=role,
                grid_code=grid_code,
                display_name=display_name,
                unit_code=unit_code,
            )
        except GongzhiError as exc:
            raise click.ClickException(exc.message) from None
        uow.commit()
        click.echo(f"已创建 {staff.username}（{staff.role.label}）")


@staff_cli.command("set-password")
@click.argument("username")
def staff_set_password(username: str) -> None:
    """Set USERNAME's password (asked for, not echoed); their sessions and tokens end."""
    password = click.prompt("新密码", hide_input=True, confirmation_prompt="再次输入新密码")
    with current_context().uow() as uow:
        try:
            set_password(find_staff(uow.session, username), password)
        except GongzhiError as exc:
            raise click.ClickException(exc.message) from None
        uow.commit()
    click.echo(f"已为 {username} 设置新密码；其所有登录和令牌已失效")


@staff_cli.command("disable")
@click.argument("username")
def staff_disable(username: str) -> None:
    """Disable USERNAME: no more sign-in, and their sessions and tokens end now."""
    with current_context().uow() as uow:
        try:
            disable_staff(find_staff(uow.session, username))
        except GongzhiError as exc:
            raise click.ClickException(exc.message) from None
        uow.commit()
    click.echo(f"已停用 {username}；其所有登录和令牌已失效")


@staff_cli.command("totp")
@click.argument("username")
def staff_totp_enrol(username: str) -> None:
    """Give USERNAME a new TOTP secret: prints its otpauth:// URI and the recovery codes (once)."""
    context = current_context()
    secret = staff_totp.new_secret()
    with context.uow() as uow:
        try:
            staff = find_staff(uow.session, username)
        except GongzhiError as exc:
            raise click.ClickException(exc.message) from None
        codes = staff_totp.enrol(staff, secret, secret_key=context.settings.secret_key, code=None)
        uow.commit()
    click.echo(f"已为 {username} 启用两步验证。请在其验证器中添加（扫码或粘贴）：")
    click.echo(staff_totp.provisioning_uri(secret, username))
    click.echo("恢复码（每个可代替动态验证码使用一次，只显示这一次）：")
    for code in codes:
        click.echo(code)


@grid_cli.command("list")
@click.option("--under", "under", help="只列出此网格及其下级（网格代码）")
def grid_list(under: str | None) -> None:
    """Print one grid a line: code, level, name, parent code (tab-separated), in tree order."""
    session = current_context().database.session()
    try:
        query = select(Grid).order_by(Grid.path)
        if under:
            top = session.scalar(select(Grid).where(Grid.code == under))
            if top is None:
                raise click.ClickException(f"网格 {under} 不存在")
            query = query.where(Grid.path.startswith(top.path, autoescape=True))
        for grid in session.scalars(query):
            parent = grid.path.rstrip("/").split("/")[-2] if grid.path.count("/") > 2 else ""
            click.echo(f"{grid.code}\t{grid.level.label}\t{grid.name}\t{parent}")
    finally:
        session.close()


@click.command("demo")
@click.option("--force", is_flag=True, help="也在生产环境加载（演示账号的密码是公开的）")
@click.option("--no-cases", is_flag=True, help="只建网格、巡查点和账号，不生成一个月的演示案件")
def demo(force: bool, no_cases: bool) -> None:
    """Load the demo district, catalogue and staff accounts, and a month of demo cases (safe to run again)."""
    context = current_context()
    if context.settings.is_production and not force:
        raise click.ClickException("APP_ENV=production：演示数据带有公开密码的账号，拒绝加载（确需加载请加 --force）")
    with context.uow() as uow:
        summary = load_demo(uow.session, context.settings)
        month = (
            None
            if no_cases
            else load_demo_month(uow.session, context.settings, DemoPhotos(store_for(context.settings)))
        )
        uow.commit()
    click.echo(summary.describe())
    if month is not None:
        click.echo(month.describe())


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(grid_cli)
    app.cli.add_command(demo)
    app.cli.add_command(storage_cli)
    checkpoint_cli.init_app(app)
    privacy_cli.init_app(app)

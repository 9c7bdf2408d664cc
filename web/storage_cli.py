"""`flask --app wsgi storage migrate --to URL`: copy what the current store holds into another one."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from core.services.uploads import all_referenced
from media.storage import StoreUnavailable, open_store
from media.storage.migrate import migrate
from web.context import current_context

storage_cli = AppGroup("storage", help="文件存储（STORAGE_URL）：照片、语音视频、微公益文件。")


@storage_cli.command("migrate")
@click.option("--to", "target_url", required=True, help="目标存储，如 s3://bucket/prefix（用 S3_* 与 AWS_* 设置）")
@click.option("--from", "source_url", default=None, help="源存储；默认当前的存储（STORAGE_URL，未设置时为 MEDIA_DIR）")
@click.option("--verbose", is_flag=True, help="逐个列出复制与跳过的文件")
def migrate_command(target_url: str, source_url: str | None, verbose: bool) -> None:
    """Copy every stored file to the store at --to; files already there with the same bytes are skipped.

    Run it while the old store is still in use, then switch STORAGE_URL and run it once more to copy
    what arrived meanwhile. It ends non-zero when a file the database refers to is in neither store.
    """
    context = current_context()
    settings = context.settings
    try:
        source = open_store(source_url or settings.storage_url, settings)
        target = open_store(target_url, settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if source.describe() == target.describe():
        raise click.ClickException("源存储与目标存储相同")
    with context.database.session() as session:
        referenced = all_referenced(session)
    echo = (lambda key, outcome: click.echo(f"{outcome}\t{key}")) if verbose else None
    click.echo(f"从 {source.describe()} 复制到 {target.describe()} …")
    try:
        report = migrate(source, target, referenced, progress=echo)
    except StoreUnavailable as exc:
        raise click.ClickException(f"存储不可用，已复制的文件保留，可重新运行：{exc}") from None
    click.echo(f"已复制 {len(report.copied)} 个文件，跳过 {len(report.skipped)} 个（目标中已有相同文件）")
    for key in report.refused:
        click.echo(f"未复制（文件名不能作为存储键）：{key!r}", err=True)
    lost = [key for key in report.missing if not target.exists(key)]
    if lost:
        for key in lost:
            click.echo(f"数据库引用但两处都没有：{key}", err=True)
        raise click.ClickException(f"{len(lost)} 个数据库引用的文件在源与目标中都不存在")
    click.echo(f"数据库引用的 {len(referenced)} 个文件都已在目标中")

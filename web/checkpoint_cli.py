"""`flask --app wsgi checkpoint add|import|list|rotate`: managing checkpoints and their QR signs."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from core.errors import GongzhiError
from core.glossary import CoordSystem
from core.models import Checkpoint
from core.services.checkpoint_admin import (
    add_checkpoint,
    import_checkpoints,
    list_checkpoints,
    placement_warning,
    rotate,
)
from core.services.checkpoints import public_code, sign_url
from core.spreadsheet import safe_row
from web.context import current_context

checkpoint_cli = AppGroup("checkpoint", help="巡查点（二维码标牌）：添加、批量导入、列出、更换二维码。")


def _fail(exc: GongzhiError) -> click.ClickException:
    return click.ClickException(exc.message)


def _warn(text: str) -> None:
    click.echo(f"警告：{text}", err=True)


def _line(checkpoint: Checkpoint) -> str:
    """One checkpoint for `list`: public code, label, name, grid, sign URL — tab-separated."""
    settings = current_context().settings
    grid = checkpoint.grid
    cells = (
        public_code(settings, checkpoint),
        checkpoint.label,
        checkpoint.name,
        f"{grid.code} {grid.name}",
        sign_url(settings, checkpoint),
    )
    return "\t".join(safe_row(cells))  # people paste the list into a spreadsheet


@checkpoint_cli.command("add")
@click.option("--name", required=True, help="巡查点名称，如「3栋楼下」")
@click.option("--grid", "grid_code", required=True, help="所属基础网格的代码")
@click.option("--lat", type=float, required=True, help="纬度")
@click.option("--lng", type=float, required=True, help="经度")
@click.option(
    "--coord",
    "coord_system",
    type=click.Choice([c.value for c in CoordSystem]),
    default=CoordSystem.GCJ02.value,
    show_default=True,
    help="坐标系：微信、高德、腾讯地图取的点是 gcj02，GPS 是 wgs84",
)
@click.option("--label", help="标牌上印的编号（不填则自动取下一个 CP0001 式编号）")
def add(name: str, grid_code: str, lat: float, lng: float, coord_system: str, label: str | None) -> None:
    """添加一个巡查点，并打印其二维码地址。"""
    context = current_context()
    with context.uow() as uow:
        try:
            checkpoint = add_checkpoint(
                uow.session,
                name=name,
                grid_code=grid_code,
                lat=lat,
                lng=lng,
                coord_system=coord_system,
                label=label,
            )
        except GongzhiError as exc:
            raise _fail(exc) from None
        warning = placement_warning(checkpoint)
        uow.commit()
        grid = checkpoint.grid
        click.echo(f"已添加巡查点 {checkpoint.label}「{checkpoint.name}」（网格 {grid.code} {grid.name}）")
        click.echo(sign_url(context.settings, checkpoint))
    if warning:
        _warn(warning)


@checkpoint_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(file: Path) -> None:
    """从 CSV 或 GeoJSON 文件批量导入巡查点（有一行出错则全部不保存；按编号重复导入即更新）。

    CSV 表头：name,grid,lat,lng,coord_system[,label]。GeoJSON：Point 要素组成的
    FeatureCollection，坐标为 [经度, 纬度]，属性 name、grid、可选 label、可选 coord_system
    （不写则为 wgs84）。
    """
    with current_context().uow() as uow:
        try:
            result = import_checkpoints(uow.session, file)
        except GongzhiError as exc:
            raise _fail(exc) from None
        uow.commit()
    click.echo(f"导入完成：新增 {result.added} 个，更新 {result.updated} 个，未变 {result.unchanged} 个")
    for warning in result.warnings:
        _warn(warning)


@checkpoint_cli.command("list")
@click.option("--grid", "grid_code", help="只列出这个网格（含下级网格）里的巡查点")
def list_(grid_code: str | None) -> None:
    """列出巡查点，每行一个：公开码、编号、名称、网格、二维码地址（以制表符分隔）。"""
    with current_context().uow() as uow:
        try:
            checkpoints = list_checkpoints(uow.session, grid_code)
        except GongzhiError as exc:
            raise _fail(exc) from None
        for checkpoint in checkpoints:
            click.echo(_line(checkpoint))
    if not checkpoints:
        click.echo("（没有巡查点）", err=True)


@checkpoint_cli.command("rotate")
@click.argument("label")
def rotate_(label: str) -> None:
    """更换巡查点 LABEL 的二维码：旧标牌随即失效（扫码提示已更换），须重新打印张贴。"""
    context = current_context()
    with context.uow() as uow:
        try:
            checkpoint = rotate(uow.session, label)
        except GongzhiError as exc:
            raise _fail(exc) from None
        uow.commit()
        url = sign_url(context.settings, checkpoint)
    click.echo(f"已更换巡查点 {checkpoint.label}「{checkpoint.name}」的二维码（第 {checkpoint.key_version} 版）")
    click.echo(url)
    click.echo("请重新打印并张贴新标牌：旧标牌扫码后只会提示“此二维码已更换”，不能再用来上报。")


def init_app(app: Flask) -> None:
    app.cli.add_command(checkpoint_cli)

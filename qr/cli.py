"""`flask --app wsgi qr signs`: print-ready signs for the checkpoints, one PNG each, a CSV and a PDF.

The WeChat side (a permanent parametric QR of the official account) comes in as a plain callable,
`wechat_qr_url(scene) -> url`, built by the composition root: qr may import only core.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from core.context import AppContext
from core.glossary import Role
from core.models import Checkpoint, Grid, StaffUser
from core.services.checkpoints import public_code, scene_for, sign_url
from core.settings import Settings
from qr.batch import CSV_NAME, PDF_NAME, SignRow, plan_jobs, render_signs, write_csv, write_pdf
from qr.fonts import SignFontError, find_sign_font
from qr.signs import TITLE, SignData

WeChatQrUrl = Callable[[str], str]
# Separates several grid workers of one grid on a sign.
NAME_SEPARATOR = "、"


@dataclass(frozen=True)
class Spot:
    """What a sign needs to know of one checkpoint, read out of the database in one go."""

    label: str
    name: str
    grid_name: str
    worker_name: str | None
    public_code: str
    sign_url: str
    scene: str


def select_checkpoints(session: Session, grid_code: str | None) -> list[Checkpoint]:
    """Every checkpoint, or those inside the grid `grid_code` (its whole subtree), by label.

    Each checkpoint's grid comes in the same query. Raises click.ClickException for an unknown grid.
    """
    query = select(Checkpoint).join(Checkpoint.grid).options(contains_eager(Checkpoint.grid)).order_by(Checkpoint.label)
    if grid_code:
        root = session.scalar(select(Grid).where(Grid.code == grid_code))
        if root is None:
            raise click.ClickException(f"没有代码为 {grid_code} 的网格")
        query = query.where(Grid.path.startswith(root.path, autoescape=True))
    return list(session.scalars(query))


def grid_workers(session: Session, grid_ids: set[int]) -> dict[int, str]:
    """The active grid workers' names of each grid, joined by 、 — one query for all grids."""
    if not grid_ids:
        return {}
    rows = session.execute(
        select(StaffUser.grid_id, StaffUser.display_name)
        .where(StaffUser.role == Role.GRID_WORKER, StaffUser.is_active, StaffUser.grid_id.in_(grid_ids))
        .order_by(StaffUser.id)
    )
    names: dict[int, list[str]] = {}
    for grid_id, name in rows:
        names.setdefault(grid_id, []).append(name)
    return {grid_id: NAME_SEPARATOR.join(found) for grid_id, found in names.items()}


def load_spots(session: Session, settings: Settings, grid_code: str | None) -> list[Spot]:
    """The checkpoints to print, with their grids and grid workers: two or three queries in all."""
    checkpoints = select_checkpoints(session, grid_code)
    workers = grid_workers(session, {checkpoint.grid_id for checkpoint in checkpoints})
    return [
        Spot(
            label=checkpoint.label,
            name=checkpoint.name,
            grid_name=checkpoint.grid.name,
            worker_name=workers.get(checkpoint.grid_id),
            public_code=public_code(settings, checkpoint),
            sign_url=sign_url(settings, checkpoint),
            scene=scene_for(settings, checkpoint),
        )
        for checkpoint in checkpoints
    ]


def wechat_urls(spots: list[Spot], wechat_qr_url: WeChatQrUrl) -> list[str]:
    """The official account's permanent QR URL of each spot's scene `cp:<code>`, with progress."""
    urls: list[str] = []
    with click.progressbar(spots, label="获取公众号二维码", file=sys.stderr) as bar:
        for spot in bar:
            try:
                urls.append(wechat_qr_url(spot.scene))
            except Exception as exc:  # WeChat's own words are what the operator needs, not a traceback
                raise click.ClickException(f"获取公众号二维码失败（{spot.label}，{spot.scene}）：{exc}") from None
    return urls


def create_cli(context: AppContext, wechat_qr_url: WeChatQrUrl | None = None) -> AppGroup:
    """The `qr` command group; `wechat_qr_url(scene)` makes `--wechat` possible (None: not configured)."""
    group = AppGroup("qr", help="巡查点二维码与标识牌。")

    @group.command("signs")
    @click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="输出目录")
    @click.option("--grid", "grid_code", help="只生成这个网格（含下级网格）的巡查点")
    @click.option("--format", "output_format", type=click.Choice(["png", "pdf"]), default="png", show_default=True)
    @click.option("--wechat", is_flag=True, help="二维码用公众号的永久带参二维码（扫码即关注并进入上报）")
    def signs_command(out_dir: Path, grid_code: str | None, output_format: str, wechat: bool) -> None:
        """Render an A6 sign (300 dpi) per checkpoint to OUT/<label>.png, with OUT/signs.csv.

        With --format pdf also OUT/signs.pdf, one sign per page, ready to print.
        """
        if wechat and wechat_qr_url is None:
            raise click.ClickException("--wechat 需要公众号接口，但没有配置公众号（WECHAT_APP_ID / WECHAT_APP_SECRET）")
        try:
            # Before anything else: without a Chinese font there is nothing worth printing.
            font = find_sign_font(context.settings.sign_font)
        except SignFontError as exc:
            raise click.ClickException(exc.message) from None

        # Read everything first and let go of the database: the WeChat calls may take minutes.
        with context.uow() as uow:  # read only; leaving the block rolls back
            spots = load_spots(uow.session, context.settings, grid_code)
        if not spots:
            raise click.ClickException("所选范围内没有巡查点" if grid_code else "还没有巡查点")

        contents = wechat_urls(spots, wechat_qr_url) if wechat and wechat_qr_url else [s.sign_url for s in spots]
        signs = [
            SignData(TITLE, spot.name, spot.label, spot.grid_name, spot.worker_name, content)
            for spot, content in zip(spots, contents, strict=True)
        ]
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            jobs = plan_jobs(signs, out_dir)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None

        # Progress goes to stderr, so stdout carries only the result.
        progress = click.progressbar(render_signs(jobs, font), length=len(jobs), label="生成标识牌", file=sys.stderr)
        with progress as bar:
            paths = list(bar)
        rows = (
            SignRow(spot.label, spot.public_code, spot.name, spot.grid_name, content)
            for spot, content in zip(spots, contents, strict=True)
        )
        write_csv(rows, out_dir / CSV_NAME)
        made = [CSV_NAME]
        if output_format == "pdf":
            write_pdf(paths, out_dir / PDF_NAME)
            made.append(PDF_NAME)
        click.echo(f"已生成 {len(paths)} 张标识牌（A6，300 dpi）：{out_dir}（{'、'.join(made)}）")

    return group

"""What a resident picks from before reporting: the service catalogue, and the checkpoint of a scanned sign."""

from __future__ import annotations

from typing import Any

from core.codes import Verdict
from core.geo import Point
from core.services.catalogue import category_tree
from core.services.checkpoints import Scanned, public_code, resolve_code, resolve_url
from web.context import current_context, db_session
from web.errors import json_error
from web.residents.api.base import ApiBlueprint
from web.residents.api.present import position
from web.residents.api.schemas import CHECKPOINT_MAX, CategoriesSchema, CheckpointQuerySchema, CheckpointSchema

blueprint = ApiBlueprint("mini_places", __name__, url_prefix="/api/v1", description="问题类别与巡查点")


@blueprint.route("/categories")
@blueprint.response(200, CategoriesSchema)
def categories() -> Any:
    """问题类别（管理服务清单）：大类及其小类。上报时传小类的 code。"""
    tree = category_tree(db_session())
    return {
        "categories": [
            {
                "code": major["code"],
                "name": major["name"],
                "children": [
                    {key: sub[key] for key in ("code", "name", "kind", "time_limit_hours")} for sub in major["children"]
                ],
            }
            for major in tree
        ]
    }


def _answer(scanned: Scanned) -> Any:
    if scanned.verdict is Verdict.REPLACED:
        return json_error(410, "replaced", "此二维码已更换，请扫描现场张贴的新二维码")
    if not scanned.valid or scanned.checkpoint is None:
        return json_error(404, "not_found", "无法识别的二维码：不是本平台的巡查点")
    checkpoint = scanned.checkpoint
    return {
        "code": public_code(current_context().settings, checkpoint),
        "name": checkpoint.name,
        "grid": checkpoint.grid.name,
        "position": position(Point(checkpoint.lat, checkpoint.lng, checkpoint.coord_system)),
    }


@blueprint.route("/checkpoints/<code>")
@blueprint.response(200, CheckpointSchema)
@blueprint.errors(404, 410)
def checkpoint(code: str) -> Any:
    """按公开编码查巡查点。伪造的编码 404，已更换的旧二维码 410。"""
    scanned = resolve_code(db_session(), current_context().settings, code if len(code) <= CHECKPOINT_MAX else "")
    return _answer(scanned)


@blueprint.route("/checkpoints")
@blueprint.arguments(CheckpointQuerySchema, location="query")
@blueprint.response(200, CheckpointSchema)
@blueprint.errors(404, 410)
def checkpoint_by_url(args: dict[str, Any]) -> Any:
    """按扫码得到的巡查点网址（小程序的 q 参数）查巡查点。伪造的 404，已更换的 410。"""
    return _answer(resolve_url(db_session(), current_context().settings, args["q"]))

"""What the upload and soak benchmarks share: a phone photo, multipart Lua, resident tokens, process trees."""

from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from itsdangerous import URLSafeTimedSerializer
from PIL import Image, ImageChops
from sqlalchemy import insert

from core.db import Database
from core.models import Resident
from core.settings import Settings
from tests.support.images import photo_with_exif
from web.residents.api.auth import SALT

PHOTO_SIDES = (4032, 3024)  # a 12-megapixel phone camera
BOUNDARY = "----GongzhiBenchBoundary7MA4YWxkTrZu0gW"
SUB_CATEGORY = "0101"  # 暴露垃圾, a sub-category of the catalogue the demo loads
DESCRIPTIONS = ("路灯不亮了，晚上很黑", "井盖破损，有安全隐患", "垃圾没有清运，有异味", "楼道堆放杂物，堵塞消防通道")

# Lua for wrk: every thread numbers its requests; `n` is unique across threads and across runs (BASE).
# The photo and the tokens are read from files by each thread's own Lua state.
LUA_MULTIPART = r"""
local PHOTO = assert(io.open(PHOTO_PATH, "rb")):read("*a")
local TOKENS = {}
for line in io.lines(TOKENS_PATH) do TOKENS[#TOKENS + 1] = line end
local function field(name, value)
  return "--" .. BOUNDARY .. "\r\nContent-Disposition: form-data; name=\"" .. name .. "\"\r\n\r\n" .. value .. "\r\n"
end
local FIXED = field("category", CATEGORY) .. field("lat", LAT) .. field("lng", LNG) .. field("coord_system", "gcj02")
local PHOTO_PART = "--" .. BOUNDARY .. "\r\nContent-Disposition: form-data; name=\"" .. PHOTO_FIELD .. "\"; " ..
  "filename=\"IMG_20261122_093015.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n" .. PHOTO ..
  "\r\n--" .. BOUNDARY .. "--\r\n"
local function report_body(n)
  return field("client_request_id", "bench-" .. n) ..
    field("description", DESCRIPTIONS[(n % #DESCRIPTIONS) + 1] .. "（" .. n .. "）") .. FIXED .. PHOTO_PART
end
local function report(path, n, token)
  return wrk.format("POST", path, {["Content-Type"] = "multipart/form-data; boundary=" .. BOUNDARY,
    ["Authorization"] = "Bearer " .. token}, report_body(n))
end
"""


def lua_constants(**values: str) -> str:
    """`local NAME = value` lines to put before a script (values are Lua expressions)."""
    return "".join(f"local {name} = {value}\n" for name, value in values.items())


def phone_photo(min_bytes: int = 1_000_000) -> bytes:
    """A JPEG like a phone's: 12 MP, EXIF orientation, camera model and GPS (tests.support.images.photo_with_exif),
    with sensor-like noise so that it weighs what a phone photo does — at least `min_bytes`."""
    base = Image.open(io.BytesIO(photo_with_exif(*PHOTO_SIDES)))
    exif, pixels = base.info["exif"], base.convert("RGB")
    # Noise made at a quarter of the size and scaled up: grain that JPEG compresses as it does a real scene.
    grain = (PHOTO_SIDES[0] // 4, PHOTO_SIDES[1] // 4)
    for sigma in (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0):
        noise = Image.effect_noise(grain, sigma).resize(PHOTO_SIDES, Image.Resampling.BILINEAR).convert("RGB")
        out = io.BytesIO()
        ImageChops.add(pixels, noise, offset=-128).save(out, "JPEG", exif=exif, quality=90, comment=b"secret comment")
        if len(out.getvalue()) >= min_bytes:
            break
    return out.getvalue()


def mint_tokens(database: Database, settings: Settings, count: int, prefix: str) -> list[str]:
    """`count` mini-program residents and a token for each, signed exactly as web.residents.api.auth.issue_token
    signs them (signing in each through /api/v1/session would only time the fake WeChat API)."""
    with database.session() as s:
        ids = s.scalars(
            insert(Resident).returning(Resident.id), [{"mini_openid": f"{prefix}-{n}"} for n in range(count)]
        ).all()
        s.commit()
    signer = URLSafeTimedSerializer(settings.secret_key, salt=SALT)
    return [signer.dumps({"rid": rid}) for rid in ids]


def files_under(folder: str | Path) -> list[str]:
    """Every file under `folder`, as paths relative to it."""
    root = Path(folder)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

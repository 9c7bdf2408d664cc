"""`flask qr signs`: every sign scans back to exactly its checkpoint, fits its page, and prints as one PDF.

Signs are read back with zbarimg (Debian's zbar-tools, installed by scripts/test-setup.sh), the way a
phone would read the printed page, not by trusting the encoder.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import requests
from PIL import Image, PdfParser
from sqlalchemy import event, select

from core.glossary import Role
from core.models import Checkpoint, Grid
from core.services.checkpoints import public_code, scene_for, sign_url
from core.services.demo import load_demo
from core.settings import Settings
from qr import batch
from qr.fonts import FontSpec, SignFontError, draws_chinese, find_sign_font
from qr.signs import HEIGHT, MARGIN, WIDTH, SignData, fit_text, qr_image, qr_matrix, render_sign
from tests.support import factories

pytestmark = pytest.mark.slow  # the demo district and its signs

ZBARIMG = shutil.which("zbarimg")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
COMMUNITY = "340111001001"  # 方兴社区: three grids of three checkpoints each
LONG_NAME = "滨湖街道云谷社区第三网格·地下车库入口旁边的非机动车棚以及消防通道东侧口袋公园北门再往前一百米左转的最里面"


def decode(path: Path | str) -> str:
    """What a QR reader sees in the image: zbarimg's raw output, nothing stripped but its newline."""
    if ZBARIMG is None:
        if os.environ.get("CI") == "true":
            pytest.fail("zbarimg is missing (apt-get install zbar-tools; scripts/test-setup.sh does it)")
        pytest.skip("zbarimg is not installed (apt-get install zbar-tools)")
    done = subprocess.run([ZBARIMG, "--raw", "-q", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"no QR code found in {path}: {done.stderr}"
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1, done.stdout
    return done.stdout[:-1]


@pytest.fixture
def font() -> FontSpec:
    return find_sign_font(None)


@pytest.fixture
def demo(session, settings: Settings) -> list[Checkpoint]:
    """The demo district, committed; its checkpoints by label."""
    load_demo(session, settings)
    session.commit()
    return list(session.scalars(select(Checkpoint).order_by(Checkpoint.label)))


def run_signs(app, *args: str):
    return app.test_cli_runner().invoke(args=["qr", "signs", *args])


def csv_rows(out: Path) -> list[list[str]]:
    raw = (out / "signs.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(raw.decode("utf-8-sig").splitlines()))


def test_every_demo_checkpoint_gets_a_sign_that_scans_to_exactly_its_url(demo, settings, make_app, tmp_path):
    out = tmp_path / "signs"
    result = run_signs(make_app(settings), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(demo) == 36
    assert sorted(p.name for p in out.glob("*.png")) == [f"{cp.label}.png" for cp in demo]
    for checkpoint in demo:
        path = out / f"{checkpoint.label}.png"
        with Image.open(path) as image:
            assert image.size == (WIDTH, HEIGHT) == (1240, 1748)
            assert tuple(round(d) for d in image.info["dpi"]) == (300, 300)
        assert decode(path) == sign_url(settings, checkpoint)
    assert csv_rows(out) == [
        ["点位编号", "公开码", "点位名称", "所属网格", "二维码链接"],
        *[[cp.label, public_code(settings, cp), cp.name, cp.grid.name, sign_url(settings, cp)] for cp in demo],
    ]
    assert not list(out.glob("*.partial")) and not (out / "signs.pdf").exists()


def _pdf_page_png(pdf: PdfParser.PdfParser, page_ref) -> bytes:
    """The page's image rebuilt as a PNG file (the PDF holds PNG-predicted Flate data)."""
    page = pdf.read_indirect(page_ref)
    stream = pdf.read_indirect(page[b"Resources"][b"XObject"][b"Sign"])
    info = stream.dictionary
    assert info[b"Filter"] == b"FlateDecode" and info[b"DecodeParms"][b"Predictor"] == 15

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", info[b"Width"], info[b"Height"], 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream.buf) + chunk(b"IEND", b"")


def test_pdf_has_one_a6_page_per_sign_each_the_very_sign(demo, settings, make_app, tmp_path):
    out = tmp_path / "signs"
    result = run_signs(make_app(settings), "--out", str(out), "--format", "pdf")
    assert result.exit_code == 0, result.output
    raw = (out / "signs.pdf").read_bytes()
    assert raw.count(b"/Type /Page ") == len(demo)  # written once, no incremental updates to miscount
    pdf = PdfParser.PdfParser(str(out / "signs.pdf"))
    try:
        assert len(pdf.pages) == len(demo)
        for number in (0, 17, len(demo) - 1):  # first, middle, last
            page = pdf.read_indirect(pdf.pages[number])
            # A6 is 105 × 148 mm: 1240 × 1748 px at 300 dpi is 297.6 × 419.52 pt.
            assert [round(float(v), 2) for v in page[b"MediaBox"]] == [0, 0, 297.6, 419.52]
            rebuilt = tmp_path / f"page-{number}.png"
            rebuilt.write_bytes(_pdf_page_png(pdf, pdf.pages[number]))
            checkpoint = demo[number]
            with Image.open(rebuilt) as page_image, Image.open(out / f"{checkpoint.label}.png") as png:
                assert page_image.tobytes() == png.convert("RGB").tobytes()  # lossless, in label order
            assert decode(rebuilt) == sign_url(settings, checkpoint)
    finally:
        pdf.close()


def test_grid_limits_the_set_to_its_subtree(demo, settings, make_app, tmp_path, session):
    community = session.scalar(select(Grid).where(Grid.code == COMMUNITY))
    inside = [cp for cp in demo if cp.grid.path.startswith(community.path)]
    assert len(inside) == 9
    out = tmp_path / "signs"
    app = make_app(settings)
    result = run_signs(app, "--out", str(out), "--grid", COMMUNITY)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.png")) == [f"{cp.label}.png" for cp in inside]
    assert [row[0] for row in csv_rows(out)[1:]] == [cp.label for cp in inside]
    unknown = run_signs(app, "--out", str(tmp_path / "none"), "--grid", "NOPE")
    assert unknown.exit_code != 0 and "NOPE" in unknown.output


def test_checkpoints_grids_and_workers_are_read_in_a_fixed_number_of_queries(demo, settings, make_app, tmp_path):
    app = make_app(settings)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if any(table in statement for table in ("checkpoints", "staff_users", "grids")):
            statements.append(statement)

    engine = app.extensions["gongzhi"].database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert run_signs(app, "--out", str(tmp_path / "all")).exit_code == 0
        assert len(statements) == 2, statements  # checkpoints with grids; grid workers
        statements.clear()
        assert run_signs(app, "--out", str(tmp_path / "one"), "--grid", COMMUNITY).exit_code == 0
        assert len(statements) == 3, statements  # + the grid named
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_signs_name_the_grid_worker_or_a_dash(session, settings, font, tmp_path):
    from qr.cli import load_spots

    grids = factories.grid_tree(session)
    factories.staff(session, "w1", Role.GRID_WORKER, "G1", display_name="王小明")
    factories.staff(session, "w2", Role.GRID_WORKER, "G1", display_name="李娜")
    factories.staff(session, "leader", Role.GRID_LEADER, "G2", display_name="网格长不是网格员")
    for label, grid in (("A1", grids["G1"]), ("B1", grids["G2"])):
        session.add(Checkpoint(label=label, name=f"点位{label}", grid=grid, lat=31.8, lng=117.3))
    session.flush()
    spots = {spot.label: spot for spot in load_spots(session, settings, None)}
    assert spots["A1"].worker_name == "王小明、李娜"
    assert spots["B1"].worker_name is None
    assert spots["A1"].scene.startswith("cp:") and spots["A1"].sign_url.endswith(spots["A1"].public_code)
    lonely = SignData("随手拍 · 共治", "点位B1", "B1", "网格G2", None, spots["B1"].sign_url)
    drawn = render_sign(lonely, font)
    dashed = render_sign(SignData("随手拍 · 共治", "点位B1", "B1", "网格G2", "—", lonely.qr_content), font)
    assert drawn.tobytes() == dashed.tobytes(), "a grid without a worker reads 网格员：—"
    drawn.save(tmp_path / "b1.png")
    assert decode(tmp_path / "b1.png") == spots["B1"].sign_url


def test_wechat_signs_encode_the_accounts_permanent_qr(demo, settings, make_app, fake_wechat, tmp_path):
    settings = settings.replace(wechat_api_base=fake_wechat.base_url)
    out = tmp_path / "signs"
    result = run_signs(make_app(settings), "--out", str(out), "--grid", COMMUNITY, "--wechat")
    assert result.exit_code == 0, result.output
    calls = fake_wechat.calls("/cgi-bin/qrcode/create")
    rows = csv_rows(out)[1:]
    inside = [cp for cp in demo if cp.label in {row[0] for row in rows}]
    assert len(inside) == len(calls) == 9
    assert [call.json for call in calls] == [
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene_for(settings, cp)}}}
        for cp in inside
    ]
    assert all(call.errcode is None and call.status == 200 for call in calls)
    for checkpoint, row in zip(inside, rows, strict=True):
        scanned = decode(out / f"{checkpoint.label}.png")
        assert scanned.startswith("http://weixin.qq.com/q/") and scanned == row[4]
    assert len({row[4] for row in rows}) == 9


def test_a_wechat_error_stops_the_command_with_wechats_words(demo, settings, make_app, fake_wechat, tmp_path):
    settings = settings.replace(wechat_api_base=fake_wechat.base_url)
    fake_wechat.fail_next(errcode=45009, path="/cgi-bin/qrcode/create")
    result = run_signs(make_app(settings), "--out", str(tmp_path / "signs"), "--wechat")
    assert result.exit_code == 1
    assert "获取公众号二维码失败" in result.output and "45009" in result.output
    assert not (tmp_path / "signs").exists()


def test_wechat_without_an_account_fails_clearly(demo, settings, make_app, tmp_path):
    from qr.cli import create_cli

    # The default settings: placeholder credentials aimed at the real API, so wsgi gives no callable.
    result = run_signs(make_app(settings), "--out", str(tmp_path / "signs"), "--wechat")
    assert result.exit_code == 1 and "--wechat" in result.output and "WECHAT_APP_SECRET" in result.output
    assert not (tmp_path / "signs").exists()
    group = create_cli(make_app(settings).extensions["gongzhi"])  # and the group built without one
    direct = group.make_context("qr", ["signs", "--out", str(tmp_path / "x"), "--wechat"])
    with pytest.raises(Exception, match="--wechat"):
        group.invoke(direct)


def test_a_long_name_is_fitted_inside_the_margins_and_the_code_still_scans(font, tmp_path):
    data = SignData(
        "随手拍 · 共治", LONG_NAME, "CP1393", LONG_NAME[:24] * 2, "欧阳" * 30, "http://127.0.0.1:5000/q/z-1-x"
    )
    image = render_sign(data, font)
    assert image.size == (WIDTH, HEIGHT)
    below_band = image.crop((0, 300, WIDTH, HEIGHT))
    for side in (
        below_band.crop((0, 0, MARGIN - 8, below_band.height)),
        below_band.crop((WIDTH - MARGIN + 8, 0, WIDTH, below_band.height)),
    ):
        assert side.convert("L").getextrema() == (255, 255), "text ran into the margin"
    image.save(tmp_path / "long.png")
    assert decode(tmp_path / "long.png") == data.qr_content
    block = fit_text(LONG_NAME, font, WIDTH - 2 * MARGIN, max_size=88, min_size=52, max_lines=2)
    assert len(block.lines) == 2 and block.lines[-1].endswith("…")
    assert all(block.font.getlength(line) <= WIDTH - 2 * MARGIN for line in block.lines)
    short = fit_text("小区东门", font, WIDTH - 2 * MARGIN, max_size=88, min_size=52, max_lines=2)
    assert short.lines == ("小区东门",) and short.font.size == 88


def test_the_qr_is_crisp_whole_pixel_modules_with_a_quiet_zone(font):
    content = "http://127.0.0.1:5000/q/1-1-idvrmzdjdf"
    image = render_sign(SignData("随手拍 · 共治", "小区东门", "CP0001", "第一网格", "王小明", content), font)
    black = Image.eval(image.convert("L"), lambda v: 255 if v == 0 else 0)  # only the QR is pure black
    left, top, right, bottom = black.getbbox()
    modules = len(qr_matrix(content)) - 8  # without the four-module quiet zone each side
    side = right - left
    assert side == bottom - top and side % modules == 0
    box = side // modules
    assert box >= 8
    code = image.crop((left, top, right, bottom))
    assert {color for _count, color in code.getcolors()} == {(0, 0, 0), (255, 255, 255)}, "grey: resampled"
    quiet = image.crop((left - 4 * box, top - 4 * box, right + 4 * box, bottom + 4 * box))
    assert quiet.getcolors() is not None and len(quiet.getcolors()) == 2
    ring_top = image.crop((left - 4 * box, top - 4 * box, right + 4 * box, top))
    assert ring_top.convert("L").getextrema() == (255, 255)
    # Whatever room it is given, every module is a square of whole pixels, one colour each.
    for room in (1000, 777):
        drawn = qr_image(content, room)
        matrix = qr_matrix(content)
        box = drawn.width // len(matrix)
        assert drawn.size == (box * len(matrix),) * 2 and drawn.width <= room
        for row in range(len(matrix)):
            for column in range(len(matrix)):
                square = drawn.crop((column * box, row * box, (column + 1) * box, (row + 1) * box))
                assert square.convert("L").getextrema() == ((0, 0) if matrix[row][column] else (255, 255))


def test_no_chinese_font_names_the_package_to_install(demo, settings, make_app, tmp_path, monkeypatch):
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_bytes(b"this is not a font")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no fc-match: fontconfig is unavailable
    result = run_signs(make_app(settings.replace(sign_font=str(not_a_font))), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "fonts-noto-cjk" in result.output and str(not_a_font) in result.output
    assert not (tmp_path / "out").exists()
    with pytest.raises(SignFontError, match="fonts-noto-cjk"):
        find_sign_font(None)


@pytest.mark.skipif(not DEJAVU.exists(), reason="needs DejaVu Sans (fonts-dejavu-core)")
def test_a_font_without_chinese_glyphs_is_refused(tmp_path, monkeypatch):
    assert not draws_chinese(FontSpec(str(DEJAVU)))
    with pytest.raises(SignFontError, match="fonts-noto-cjk"):
        find_sign_font(str(DEJAVU))
    # fontconfig without a CJK font installed answers a Latin font: that is refused too.
    fake = tmp_path / "bin" / "fc-match"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n0' '{DEJAVU}'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    with pytest.raises(SignFontError, match="fonts-noto-cjk"):
        find_sign_font(None)


def test_the_found_font_draws_chinese_and_prefers_the_simplified_face(font):
    assert draws_chinese(font)
    assert find_sign_font(font.path) == font or draws_chinese(find_sign_font(font.path))
    assert Settings.from_env({"SIGN_FONT": "/fonts/x.ttf"}).sign_font == "/fonts/x.ttf"
    assert Settings.from_env({}).sign_font is None


def test_batch_renders_in_order_on_several_processes_and_refuses_clashing_labels(font, tmp_path):
    signs = [SignData("随手拍 · 共治", f"点位{i}", f"A/{i}", "网格", None, f"http://x.test/q/{i}") for i in range(5)]
    jobs = batch.plan_jobs(signs, tmp_path)
    assert [Path(job.path).name for job in jobs] == [f"A_{i}.png" for i in range(5)]
    assert list(batch.render_signs(jobs, font, workers=2)) == [job.path for job in jobs]
    assert decode(jobs[3].path) == "http://x.test/q/3"
    clash = [*signs, SignData("随手拍 · 共治", "别处", "A_1", "网格", None, "http://x.test/q/9")]
    with pytest.raises(ValueError, match=re.escape("A_1.png")):
        batch.plan_jobs(clash, tmp_path)
    with pytest.raises(ValueError, match="at least one page"):
        batch.write_pdf([], tmp_path / "empty.pdf")
    assert not (tmp_path / "empty.pdf").exists() and not (tmp_path / "empty.pdf.partial").exists()


def test_fake_wechat_checks_the_scene_like_the_real_api(fake_wechat):
    defaults = Settings()
    token = requests.get(
        f"{fake_wechat.base_url}cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": defaults.wechat_app_id,
            "secret": defaults.wechat_app_secret,
        },
        timeout=5,
    ).json()["access_token"]

    def create(scene: object, access_token: str = token) -> dict:
        body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
        url = f"{fake_wechat.base_url}cgi-bin/qrcode/create"
        return requests.post(url, params={"access_token": access_token}, json=body, timeout=5).json()

    first = create("cp:1-1-abc")
    assert first["url"].startswith("http://weixin.qq.com/q/") and first["ticket"]
    assert create("cp:1-1-abc") == first  # a permanent code is the same code every time
    assert create("x" * 64)["url"] != first["url"]
    for bad in ("", "x" * 65, 12):
        assert create(bad)["errcode"] == 40097
    assert create("cp:1-1-abc", access_token="wrong")["errcode"] == 40001

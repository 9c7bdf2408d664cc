"""The report dialogue, message by message, as a resident would use it — and as WeChat would retry it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import event, func, select

from core import case_loop
from core.codes import make_code
from core.glossary import CaseStatus
from core.models import Attachment, Case, Notification, Photo, ReportDraft, Resident
from core.services.catalogue import load_catalogue
from core.services.checkpoints import scene_for, sign_url
from tests.support import factories
from tests.support.wechat_sender import build, reply_text

ME, YOU = "oResident_me", "oResident_you"


@pytest.fixture
def db(app):
    return app.extensions["gongzhi"].database


@pytest.fixture
def catalogue(db, settings):
    with db.session() as s:
        load_catalogue(s, settings.catalogue_file)
        s.commit()


@dataclass
class Sign:
    scene: str
    url: str
    old_scene: str  # the scene of the sign before the code was rotated


@pytest.fixture
def checkpoint(db, settings) -> Sign:
    with db.session() as s:
        point = factories.gate_checkpoint(s, key_version=2)
        old = make_code(settings.secret_key, point.id, 1)
        return Sign(scene_for(settings, point), sign_url(settings, point), f"cp:{old}")


def count(db, model, **where) -> int:
    with db.session() as s:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return s.scalar(query)


def submit(wechat, openid) -> str:
    reply = reply_text(wechat.text(openid, "提交"))
    assert reply.startswith("提交成功！案件编号 GZ"), reply
    return reply.split("案件编号 ")[1].split("。")[0]


def test_photo_location_and_description_in_any_order_make_one_case(wechat, db, catalogue):
    assert "还可以发送：照片、文字描述" in reply_text(wechat.location(ME, 31.8, 117.3, "方兴大道"))
    described = reply_text(wechat.text(ME, "小区东门的路灯不亮了，晚上很黑"))
    assert "问题类别：" in described and "路灯" in described
    assert "信息已齐全" in reply_text(wechat.image(ME, "m-1"))
    number = submit(wechat, ME)
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert case.category is not None and "路灯" in case.category.name
        assert case.description == "小区东门的路灯不亮了，晚上很黑"


def test_the_resident_can_pick_another_suggested_category_by_number(wechat, db, catalogue):
    wechat.location(ME, 31.8, 117.3, "方兴大道")
    reply = reply_text(wechat.text(ME, "楼道里有人飞线给电动车充电，还堆了杂物"))
    assert "回复序号改为：2." in reply
    second = reply.split("2. ")[1].split(" ")[0].rstrip("。")
    assert f"问题类别已改为：{second}" in reply_text(wechat.text(ME, "2"))
    number = submit(wechat, ME)
    with db.session() as s:
        assert s.scalar(select(Case).where(Case.number == number)).category.name == second


def test_submit_needs_a_photo_or_a_description(wechat, db):
    wechat.location(ME, 31.8, 117.3, "方兴大道")
    reply = reply_text(wechat.text(ME, "提交"))
    assert "还不能提交" in reply and "请发送照片或用文字描述问题" in reply
    assert reply_text(wechat.text(YOU, "提交")).startswith("还没有要提交的内容")
    assert count(db, Case) == 0


def test_cancel_drops_the_draft(wechat, db):
    wechat.image(ME, "m-1")
    assert reply_text(wechat.text(ME, "取消")) == "已清空，您可以重新开始上报。"
    assert reply_text(wechat.text(ME, "提交")).startswith("还没有要提交的内容")


def test_text_outside_a_draft_that_names_no_problem_gets_the_help_text(wechat, catalogue):
    assert "随手拍 · 共治" in reply_text(wechat.text(ME, "你好"))
    assert "随手拍 · 共治" in reply_text(wechat.text(ME, "帮助"))


def test_voice_video_and_link_become_part_of_the_report(wechat, db, catalogue):
    voice = build("voice", ME, MediaId="v-1", Format="amr", Recognition="垃圾桶满了没人清理")
    assert "已收到语音并转为文字" in reply_text(wechat.post(voice))
    assert "已收到视频" in reply_text(wechat.post(build("video", ME, MediaId="vid-1", ThumbMediaId="t")))
    assert "已收到视频" in reply_text(wechat.post(build("shortvideo", ME, MediaId="vid-2", ThumbMediaId="t")))
    link = build("link", ME, Title="小区垃圾成堆", Description="", Url="https://example.invalid/post/1")
    assert "已收到链接" in reply_text(wechat.post(link))
    silent = build("voice", YOU, MediaId="v-2", Format="amr")
    assert "请再用文字简单描述问题" in reply_text(wechat.post(silent))
    wechat.location(ME, 31.8, 117.3, "方兴大道")
    number = submit(wechat, ME)
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert "垃圾桶满了没人清理" in case.description
        assert "小区垃圾成堆 https://example.invalid/post/1" in case.description
        kinds = sorted((a.kind, a.wechat_media_id) for a in s.scalars(select(Attachment)))
        assert kinds == [("video", "vid-1"), ("video", "vid-2"), ("voice", "v-1")]


def test_two_residents_interleaving_keep_their_own_drafts(wechat, db):
    wechat.image(ME, "me-photo")
    wechat.image(YOU, "you-photo")
    wechat.location(YOU, 31.81, 117.31, "你的地方")
    wechat.text(ME, "我这边路灯不亮")
    wechat.location(ME, 31.80, 117.30, "我的地方")
    wechat.text(YOU, "你那边井盖不见了")
    mine, yours = submit(wechat, ME), submit(wechat, YOU)
    with db.session() as s:
        me = s.scalar(select(Case).where(Case.number == mine))
        you = s.scalar(select(Case).where(Case.number == yours))
        assert (me.description, me.location_label, me.reporter.openid) == ("我这边路灯不亮", "我的地方", ME)
        assert (you.description, you.location_label, you.reporter.openid) == ("你那边井盖不见了", "你的地方", YOU)
        photos = {p.case_id: p.wechat_media_id for p in s.scalars(select(Photo))}
        assert photos == {me.id: "me-photo", you.id: "you-photo"}


EVERY_MESSAGE: dict[str, Callable[[Sign], str]] = {
    "text": lambda sign: build("text", ME, Content="路灯坏了"),
    "image": lambda sign: build("image", ME, PicUrl="http://x/0", MediaId="m-r"),
    "voice": lambda sign: build("voice", ME, MediaId="v-r", Format="amr", Recognition="井盖没了"),
    "video": lambda sign: build("video", ME, MediaId="vid-r", ThumbMediaId="t"),
    "shortvideo": lambda sign: build("shortvideo", ME, MediaId="sv-r", ThumbMediaId="t"),
    "location": lambda sign: build("location", ME, Location_X=31.8, Location_Y=117.3, Scale=16, Label="方兴大道"),
    "link": lambda sign: build("link", ME, Title="t", Description="d", Url="https://example.invalid"),
    "subscribe": lambda sign: build("event", ME, Event="subscribe", create_time=1763700100),
    "unsubscribe": lambda sign: build("event", ME, Event="unsubscribe", create_time=1763700101),
    "scan": lambda sign: build("event", ME, Event="SCAN", EventKey=sign.scene, Ticket="t", create_time=1763700102),
    "subscribe_scan": lambda sign: build(
        "event", ME, Event="subscribe", EventKey=f"qrscene_{sign.scene}", Ticket="t", create_time=1763700103
    ),
    "location_event": lambda sign: build(
        "event", ME, Event="LOCATION", Latitude=31.8, Longitude=117.3, Precision=30, create_time=1763700104
    ),
    "click": lambda sign: build("event", ME, Event="CLICK", EventKey="MY_CASES", create_time=1763700105),
    "scancode_waitmsg": lambda sign: build(
        "event",
        ME,
        Event="scancode_waitmsg",
        EventKey="SCAN_CHECKPOINT",
        create_time=1763700106,
        ScanCodeInfo={"ScanType": "qrcode", "ScanResult": sign.url},
    ),
}


@pytest.mark.parametrize("kind", sorted(EVERY_MESSAGE))
def test_a_retried_delivery_gets_the_same_reply_and_changes_nothing(wechat, db, catalogue, checkpoint, kind):
    body = EVERY_MESSAGE[kind](checkpoint)
    first = wechat.post(body)
    assert first.status_code == 200
    with db.session() as s:
        before = s.scalars(select(ReportDraft)).all()
        before = [(d.report, d.updated_at) for d in before]
    for _ in range(3):  # WeChat retries up to three times
        again = wechat.post(body)
        assert again.get_data() == first.get_data() or reply_text(again) == reply_text(first)
    with db.session() as s:
        after = [(d.report, d.updated_at) for d in s.scalars(select(ReportDraft))]
    assert after == before


def test_a_retried_submit_makes_one_case(wechat, db):
    wechat.image(ME, "m-1")
    wechat.location(ME, 31.8, 117.3, "方兴大道")
    body = build("text", ME, Content="提交")
    replies = {reply_text(wechat.post(body)) for _ in range(4)}
    assert len(replies) == 1 and replies.pop().startswith("提交成功")
    assert count(db, Case) == 1 and count(db, Photo) == 1


def test_scanning_a_sign_starts_a_report_at_the_checkpoint(wechat, db, checkpoint):
    reply = reply_text(wechat.event(ME, "SCAN", EventKey=checkpoint.scene, Ticket="t"))
    assert "您在「小区东门」（方兴社区第一网格）" in reply
    wechat.text(ME, "东门垃圾堆了三天了")
    number = submit(wechat, ME)
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert (case.checkpoint.label, case.grid.code, case.lat, case.lng) == ("CP0001", "G1", 31.8, 117.3)
        assert case.location_label == "小区东门"


def test_a_non_follower_scanning_a_sign_follows_and_starts_a_report(wechat, db, checkpoint):
    reply = reply_text(wechat.event(YOU, "subscribe", EventKey=f"qrscene_{checkpoint.scene}", Ticket="t"))
    assert reply.startswith("欢迎关注！您在「小区东门」")
    with db.session() as s:
        assert s.scalar(select(Resident).where(Resident.openid == YOU)).is_follower


def test_the_menu_scanner_reads_a_sign_url(wechat, checkpoint, settings):
    def scan(result: str, second: int):
        info = {"ScanType": "qrcode", "ScanResult": result}
        # Distinct CreateTimes: the same sender, event and key in one second is WeChat retrying.
        return reply_text(
            wechat.event(ME, "scancode_waitmsg", EventKey="S", ScanCodeInfo=info, create_time=1763700000 + second)
        )

    code = checkpoint.url.rsplit("/", 1)[1]
    assert "小区东门" in scan(checkpoint.url, 1)
    assert "不是本社区巡查点" in scan(f"https://example.invalid/q/{code}", 2)
    assert "不是本社区巡查点" in scan(f"{settings.public_base_url}/q/CP0001", 3)  # the label is no code
    assert "不是本社区巡查点" in scan(checkpoint.url[:-1] + ("a" if code[-1] != "a" else "b"), 4)  # altered
    old = checkpoint.old_scene.removeprefix("cp:")
    assert "已经更换" in scan(f"{settings.public_base_url}/q/{old}", 5)


def test_a_rotated_sign_says_so(wechat, checkpoint):
    assert "已经更换" in reply_text(wechat.event(ME, "SCAN", EventKey=checkpoint.old_scene, Ticket="t"))


def test_following_unfollowing_and_the_location_report(wechat, db):
    assert "欢迎关注" in reply_text(wechat.event(ME, "subscribe"))
    assert wechat.event(ME, "LOCATION", Latitude=31.81, Longitude=117.29, Precision=30).get_data() == b"success"
    with db.session() as s:
        me = s.scalar(select(Resident).where(Resident.openid == ME))
        assert me.is_follower and (me.last_lat, me.last_lng) == (31.81, 117.29)
    assert wechat.event(ME, "unsubscribe").get_data() == b"success"
    with db.session() as s:
        me = s.scalar(select(Resident).where(Resident.openid == ME))
        assert not me.is_follower and me.unfollowed_at is not None


def test_a_recent_location_report_places_a_report_sent_without_location(wechat, db):
    wechat.event(ME, "LOCATION", Latitude=31.81, Longitude=117.29, Precision=30)
    wechat.image(ME, "m-1")
    number = submit(wechat, ME)
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert (case.lat, case.lng, case.coord_system.value) == (31.81, 117.29, "gcj02")


def test_menu_clicks(wechat):
    assert "拍照" in reply_text(wechat.event(ME, "CLICK", EventKey="REPORT"))
    assert "您还没有上报过问题" in reply_text(wechat.event(ME, "CLICK", EventKey="MY_CASES"))
    assert "随手拍 · 共治" in reply_text(wechat.event(ME, "CLICK", EventKey="HELP"))
    assert wechat.event(ME, "VIEW", EventKey="https://example.invalid").get_data() == b"success"


def make_closed_case(db, settings, openid=ME) -> str:
    with db.session() as s:
        resident = s.scalar(select(Resident).where(Resident.openid == openid)) or factories.resident(s, openid)
        case = factories.case(s, settings, reporter=resident)
        for status in [
            CaseStatus.ACCEPTED,
            CaseStatus.DISPATCHED,
            CaseStatus.HANDLED,
            CaseStatus.VERIFIED,
            CaseStatus.CLOSED,
        ]:
            case_loop.transition(s, case, status, action="test")
        s.commit()
        return case.number


def test_my_cases_and_looking_one_up(wechat, db, settings):
    wechat.image(ME, "m-1")
    wechat.location(ME, 31.8, 117.3, "方兴大道")
    number = submit(wechat, ME)
    listing = reply_text(wechat.text(ME, "我的上报"))
    assert number in listing and "已上报" in listing
    timeline = reply_text(wechat.text(ME, f"查询 {number.lower()}"))
    assert timeline.startswith(f"案件 {number}") and "已上报" in timeline
    assert "未找到案件" in reply_text(wechat.text(YOU, f"查询 {number}"))  # not someone else's
    assert "您还没有上报过问题" in reply_text(wechat.text(YOU, "我的上报"))


def test_rating_a_closed_case_once(wechat, db, settings):
    wechat.text(ME, "帮助")  # the resident exists
    number = make_closed_case(db, settings)
    assert "未找到案件" in reply_text(wechat.text(YOU, f"评价 {number} 5"))
    assert "1 到 5" in reply_text(wechat.text(ME, f"评价 {number} 9"))
    assert reply_text(wechat.text(ME, f"评价 {number} 5 处理得很快")) == "感谢您的评价！"
    assert "已评价" in reply_text(wechat.text(ME, f"评价 {number} 4"))
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert (case.status, case.rating, case.rating_comment) == (CaseStatus.EVALUATED, 5, "处理得很快")


def test_not_fixed_sends_a_closed_case_back(wechat, db, settings):
    wechat.text(ME, "帮助")
    number = make_closed_case(db, settings)
    assert "已重新交办处理" in reply_text(wechat.text(ME, f"没修好 {number} 灯还是不亮"))
    with db.session() as s:
        assert s.scalar(select(Case).where(Case.number == number)).status == CaseStatus.DISPATCHED
    assert "只有已办结的案件" in reply_text(wechat.text(ME, f"没修好 {number}"))  # no longer closed


def test_a_template_delivery_receipt_updates_the_notification(wechat, db, settings):
    wechat.text(ME, "帮助")
    number = make_closed_case(db, settings)
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        note = Notification(
            event_id=case.events[-1].id,
            resident_id=case.reporter_id,
            channel="oa_template",
            status="sent",
            wechat_msgid="200163836",
        )
        s.add(note)
        s.commit()
    receipt = build("event", ME, Event="TEMPLATESENDJOBFINISH", MsgID=200163836, Status="failed:user block")
    assert wechat.post(receipt).get_data() == b"success"
    assert wechat.post(receipt).get_data() == b"success"
    with db.session() as s:
        note = s.scalar(select(Notification))
        assert note.delivery_status == "failed:user block" and note.status.value == "failed"


@pytest.fixture
def statements(db):
    """Every SQL statement the app sends while the test runs, with its connection; commits as "COMMIT"."""
    seen: list[tuple[int, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((id(conn.connection.dbapi_connection), statement))

    def commit(conn) -> None:
        seen.append((id(conn.connection.dbapi_connection), "COMMIT"))

    event.listen(db.engine, "before_cursor_execute", record)
    event.listen(db.engine, "commit", commit)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)
    event.remove(db.engine, "commit", commit)


def transactions(statements: list[tuple[int, str]]) -> list[list[str]]:
    """The statements grouped into the transactions they ran in."""
    open_ones: dict[int, list[str]] = {}
    done: list[list[str]] = []
    for conn, statement in statements:
        if statement == "COMMIT":
            done.append(open_ones.pop(conn, []))
        else:
            open_ones.setdefault(conn, []).append(statement)
    return done + list(open_ones.values())


def test_help_and_the_menu_s_fixed_answers_need_no_database(wechat, db, statements):
    assert "随手拍 · 共治" in reply_text(wechat.text(ME, "帮助"))
    assert "随手拍 · 共治" in reply_text(wechat.text(ME, "？"))
    assert reply_text(wechat.text(ME, "上报")).startswith("请拍照发送问题现场")
    assert "随手拍 · 共治" in reply_text(wechat.event(ME, "CLICK", EventKey="HELP"))
    assert statements == []
    assert count(db, Resident) == 0  # nothing was stored for them either


def test_only_draft_changes_skip_waiting_for_the_disk(wechat, db, catalogue, statements):
    """A photo, a place or a sentence may commit without a disk flush; a submission never does."""

    def relaxed(marker: str) -> bool:
        [transaction] = [t for t in transactions(statements) if any(marker in s for s in t)]
        statements.clear()
        return any("synchronous_commit" in statement for statement in transaction)

    wechat.text(ME, "同意")  # the consent is a record, not a draft change: it waits for the disk
    assert not relaxed("INSERT INTO privacy_consents")
    for send in (
        lambda: wechat.image(ME, "m-1"),
        lambda: wechat.location(ME, 31.8, 117.3, "方兴大道"),
        lambda: wechat.text(ME, "小区东门的路灯不亮了"),
    ):
        send()
        assert relaxed("UPDATE report_drafts") == (db.engine.dialect.name == "postgresql")
    submit(wechat, ME)
    assert not relaxed("INSERT INTO cases")
    assert count(db, Case) == 1

"""「我的数据」 and 「注销」 in the official account, with the confirmation step, as a resident would type them."""

from __future__ import annotations

from sqlalchemy import func, select, update

from core.models import Case, ReportDraft, Resident
from core.privacy import links
from tests.support import factories, privacy
from tests.support.wechat_sender import build, reply_text

ME = "oBot_resident_me"


def _resident(db, openid: str = ME) -> Resident | None:
    with db.session() as s:
        return s.scalar(select(Resident).where(Resident.openid == openid))


def _with_a_case(db, settings) -> tuple[int, str]:
    with db.session() as s:
        me = factories.resident(s, ME)
        case = privacy.finished_case(s, settings, me)
        s.commit()
        return me.id, case.number


def test_my_data_answers_with_a_link_to_the_page(client, db, wechat, api_settings):
    my_id, number = _with_a_case(db, api_settings)

    reply = reply_text(wechat.text(ME, "我的数据"))

    assert "15 分钟" in reply
    url = reply.splitlines()[-1]
    assert url.startswith(api_settings.public_base_url)
    path = url.removeprefix(api_settings.public_base_url)
    assert path.startswith(links.PAGE_PATH)
    assert links.resident_of(api_settings, path.removeprefix(links.PAGE_PATH)) == my_id
    page = client.get(path)
    assert page.status_code == 200 and number in page.get_data(as_text=True)


def test_erasure_asks_first_and_erases_on_confirmation(db, wechat, api_settings):
    my_id, number = _with_a_case(db, api_settings)

    asked = reply_text(wechat.text(ME, "注销"))
    assert "确认注销" in asked and "匿名" in asked
    assert _resident(db).erased_at is None  # nothing happens before the confirmation

    done = reply_text(wechat.text(ME, "确认注销"))

    assert "已注销" in done
    assert _resident(db) is None
    with db.session() as s:
        erased = s.get(Resident, my_id)
        assert erased.erased_at is not None and erased.openid is None
        case = s.scalar(select(Case).where(Case.number == number))
        assert case.reporter_id is None and privacy.PHONE not in case.description
        assert s.scalar(select(func.count()).select_from(ReportDraft).where(ReportDraft.resident_id == my_id)) == 0
    # The same WeChat user writing again is a new, empty resident.
    assert "还没有上报" in reply_text(wechat.text(ME, "我的上报"))
    again = _resident(db)
    assert again is not None and again.id != my_id


def test_any_other_message_cancels_the_request(db, wechat, api_settings):
    _with_a_case(db, api_settings)
    reply_text(wechat.text(ME, "注销"))
    reply_text(wechat.text(ME, "我的上报"))

    reply = reply_text(wechat.text(ME, "确认注销"))

    assert "没有待确认的注销" in reply
    assert _resident(db).erased_at is None


def test_the_periodic_location_report_does_not_cancel_it(db, wechat, api_settings):
    _with_a_case(db, api_settings)
    reply_text(wechat.text(ME, "注销"))
    wechat.post(build("event", ME, Event="LOCATION", Latitude="31.8", Longitude="117.3", Precision="30"))

    assert "已注销" in reply_text(wechat.text(ME, "确认注销"))


def test_a_confirmation_after_five_minutes_is_refused(db, wechat, api_settings):
    my_id, _number = _with_a_case(db, api_settings)
    reply_text(wechat.text(ME, "注销"))
    with db.session() as s:
        s.execute(
            update(ReportDraft).where(ReportDraft.resident_id == my_id).values(erase_asked_at=privacy.ago(minutes=6))
        )
        s.commit()

    assert "没有待确认的注销" in reply_text(wechat.text(ME, "确认注销"))
    assert _resident(db).erased_at is None


def test_a_retried_confirmation_erases_nothing_more(db, wechat, api_settings):
    my_id, _number = _with_a_case(db, api_settings)
    reply_text(wechat.text(ME, "注销"))
    confirmation = build("text", ME, Content="确认注销", msg_id=880001)
    assert "已注销" in reply_text(wechat.post(confirmation))

    retried = reply_text(wechat.post(confirmation))

    assert "已注销" in retried or "没有待确认的注销" in retried
    with db.session() as s:
        assert len(privacy.entries(s, "privacy.erase")) == 1
        assert s.get(Resident, my_id).erased_at is not None
        newcomer = s.scalar(select(Resident).where(Resident.openid == ME))
        assert newcomer is None or newcomer.erased_at is None
        assert s.scalar(select(func.count()).select_from(Case).where(Case.reporter_id.is_not(None))) == 0

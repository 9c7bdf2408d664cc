"""The custom menu command, and the rule that answering a resident never calls the WeChat API."""

from __future__ import annotations

import pytest

from tests.support.wechat_sender import WeChatSender, reply_text


@pytest.fixture
def wired_app(settings, fake_wechat, make_app):
    return make_app(settings.replace(wechat_api_base=fake_wechat.base_url))


def test_wechat_menu_creates_the_three_menus(wired_app, fake_wechat):
    result = wired_app.test_cli_runner().invoke(args=["wechat", "menu"])
    assert result.exit_code == 0, result.output
    assert "自定义菜单已创建" in result.output
    [call] = fake_wechat.calls("/cgi-bin/menu/create")
    names = [button["name"] for button in call.json["button"]]
    assert names == ["随手拍", "我的上报", "使用帮助"]
    keys = {b.get("key") for button in call.json["button"] for b in [button, *button.get("sub_button", [])]}
    assert {"REPORT", "MY_CASES", "HELP", "SCAN_CHECKPOINT"} <= keys


def test_wechat_menu_reports_wechats_refusal(wired_app, fake_wechat):
    fake_wechat.fail_next(1, errcode=40016, path="/cgi-bin/menu/create")
    result = wired_app.test_cli_runner().invoke(args=["wechat", "menu"])
    assert result.exit_code != 0 and "创建菜单失败" in result.output


def test_a_whole_conversation_makes_no_call_to_wechat(wired_app, settings, fake_wechat):
    # Hold the jobs back, so that any call the fake sees can only have come from a request.
    wired_app.extensions["gongzhi"].dispatcher.kick = lambda: None
    wechat = WeChatSender.for_settings(wired_app.test_client(), settings)
    wechat.event("oQuiet", "subscribe")
    wechat.image("oQuiet", "m-1")
    wechat.location("oQuiet", 31.8, 117.3, "方兴大道")
    wechat.text("oQuiet", "路灯坏了")
    assert reply_text(wechat.text("oQuiet", "提交")).startswith("提交成功")
    wechat.text("oQuiet", "我的上报")
    assert fake_wechat.calls() == []  # media and messages are the worker's business

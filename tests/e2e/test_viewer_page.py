"""A person's view of the show, in headless Chromium: picture, sound, and answers to chat."""

from __future__ import annotations

import time
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from avatar.brain.scene import load_scene
from avatar.media.fanout import renditions_for
from tests.e2e.conftest import REPO, LiveServer, start_live, stop_live, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def stats(browser: Any) -> dict[str, Any]:
    result: dict[str, Any] = browser.execute_script("return window.avatarStats")
    return result


def send_chat(browser: Any, text: str) -> None:
    box = browser.find_element(By.ID, "message")
    box.clear()
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def test_viewer_sees_hears_and_gets_a_price_answer(live_server: LiveServer, browser: Any) -> None:
    browser.get(live_server.url + "/")
    wait_for(lambda: stats(browser)["state"] == "connected", 20, "the WebRTC connection")
    first = wait_for(lambda: stats(browser)["frames"] >= 10 and stats(browser)["frames"], 20, "video frames")
    time.sleep(2)
    later = stats(browser)
    assert later["frames"] > first + 20, "frame callbacks keep rising (~25 fps)"
    # Full size, or half size where the viewer fell behind on a busy machine (the ladder's step
    # down, as a viewer on a poor link gets); one CI run on 2 loaded cores got half size.
    ladder = [(r.width, r.height) for r in renditions_for(640, 360, 25)]
    assert (later["width"], later["height"]) in ladder, ladder
    wait_for(lambda: stats(browser)["audioPeak"] > 0.01, 20, "non-silent audio from the host's voice")
    assert live_server.health()["viewers"] == 1

    catalog = load_scene(REPO / "scenes/demo").catalog
    lamp = catalog.get("lumen-lamp")
    expected = catalog.format_price(lamp.current_price())
    before = len(stats(browser)["captions"])
    asked_at = time.monotonic()
    send_chat(browser, "How much is the desk lamp?")

    def answer_with_price() -> str | None:
        # The script may say the lamp's price too; a line the question cut (its caption trails off
        # with "…") or said before it is not the answer.
        captions = stats(browser)["captions"][before:]
        return next((c for c in captions if expected in c and not c.endswith("…")), None)

    caption = wait_for(
        answer_with_price,
        10,
        f"a caption with the lamp's price {expected}",
    )
    assert time.monotonic() - asked_at < 10
    assert "lamp" in caption.lower()
    chat = browser.find_element(By.ID, "chat").text
    assert "How much is the desk lamp?" in chat


def test_chat_flood_gets_a_rate_limit_notice_and_the_show_goes_on(
    live_server: LiveServer, browser: Any
) -> None:
    browser.get(live_server.url + "/")
    wait_for(lambda: stats(browser)["state"] == "connected", 20, "the WebRTC connection")
    browser.execute_script(
        "const form = document.getElementById('chat-form');"
        "for (let i = 0; i < 8; i++) {"
        "  document.getElementById('message').value = 'is the bottle in stock? ' + i;"
        "  form.requestSubmit(); }"
    )
    notice = wait_for(lambda: browser.find_element(By.ID, "notice").text, 5, "a rate-limit notice")
    assert "too fast" in notice
    frames = stats(browser)["frames"]
    time.sleep(1.5)
    assert stats(browser)["frames"] > frames + 15, "the stream keeps flowing"
    assert live_server.health()["status"] == "ok"


def test_configured_720p_size_reaches_the_viewer(browser: Any) -> None:
    server = start_live("--width", "1280", "--height", "720")
    try:
        browser.get(server.url + "/")
        wait_for(lambda: stats(browser)["frames"] >= 10, 30, "video frames at 720p")
        assert (stats(browser)["width"], stats(browser)["height"]) == (1280, 720)
    finally:
        stop_live(server)


def test_the_chinese_show_answers_a_price_question_in_yuan(browser: Any) -> None:
    server = start_live("--scene", "scenes/demo-zh")
    try:
        browser.get(server.url + "/")
        wait_for(lambda: stats(browser)["state"] == "connected", 30, "the WebRTC connection")
        wait_for(lambda: stats(browser)["audioPeak"] > 0.01, 30, "non-silent audio from the Mandarin voice")
        catalog = load_scene(REPO / "scenes/demo-zh").catalog
        prices = {catalog.format_price(p.current_price()) for p in catalog.products}
        before = len(stats(browser)["captions"])
        send_chat(browser, "这个多少钱？")

        def answer_in_yuan() -> str | None:
            captions = stats(browser)["captions"][before:]
            return next(
                (c for c in captions if any(p in c for p in prices) and "售价" in c or "只要" in c), None
            )

        caption = wait_for(answer_in_yuan, 15, "a caption with a ¥ price")
        assert "¥" in caption and "$" not in caption
    finally:
        stop_live(server)

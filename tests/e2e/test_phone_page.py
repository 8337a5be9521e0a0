"""The viewer page on a phone (390x844, portrait) as a new user meets it in headless Chromium: the
video fills the height, the LIVE badge and the caption do not overlap, the chat box is on screen
without scrolling, and the product bag opens over the video."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.e2e.conftest import LiveServer, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}


def rect(browser: Any, element_id: str) -> dict[str, float]:
    box: dict[str, float] = browser.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,"
        " width: r.width, height: r.height};",
        element_id,
    )
    return box


def test_the_phone_page_is_full_height_with_chat_in_reach(live_server: LiveServer, browser: Any) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    browser.get(live_server.url + "/")
    wait_for(lambda: browser.execute_script("return window.avatarStats.frames") >= 10, 30, "video frames")
    wait_for(lambda: browser.find_element(By.ID, "caption").text.strip(), 30, "a caption")
    inner = browser.execute_script(
        "return {w: innerWidth, h: innerHeight, scroll: document.documentElement.scrollHeight}"
    )
    assert (inner["w"], inner["h"]) == (390, 844)
    assert inner["scroll"] <= inner["h"], "nothing below the screen: no scrolling to reach the chat"

    video = rect(browser, "video")
    assert video["top"] <= 0 and video["bottom"] >= inner["h"] and video["width"] >= inner["w"]
    message = rect(browser, "message")
    send = browser.execute_script(
        "const r = document.querySelector('#chat-form button').getBoundingClientRect();"
        "return [r.left, r.right];"
    )
    assert send[0] >= 0 and send[1] <= inner["w"], "the Send button is on screen"
    assert message["top"] >= 0 and message["bottom"] <= inner["h"] and message["height"] >= 30
    status, caption = rect(browser, "status"), rect(browser, "caption")
    assert status["bottom"] <= caption["top"] or caption["bottom"] <= status["top"], (
        "LIVE badge over the caption"
    )

    # The screenshot: the picture behind everything is the programme (not black bars above and below).
    shot = np.asarray(Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")).astype(int)
    assert shot.shape[:2] == (844, 390)
    for band in (shot[100:250], shot[300:450]):  # upper and middle of the screen: video, with detail
        assert band.mean() > 20 and band.std() > 10

    # Chat typed on the phone reaches the show; the bag opens the product list over the video.
    box = browser.find_element(By.ID, "message")
    box.send_keys("How much is the desk lamp?")
    box.send_keys(Keys.ENTER)
    wait_for(
        lambda: any("desk lamp" in li.text for li in browser.find_elements(By.CSS_SELECTOR, "#chat li")),
        10,
        "the question in the chat",
    )
    assert not browser.find_element(By.ID, "products").is_displayed()
    browser.find_element(By.ID, "bag").click()
    products = wait_for(lambda: browser.find_element(By.ID, "products").is_displayed(), 5, "the product bag")
    assert products
    bag = rect(browser, "products")
    assert bag["top"] >= 0 and bag["bottom"] <= inner["h"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#products li")) == 5

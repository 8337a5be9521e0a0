"""Selling pages in headless Chromium: the Buy buttons lead through the counted /go/ redirect, and
/program shows the programme full-window with no controls (the OBS browser source)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from selenium.webdriver.common.by import By

from avatar.sources.ingest import sign
from tests.e2e.conftest import REPO, LiveServer, start_live, stop_live, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
BRIDGE_ENV = "AVATAR_INGEST_SECRET_BRIDGE"
BRIDGE_SECRET = "bridge-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def shop_server() -> Iterator[LiveServer]:
    folder = Path(tempfile.mkdtemp(prefix="avatar-shop-")) / "scene"
    shutil.copytree(REPO / "scenes/demo", folder)
    products = yaml.safe_load((folder / "products.yaml").read_text())
    for product in products["products"]:
        product["url"] = f"https://shop.example/products/{product['id']}"
    (folder / "products.yaml").write_text(yaml.safe_dump(products, allow_unicode=True))
    os.environ[BRIDGE_ENV] = BRIDGE_SECRET  # inherited by `avatar live`
    try:
        server = start_live(
            "--scene",
            str(folder),
            "--operator-token",
            "shop-test-token-0123456789",
            "--chat",
            "ingest:bridge",
        )
    finally:
        del os.environ[BRIDGE_ENV]
    yield server
    stop_live(server)


def analytics(server: LiveServer) -> dict[str, Any]:
    request = urllib.request.Request(
        server.url + "/console/api/analytics", headers={"Authorization": "Bearer shop-test-token-0123456789"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        data: dict[str, Any] = json.load(response)
        return data


def test_buy_buttons_go_through_the_counted_redirect(shop_server: LiveServer, browser: Any) -> None:
    browser.get(shop_server.url + "/")
    buttons = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".products .buy"), 20, "Buy buttons")
    assert len(buttons) == 5
    current = wait_for(
        lambda: browser.execute_script(
            "const b = document.getElementById('buy-now'); return !b.hidden && b.href"
        ),
        20,
        "the Buy now button of the product on air",
    )
    assert "/go/" in current and current.endswith("?from=card")
    href = buttons[0].get_attribute("href")
    product = href.split("/go/")[1].split("?")[0]
    browser.execute_script("arguments[0].target = '_self'; arguments[0].click();", buttons[0])
    # The shop's page is not reachable here; the browser was sent there by the redirect.
    wait_for(lambda: "shop.example" in browser.current_url, 20, "the redirect to the shop")
    assert browser.current_url.startswith(f"https://shop.example/products/{product}")

    def counted() -> bool:
        clicks = analytics(shop_server)["clicks_per_product"]
        return any(c["product"] == product and c["count"] >= 1 for c in clicks)

    wait_for(counted, 10, "the click in the console's analytics")


def test_the_program_page_fills_the_window_without_controls(shop_server: LiveServer, browser: Any) -> None:
    browser.get(shop_server.url + "/program")
    wait_for(lambda: browser.execute_script("return window.avatarStats.frames") >= 10, 30, "video frames")
    layout = browser.execute_script(
        "const v = document.getElementById('video'); const r = v.getBoundingClientRect();"
        "return {w: r.width, h: r.height, W: innerWidth, H: innerHeight, controls: v.controls,"
        " others: [...document.body.children].filter(e => e.tagName !== 'SCRIPT' && e !== v).length,"
        " scroll: document.documentElement.scrollHeight};"
    )
    assert (layout["w"], layout["h"]) == (layout["W"], layout["H"])
    assert layout["controls"] is False and layout["others"] == 0 and layout["scroll"] <= layout["H"]
    stats = browser.execute_script("return window.avatarStats")
    assert (stats["width"], stats["height"]) == (640, 360) and stats["state"] == "connected"


def test_a_bridged_comment_shows_with_its_platform_on_the_viewer_page(
    shop_server: LiveServer, browser: Any
) -> None:
    browser.get(shop_server.url + "/")
    wait_for(
        lambda: browser.execute_script("return window.avatarStats.state") == "connected", 20, "connection"
    )
    body = json.dumps({"user_id": "42", "name": "Mei", "text": "Is the desk lamp in stock?"}).encode()
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        shop_server.url + "/api/comments",
        data=body,
        headers={
            "X-Avatar-Source": "bridge",
            "X-Avatar-Timestamp": stamp,
            "X-Avatar-Signature": sign(BRIDGE_SECRET, stamp, body),
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["accepted"] == 1
    line = wait_for(
        lambda: next(
            (li.text for li in browser.find_elements(By.CSS_SELECTOR, "#chat li") if "Mei" in li.text), None
        ),
        10,
        "the comment in the page's chat",
    )
    assert line == "[bridge] Mei: Is the desk lamp in stock?"
    sources = shop_server.health()["chat_sources"]["sources"]
    assert sources["ingest:bridge"]["accepted"] == 1 and sources["ingest:bridge"]["state"] == "running"

"""Buy links: /go/<product> redirects only to the catalog's URL and counts the click; the viewer
page's product data carries the link; /program serves the OBS page."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from avatar.brain.scene import load_scene
from avatar.config import Settings
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.ops.store import Store
from avatar.web.app import create_app
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker

LAMP_URL = "https://shop.example/products/lumen-lamp?ref=live"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], LiveShow]]:
    folder = tmp_path / "scene"
    shutil.copytree(DEMO_SCENE, folder)
    products = yaml.safe_load((folder / "products.yaml").read_text())
    for product in products["products"]:
        if product["id"] == "lumen-lamp":
            product["url"] = LAMP_URL
    (folder / "products.yaml").write_text(yaml.safe_dump(products, allow_unicode=True))
    show = LiveShow(
        load_scene(folder),
        Settings(scene=folder),
        speaker=fake_speaker(Playout(), FakeTTSEngine(delay_s=0.002)),
        store=Store(tmp_path / "show.sqlite3"),
    )
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(show), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield client, show
    finally:
        await client.close()


async def test_a_buy_click_goes_to_the_catalogs_url_and_is_counted(
    served: tuple[TestClient[Any, Any], LiveShow],
) -> None:
    client, show = served
    for query in ("", "?from=card", "?from=list&sku=nope", "?next=https://evil.example/&url=//evil.example"):
        response = await client.get(f"/go/lumen-lamp{query}", allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"] == LAMP_URL  # never anything from the request
        assert response.headers["Cache-Control"] == "no-store"
    for path in (
        "/go/no-such-product",
        "/go/aurora-buds",
        "/go/..%2F..%2Fetc",
        "/go/https:%2F%2Fevil.example",
    ):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 404, path  # unknown, or a product without a link
        assert "error" in await response.json()
    assert show.ops.store is not None
    await show.ops.store.flush()
    analytics = await show.ops.store.analytics()
    # Four clicks from one address within seconds: one click (a double tap is not two buyers).
    assert analytics["clicks_per_product"] == [{"product": "lumen-lamp", "count": 1}]
    exported = await show.ops.store.export_csv("clicks")
    assert exported.count("lumen-lamp") == 1 and exported.strip().endswith(",link")


async def test_the_product_list_carries_buy_links_and_program_is_served(
    served: tuple[TestClient[Any, Any], LiveShow],
) -> None:
    client, _ = served
    products = {p["id"]: p for p in (await (await client.get("/api/products")).json())["products"]}
    assert products["lumen-lamp"]["buy"] == "/go/lumen-lamp"
    assert products["aurora-buds"]["buy"] is None
    page = await client.get("/program")
    assert page.status == 200
    html = await page.text()
    assert "/static/program.js" in html and "controls" not in html

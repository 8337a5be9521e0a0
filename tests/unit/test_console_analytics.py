"""The console's per-product analytics over HTTP: the CSV reports carry the numbers of a recorded
sequence of events, the charts come back as real PNG and SVG pictures drawn by matplotlib, and bad
requests get a 4xx."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from avatar.brain.scene import load_scene
from avatar.config import Settings
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.ops.store import Store
from avatar.web.app import create_app
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker, wait_until
from tests.unit.test_console import AUTH, TOKEN
from tests.unit.test_ops_store import Wall
from tests.unit.test_product_analytics import CLICKS, COMMENTS, ON_AIR, SESSIONS, SINCE, UNTIL

SHIFT = 10 * 86_400.0
"""The recorded sequence is replayed ten days after the show's own start-up records."""
DAYS = (UNTIL - SINCE) / 86_400.0
"""The window that holds exactly the sequence."""


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    folder = tmp_path / "scene"
    shutil.copytree(DEMO_SCENE, folder)
    wall = Wall(1_000_000.0)
    store = Store(tmp_path / "show.sqlite3", wall=wall)
    show = LiveShow(
        load_scene(folder),
        Settings(scene=folder, operator_token=TOKEN),
        speaker=fake_speaker(Playout(), FakeTTSEngine(seconds_per_char=0.003, delay_s=0.002)),
        store=store,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(show), host="127.0.0.1", port=0))
    await client.start_server()
    try:
        await wait_until(lambda: bool(show.ops.supervisor.stages), 5, "the show up")
        await store.flush()
        # The recorded sequence, written in one go (nothing else runs in between on the loop).
        events: list[tuple[float, Any]] = [(ts, lambda p=p: store.on_air(p)) for ts, p in ON_AIR]
        events += [(ts, lambda v=v, e=e: store.viewer_event(v, e)) for ts, v, e in SESSIONS]
        events += [(ts, lambda p=p: store.click(p, None, "card")) for ts, p in CLICKS]
        events += [
            (
                c.ts,
                lambda c=c, i=i: store.question(
                    f"q{i}", c.viewer, "n", c.text, c.product, intent=c.intent, on_air=c.on_air
                ),
            )
            for i, c in enumerate(COMMENTS)
        ]
        for ts, write in sorted(events, key=lambda item: item[0]):
            wall.now = ts + SHIFT
            write()
        wall.now = UNTIL + SHIFT
        yield client
    finally:
        await client.close()


def rows(text: str) -> dict[str, dict[str, str]]:
    return {row["product"]: row for row in csv.DictReader(io.StringIO(text))}


async def test_the_products_csv_carries_the_numbers(http: TestClient[Any, Any]) -> None:
    response = await http.get(f"/console/api/report/products.csv?days={DAYS}", headers=AUTH)
    assert response.status == 200 and response.content_type == "text/csv"
    assert 'filename="products.csv"' in response.headers["Content-Disposition"]
    got = rows(await response.text())
    assert set(got) == {"lumen-lamp", "summit-bottle"}
    lamp, bottle = got["lumen-lamp"], got["summit-bottle"]
    assert lamp["name"] == "Lumen LED Desk Lamp", "the catalog's name next to the id"
    assert float(lamp["on_air_s"]) == pytest.approx(200.0)
    assert float(bottle["on_air_s"]) == pytest.approx(300.0)
    assert (lamp["mentions"], lamp["questions"], lamp["clicks"]) == ("2", "3", "2")
    assert float(lamp["clicks_per_min"]) == pytest.approx(0.6)
    assert (bottle["questions"], bottle["peak_viewers"], bottle["unique_viewers"]) == ("1", "2", "2")
    assert float(bottle["avg_viewers"]) == pytest.approx(350 / 300, abs=1e-3)
    assert float(lamp["comments_per_min_twitch"]) == pytest.approx(0.3)

    comments = await http.get(f"/console/api/report/comments.csv?days={DAYS}", headers=AUTH)
    assert comments.status == 200 and comments.content_type == "text/csv"
    series = list(csv.DictReader(io.StringIO(await comments.text())))
    assert {row["source"] for row in series} == {"page", "twitch", "youtube"}
    assert sum(float(row["per_min"]) for row in series if row["source"] == "twitch") > 0

    data = await (await http.get(f"/console/api/analytics?days={DAYS}", headers=AUTH)).json()
    assert {p["product"]: p["questions"] for p in data["products"]} == {"lumen-lamp": 3, "summit-bottle": 1}


async def test_charts_are_pictures_drawn_on_the_server(http: TestClient[Any, Any]) -> None:
    png = await http.get(f"/console/api/charts/products.png?days={DAYS}", headers=AUTH)
    assert png.status == 200 and png.content_type == "image/png"
    picture = cv2.imdecode(np.frombuffer(await png.read(), np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape[1] >= 400 and picture.std() > 10, "a drawn chart"
    svg = await http.get(f"/console/api/charts/viewers.svg?days={DAYS}", headers=AUTH)
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    assert b"<svg" in await svg.read()


BAD_REQUESTS = [
    ("/console/api/charts/nope.png", 404),
    ("/console/api/charts/products.gif", 404),
    ("/console/api/charts/products.png?days=abc", 400),
    ("/console/api/charts/products.svg?days=0", 400),
    ("/console/api/report/nope.csv", 404),
    ("/console/api/report/products.csv?days=-1", 400),
    ("/console/api/report/comments.csv?days=1e9", 400),
]


async def test_bad_requests_get_a_4xx_and_the_reports_need_the_operator(http: TestClient[Any, Any]) -> None:
    for path, status in BAD_REQUESTS:
        assert (await http.get(path, headers=AUTH)).status == status, path
    for path in ("/console/api/charts/products.png", "/console/api/report/products.csv"):
        assert (await http.get(path)).status == 401
        assert (await http.get(path, headers={"Authorization": "Bearer wrong-token"})).status == 401

"""``GET /snapshot.png``: the picture viewers see right now, as a PNG an operator can open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import av
import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from avatar.brain.scene import load_scene
from avatar.config import Settings
from avatar.media.playout import Playout
from avatar.modes.live import LiveShow
from avatar.render.compositor import Renderer
from avatar.render.frame import FrameState
from avatar.render.snapshot import video_frame_png
from avatar.web.app import create_app
from tests.fakes import DEMO_SCENE, FakeTTSEngine, fake_speaker, wait_until


def decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "a PNG that decodes"
    return np.asarray(image)


def test_a_published_frame_comes_back_as_the_picture_drawn() -> None:
    renderer = Renderer(640, 360)
    state = FrameState(t=1.0, mouth_open=0.4, eyes_closed=0.0, caption="snapshot", product=None, title="Mia")
    frame = av.VideoFrame.from_ndarray(renderer.render_i420(state), format="yuv420p")
    data = video_frame_png(frame)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    picture = decode(data)
    assert picture.shape == (360, 640, 3)
    # Through 4:2:0 and back: the same picture, give or take chroma subsampling.
    diff = np.abs(picture.astype(np.int32) - renderer.render(state).astype(np.int32))
    assert diff.mean() < 3.0


def test_other_pixel_formats_are_converted() -> None:
    rgb = np.zeros((90, 160, 3), np.uint8)
    rgb[:, :, 0] = 255  # red in RGB
    picture = decode(video_frame_png(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
    assert tuple(picture[45, 80]) == (0, 0, 255)  # red in BGR


@pytest.fixture
async def client() -> AsyncIterator[tuple[TestClient[Any, Any], LiveShow]]:
    scene = load_scene(DEMO_SCENE)
    engine = FakeTTSEngine(seconds_per_char=0.003, delay_s=0.005)
    show = LiveShow(scene, Settings(scene=DEMO_SCENE), speaker=fake_speaker(Playout(), engine))
    test_client: TestClient[Any, Any] = TestClient(TestServer(create_app(show), host="127.0.0.1", port=0))
    await test_client.start_server()
    try:
        yield test_client, show
    finally:
        await test_client.close()


async def test_snapshot_is_the_current_frame(client: tuple[TestClient[Any, Any], LiveShow]) -> None:
    http, show = client
    await wait_until(lambda: show.broadcaster.last_video is not None, 3, "a first frame")
    response = await http.get("/snapshot.png")
    assert response.status == 200
    assert response.content_type == "image/png"
    assert response.headers["Cache-Control"] == "no-store"
    picture = decode(await response.read())
    assert picture.shape == (show.settings.height, show.settings.width, 3)
    assert picture.std() > 10, "a real picture, not a blank"


async def test_snapshot_before_the_first_frame_is_503(
    client: tuple[TestClient[Any, Any], LiveShow], monkeypatch: pytest.MonkeyPatch
) -> None:
    http, show = client
    # As in the first milliseconds of a show: nothing published yet.
    monkeypatch.setattr(show.broadcaster, "publish_video", lambda frame: None)
    show.broadcaster.last_video = None
    response = await http.get("/snapshot.png")
    assert response.status == 503
    body = await response.json()
    assert "frame" in body["error"]

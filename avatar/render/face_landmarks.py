"""Face landmarks of a portrait, found once with MediaPipe's bundled face mesh and kept on disk.

The photo presenter needs where the lips, eyelids and jaw are in its picture. MediaPipe's face
mesh (``mediapipe.solutions.face_mesh``, whose .tflite models ship inside the wheel, so it runs
offline) gives 478 points (468 mesh points and 10 iris points). Finding them takes a second and
pulls in TensorFlow Lite, so the result is cached under ``cache_dir("faces")``, keyed by a hash of
the picture's bytes: later starts read a small .npy file instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from avatar.paths import cache_dir

log = logging.getLogger(__name__)

Points = npt.NDArray[np.float32]
"""(N, 2) pixel coordinates x, y in the portrait."""

MESH_POINTS: Final[int] = 468
"""The face mesh proper; the refined model adds 10 iris points after them."""
MIN_DETECTION_CONFIDENCE: Final[float] = 0.5

# Indices into the MediaPipe face mesh (canonical face model topology). "right"/"left" are the
# person's own sides: their right eye is on the image's left.
LIPS_UPPER_INNER: Final[tuple[int, ...]] = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_LOWER_INNER: Final[tuple[int, ...]] = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
LIPS_UPPER_OUTER: Final[tuple[int, ...]] = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_LOWER_OUTER: Final[tuple[int, ...]] = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
RIGHT_EYE_UPPER: Final[tuple[int, ...]] = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER: Final[tuple[int, ...]] = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER: Final[tuple[int, ...]] = (362, 398, 384, 385, 386, 387, 388, 466, 263)
LEFT_EYE_LOWER: Final[tuple[int, ...]] = (362, 382, 381, 380, 374, 373, 390, 249, 263)
RIGHT_BROW_LOWER: Final[tuple[int, ...]] = (46, 53, 52, 65, 55)
LEFT_BROW_LOWER: Final[tuple[int, ...]] = (285, 295, 282, 283, 276)
FOREHEAD: Final[int] = 10
CHIN: Final[int] = 152
FACE_OVAL: Final[tuple[int, ...]] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip


class PortraitError(ValueError):
    """A portrait that cannot be animated: missing, unreadable, or with no face found in it."""


def read_portrait(path: Path, max_bytes: int = 32 * 1024 * 1024) -> npt.NDArray[np.uint8]:
    """The picture at ``path`` as BGR, or :class:`PortraitError` saying what is wrong with it."""
    import cv2

    if not path.is_file():
        raise PortraitError(f"portrait {path} not found")
    if path.stat().st_size > max_bytes:
        raise PortraitError(f"portrait {path} is larger than {max_bytes // (1024 * 1024)} MB")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise PortraitError(f"portrait {path} is not a picture OpenCV can read")
    return np.asarray(image, np.uint8)


def face_landmarks(path: Path) -> Points:
    """The 478 face mesh points of the one face in the portrait at ``path``, in its pixels.

    Cached on disk by the picture's content. Raises :class:`PortraitError` for a missing or
    unreadable picture, a picture with no face, or when MediaPipe is not installed.
    """
    image = read_portrait(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:24]
    cached = cache_dir("faces") / f"{digest}.npy"
    if cached.is_file():
        points = np.load(cached)
        if points.ndim == 2 and points.shape[0] >= MESH_POINTS and points.shape[1] == 2:
            return np.asarray(points, np.float32)
    points = detect_landmarks(image, str(path))
    partial = cached.with_name(f"{cached.stem}.{os.getpid()}.part.npy")
    np.save(partial, points)
    partial.replace(cached)  # atomic: a second process never reads half a file
    return points


def detect_landmarks(image: npt.NDArray[np.uint8], what: str = "portrait") -> Points:
    """Run MediaPipe's face mesh (refined: with irises) on a BGR picture; pixel coordinates."""
    import cv2

    try:
        from mediapipe.python.solutions import face_mesh
    except ImportError as error:
        raise PortraitError(f"mediapipe is not installed, cannot find the face in {what}") from error
    with face_mesh.FaceMesh(
        static_image_mode=True,
        max_num_faces=1,
        refine_landmarks=True,
        min_detection_confidence=MIN_DETECTION_CONFIDENCE,
    ) as mesh:
        result = mesh.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    faces = getattr(result, "multi_face_landmarks", None)
    if not faces:
        raise PortraitError(f"no face found in {what}")
    h, w = image.shape[:2]
    points = np.array([(p.x * w, p.y * h) for p in faces[0].landmark], np.float32)
    log.info("found %d face landmarks in %s", len(points), what)
    return points

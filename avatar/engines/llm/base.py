"""What every language model engine takes and returns: chat messages in, text (streamed) out.

The brain never asks a model for facts (DESIGN §4): it hands the model an answer plan built from
the catalog and checks every sentence that comes back (:mod:`avatar.brain.phrasing`). Engines only
run models. Two kinds exist: in-process (:mod:`avatar.engines.llm.transformers_engine`) and an
OpenAI-compatible server (:mod:`avatar.engines.llm.openai_engine`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

__all__ = [
    "SENTENCE_DONE",
    "Delta",
    "LLMEngine",
    "LLMError",
    "Message",
    "ToolCall",
    "first_sentence_done",
    "first_sentence_end",
    "sentence_ends",
]

Message = dict[str, Any]
"""One chat message: ``{"role": "system" | "user" | "assistant" | "tool", "content": text, ...}``."""


class LLMError(RuntimeError):
    """A model could not be loaded or did not answer (HTTP error, malformed reply, dropped stream)."""


@dataclass(frozen=True)
class ToolCall:
    """A function the model asked for: its call id, name and JSON arguments (parsed)."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Delta:
    """One piece of a streamed reply: new text, and/or the tool calls the reply ended with."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = field(default_factory=tuple)


class LLMEngine(Protocol):
    """A chat model. ``complete`` and ``stream`` are cancellable: cancelling stops the generation."""

    name: str
    supports_tools: bool
    """Whether the engine may be offered tools (function calling); else facts go in the prompt."""

    async def load(self) -> None:
        """Load the model or open the connection; raises :class:`LLMError` when it cannot."""
        ...

    async def complete(
        self, messages: list[Message], max_tokens: int, *, first_sentence: bool = False
    ) -> str:
        """The assistant's reply to ``messages``, at most ``max_tokens`` tokens.

        ``first_sentence``: the caller keeps only the first sentence, so an engine that streams may
        stop there (one that cannot returns the whole reply; the caller cuts it).
        """
        ...

    def stream(
        self, messages: list[Message], max_tokens: int, tools: list[dict[str, Any]] | None = None
    ) -> AsyncIterator[Delta]:
        """The reply as it is written. Raises :class:`LLMError` when the model fails mid-way."""
        ...

    def close(self) -> None:
        """Release threads and connections."""
        ...


SENTENCE_DONE: Final = re.compile(
    r"[.!?]+(?=\s)|[。！？]+|[!?]+$|(?<=\d[.,]\d\d)\.$"
    r"|(?<![.\s\d])(?<!\b[A-Za-z])(?<!\bMrs)(?<!\b(?:Mr|Ms|Dr|St|vs))\.+$"
)
"""An end of sentence: an end mark followed by a space, a Chinese end mark, or — where the text
so far stops on it — "!"/"?", or a full stop after a word or a price ("$39.99."). A full stop
after another number may be a decimal point ("4." of "4.6": wait for the next token), one after
an initial or a title an abbreviation ("U.", "Dr."). Every other end is seen on the token that
writes it, not one token later: a streamed sentence is checked and spoken a decode step sooner,
and a reply that ends there does not wait for its end-of-turn token."""
MIN_SENTENCE_CHARS: Final = {"latin": 12, "cjk": 5}
"""A shorter "sentence" ("Hey there!", "好的！") is an opener, not the answer: the first sentence
runs on to the next end (the speaker merges such fragments the same way)."""


def sentence_ends(text: str) -> list[int]:
    """Where the sentences of ``text`` (a reply so far) end; each is long enough to be spoken."""
    ends: list[int] = []
    start = 0
    for end in SENTENCE_DONE.finditer(text):
        latin = end.group()[0] in ".!?"
        if len(text[start : end.end()].strip()) >= MIN_SENTENCE_CHARS["latin" if latin else "cjk"]:
            ends.append(end.end())
            start = end.end()
    return ends


def first_sentence_end(text: str) -> int | None:
    """Where the first sentence of ``text`` (a model's reply so far) ends, or None while it runs."""
    ends = sentence_ends(text)
    return ends[0] if ends else None


def first_sentence_done(text: str) -> bool:
    """True once ``text`` (a model's reply so far) holds a whole first sentence."""
    return first_sentence_end(text.lstrip()) is not None

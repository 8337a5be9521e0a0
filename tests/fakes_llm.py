"""A scripted chat model for unit tests: replies from a function or a list, optionally slow or broken."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from avatar.engines.embed import Vectors
from avatar.engines.llm import Delta, LLMError, Message


class FakeLLM:
    """An :class:`~avatar.engines.llm.LLMEngine` whose replies are scripted.

    ``reply`` maps the user prompt (which contains the template answer) to the model's reply.
    ``delay_s`` makes each reply take that long on the event loop (a model too slow for the budget);
    ``fail_load`` makes ``load`` raise like a missing model.
    """

    def __init__(
        self,
        reply: Callable[[str], str] | str,
        *,
        delay_s: float = 0.0,
        fail_load: bool = False,
        name: str = "fake-llm",
    ) -> None:
        self.name = name
        self.supports_tools = False
        self.reply = reply
        self.delay_s = delay_s
        self.fail_load = fail_load
        self.prompts: list[list[Message]] = []
        self.first_sentence: list[bool] = []  # what each call asked for
        self.cancelled = 0
        self.closed = False

    async def load(self) -> None:
        if self.fail_load:
            raise LLMError("fake model missing")

    async def complete(
        self, messages: list[Message], max_tokens: int, *, first_sentence: bool = False
    ) -> str:
        self.prompts.append(messages)
        self.first_sentence.append(first_sentence)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        user = messages[-1]["content"]
        return self.reply(user) if callable(self.reply) else self.reply

    async def stream(
        self, messages: list[Message], max_tokens: int, tools: list[dict[str, Any]] | None = None
    ) -> AsyncIterator[Delta]:
        """The scripted reply a few characters at a time."""
        text = await self.complete(messages, max_tokens)
        for start in range(0, len(text), 8):
            yield Delta(text[start : start + 8])

    def close(self) -> None:
        self.closed = True


def template_of(prompt: str) -> str:
    """The template answer inside a phrasing prompt, or the plan's sentences inside a whole-answer
    prompt (:mod:`avatar.brain.wording`), joined."""
    if "\nPlan:\n" in prompt:
        plan = prompt.split("\nPlan:\n", 1)[1]
        sentences = [line[2:] for line in plan.splitlines() if line.startswith("- ")]
        return ("" if any("\u4e00" <= c <= "\u9fff" for c in plan) else " ").join(sentences)
    return prompt.split("Answer: ", 1)[1].split("\nReworded answer:", 1)[0]


class WordEmbedder:
    """Bag-of-words vectors: texts sharing their words are close, others are not."""

    name = "words"
    floor, ceil = 0.0, 1.0

    def queries(self, texts: list[str]) -> Vectors:
        rows = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9$.-]+|[\u3400-\u9fff]", text.lower()):
                rows[row, sum(map(ord, word.strip("."))) % 256] += 1.0
        norms = np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
        result: Vectors = rows / norms
        return result

    passages = queries

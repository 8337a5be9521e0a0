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
from avatar.engines.asr.factory import DEFAULT_ENGINE, DEFAULT_MODEL, load_asr
from avatar.engines.worker import ModelWorker
from avatar.listen.prompt import scene_prompt
from avatar.listen.vad import Samples, SileroVAD, SpeechDetector, Utterance, VADConfig, VADSegmenter
from avatar.media.audio import Pcm, Resampler

log = logging.getLogger(__name__)

INTERIM_EVERY_S: Final = 1.0
"""Seconds of speech between interim transcripts of the utterance being spoken."""
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

    @property
    def busy(self) -> bool:
        """A transcription is queued or running (interim transcripts skip a round then)."""
        ...

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

    @property
    def busy(self) -> bool:
        """The worker has a transcription queued or running."""
        return self.worker.busy

    @property
    def state(self) -> str:
        """For /healthz: "ready", "off" (it failed to load), "loading" or "idle" (not asked yet)."""
        if self._failed is not None:
            return "off"
        if self._engine is not None:
            return "ready"
        return "loading" if self.worker.busy else "idle"

    async def warm_up(self) -> bool:
        """Load the model and decode a moment of quiet now, so the first question does not pay for
        it; False when the model cannot load (the show goes on without speech recognition)."""
        await self.transcribe(np.zeros(SAMPLE_RATE_HZ // 2, np.float32))
        return self._failed is None

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

    Callbacks (all on the event loop):

    - ``on_interim(text)``: ``""`` when speech starts, then the text so far about every
      ``interim_every_s`` of speech (run on the shared recogniser only when it is idle, so finals
      never queue behind interims);
    - ``on_speech_start()``: once per utterance, when it has ``min_speech_s`` of speech (a person is
      talking, not a cough): the studio's co-host barges in here;
    - ``on_final(text)``: each non-empty final transcript;
    - ``on_done()``: an utterance that started is finished with (transcribed, empty or dropped).

    :meth:`feed` is synchronous and cheap (resampling and a tiny VAD model), so a media loop can call
    it per frame; ASR runs in the listener's tasks.
    """

    def __init__(
        self,
        asr: Transcriber,
        *,
        on_final: Callable[[str], None],
        on_interim: Callable[[str], None] | None = None,
        on_speech_start: Callable[[], None] | None = None,
        on_done: Callable[[], None] | None = None,
        detector: SpeechDetector | None = None,
        vad: VADConfig | None = None,
        max_waiting: int = MAX_WAITING_UTTERANCES,
        interim_every_s: float | None = INTERIM_EVERY_S,
    ) -> None:
        self.asr = asr
        self.on_final = on_final
        self.on_interim = on_interim
        self.on_speech_start = on_speech_start
        self.on_done = on_done
        self.interim_every_s = interim_every_s
        self.segmenter = VADSegmenter(detector if detector is not None else SileroVAD(), vad)
        self.dropped = 0
        self.transcribed = 0
        self.interims_run = 0
        self.interims_skipped = 0  # rounds skipped because the recogniser was busy
        self._resampler: Resampler | None = None
        self._queue: asyncio.Queue[Utterance] = asyncio.Queue(maxsize=max_waiting)
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._interim_task: asyncio.Task[None] | None = None
        self._announced = 0  # the utterance number whose start was reported
        self._interim_utterance = 0  # the utterance number the interim rounds below belong to
        self._interim_at_s = 0.0  # open-utterance length at its last interim round

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
        segmenter = self.segmenter
        was_speaking = segmenter.speaking
        for utterance in segmenter.feed(samples):
            self._enqueue(utterance)
        if segmenter.speaking and not was_speaking and self.on_interim is not None:
            self.on_interim("")
        if segmenter.confirmed and self._announced != segmenter.utterances_opened:
            self._announced = segmenter.utterances_opened
            if self.on_speech_start is not None:
                self.on_speech_start()
        self._maybe_interim()

    def end(self) -> None:
        """The stream ended: what was being said still gets transcribed."""
        utterance = self.segmenter.flush()
        if utterance is not None:
            self._enqueue(utterance)

    async def close(self) -> None:
        """Stop listening; a transcription in progress is abandoned."""
        tasks = [self._task, *([self._interim_task] if self._interim_task is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def drain(self) -> None:
        """Wait until every queued utterance has been transcribed (tests, benches)."""
        await self._queue.join()

    def _maybe_interim(self) -> None:
        segmenter = self.segmenter
        every = self.interim_every_s
        if every is None or self.on_interim is None or not segmenter.confirmed:
            return
        if self._interim_utterance != segmenter.utterances_opened:
            self._interim_utterance = segmenter.utterances_opened
            self._interim_at_s = 0.0
        if segmenter.open_seconds - self._interim_at_s < every:
            return
        if self._interim_task is not None or segmenter.in_silence:
            # one interim at a time; and in a pause the final may be moments away: it goes first
            return
        self._interim_at_s = segmenter.open_seconds
        if self.asr.busy:  # a final (maybe another person's) is being made: skip this round
            self.interims_skipped += 1
            return
        self.interims_run += 1
        self._interim_task = asyncio.get_running_loop().create_task(
            self._interim(segmenter.open_audio(), segmenter.utterances_opened)
        )

    async def _interim(self, audio: Samples, utterance: int) -> None:
        try:
            text = await self.asr.transcribe(audio)
        except Exception:  # an interim is a courtesy: a failure only means none is shown
            log.exception("interim transcription failed")
            text = ""
        finally:
            self._interim_task = None
        # Only while the same utterance is still being spoken: once it ended, its final is coming.
        still_open = self.segmenter.speaking and self.segmenter.utterances_opened == utterance
        if text and still_open and self.on_interim is not None:
            self.on_interim(text)

    def _enqueue(self, utterance: Utterance) -> None:
        try:
            self._queue.put_nowait(utterance)
        except asyncio.QueueFull:
            self.dropped += 1
            log.info("listener busy: dropped a %.1f s utterance", utterance.seconds)
            if self.on_done is not None:
                self.on_done()

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
            if self.on_done is not None:
                self.on_done()


def show_asr(catalog: Catalog, *, model: str = DEFAULT_MODEL, engine: str = DEFAULT_ENGINE) -> SharedASR:
    """The show's shared recogniser, biased to the catalog's product names; nothing loads yet."""
    language = None if model != DEFAULT_MODEL and not model.endswith(".en") else "en"
    return SharedASR(
        lambda: load_asr(model, engine=engine),
        prompt=scene_prompt(catalog, language) or None,
        language=language,
    )

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
from dataclasses import dataclass
from typing import Final, Protocol

import av
import numpy as np

from avatar.brain.catalog import Catalog
from avatar.engines.asr.base import SAMPLE_RATE_HZ, ASREngine, ASRError
from avatar.engines.asr.factory import DEFAULT_ENGINE, DEFAULT_MODEL, load_asr
from avatar.engines.asr.options import DecodeOptions
from avatar.engines.worker import ModelWorker
from avatar.listen.endpoint import Endpointing
from avatar.listen.prompt import scene_prompt
from avatar.listen.vad import (
    WINDOW_SECONDS,
    Samples,
    SileroVAD,
    SpeechDetector,
    Utterance,
    VADConfig,
    VADSegmenter,
)
from avatar.media.audio import Pcm, Resampler

log = logging.getLogger(__name__)

INTERIM_EVERY_S: Final = 1.0
"""Seconds of speech between interim transcripts of the utterance being spoken."""
MAX_MERGED_S: Final = 8.0
"""A turn this long is not continued by what follows a short pause (see ``Listener._continues``)."""
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


@dataclass(eq=False)
class _Heard:
    """An interim decode of the open utterance and how far into the stream its audio went."""

    utterance: int  # the segmenter's number of the utterance it belongs to
    seen: int  # windows of the stream decided when its audio was taken
    task: asyncio.Task[str]
    verdict: str | None = None  # "complete", "unfinished" or "open": what its text says, asked once

    def covers(self, segmenter: VADSegmenter, utterance: int) -> bool:
        """Its audio holds every speech window of ``utterance`` (only silence came after)."""
        return self.utterance == utterance and self.seen > segmenter.last_speech_window

    def text(self) -> str | None:
        """Its transcript once decoded (None while decoding)."""
        return self.task.result() if self.task.done() and not self.task.cancelled() else None


@dataclass(eq=False)
class _Turn:
    """An utterance on its way to its final transcript."""

    audio: Samples
    heard: _Heard | None  # an interim whose audio holds all its speech: that text is its final
    quick: bool  # ended early on its words (a short pause after a complete question)
    last_speech_window: int  # stream window index of its last word
    prefix: str = ""  # the text of the withdrawn first part it continues
    text: str = ""  # its final transcript, once made
    delivered: bool = False  # on_final was called with it
    withdrawn: bool = False  # the speaker went on: this part is merged into the next


class Listener:
    """Listens to one stream: resample -> VAD -> ASR, reporting speech and transcripts.

    Callbacks (all on the event loop):

    - ``on_interim(text)``: ``""`` when speech starts, then the text so far about every
      ``interim_every_s`` of speech and, with ``endpointing``, when a pause begins (run on the
      shared recogniser only when it is idle, so finals never queue behind interims);
    - ``on_speech_start()``: once per utterance, when it has ``min_speech_s`` of speech (a person is
      talking, not a cough): the studio's co-host barges in here;
    - ``on_final(text)``: each non-empty final transcript;
    - ``on_retract(text)``: a final already given was only the first part of the turn (it ended
      early on its words and the speaker went on): whatever was started for it should stop; the
      whole turn comes as a new ``on_final``;
    - ``on_end_of_turn(quick)``: an utterance ended and goes to the recogniser (``quick``: early,
      on its words); for benches;
    - ``on_done()``: an utterance that started is finished with (transcribed, empty or dropped).

    With ``endpointing`` (:mod:`avatar.listen.endpoint`) the words decide with the silence: what
    was said is decoded when a pause begins; a complete question ends the turn after a short
    silence, words that stop mid-phrase hold it open longer, and the turn never ends while that
    decode runs (the final is that decode, reused, so waiting for it costs nothing). Speech again
    soon after a turn ended is the same turn: the first part is withdrawn (``on_retract``) and both
    are transcribed together. Without it, turns end on silence alone, as before.

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
        on_retract: Callable[[str], None] | None = None,
        on_end_of_turn: Callable[[bool], None] | None = None,
        detector: SpeechDetector | None = None,
        vad: VADConfig | None = None,
        endpointing: Endpointing | None = None,
        max_waiting: int = MAX_WAITING_UTTERANCES,
        interim_every_s: float | None = INTERIM_EVERY_S,
    ) -> None:
        self.asr = asr
        self.on_final = on_final
        self.on_interim = on_interim
        self.on_speech_start = on_speech_start
        self.on_done = on_done
        self.on_retract = on_retract
        self.on_end_of_turn = on_end_of_turn
        self.endpointing = endpointing
        self.interim_every_s = interim_every_s
        self.segmenter = VADSegmenter(detector if detector is not None else SileroVAD(), vad)
        self.dropped = 0
        self.transcribed = 0
        self.interims_run = 0
        self.interims_skipped = 0  # rounds skipped because the recogniser was busy
        self.pause_decodes = 0  # interims decoded when a pause began
        self.quick_ends = 0  # turns ended early on their words
        self.reused = 0  # finals that were an interim's text (no second decode)
        self.merges = 0  # early ends the speaker went on after: merged with what followed
        self._resampler: Resampler | None = None
        self._queue: asyncio.Queue[_Turn] = asyncio.Queue(maxsize=max_waiting)
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._interim_task: asyncio.Task[str] | None = None
        self._heard: _Heard | None = None  # the latest interim decode launched
        self._announced = 0  # the utterance number whose start was reported
        self._interim_utterance = 0  # the utterance number the interim rounds below belong to
        self._interim_at_s = 0.0  # open-utterance length at its last interim round
        self._last_turn: _Turn | None = None  # the last turn ended (a close continuation merges)
        self._merge: tuple[int, _Turn] | None = None  # (utterance, the turn it continues)
        if endpointing is not None:
            self.segmenter.may_end = self._may_end

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
            self._end_turn(utterance, quick=False)
        if segmenter.speaking and not was_speaking and self.on_interim is not None:
            self.on_interim("")
        if segmenter.confirmed and self._announced != segmenter.utterances_opened:
            self._announced = segmenter.utterances_opened
            self._continues()
            if self.on_speech_start is not None:
                self.on_speech_start()
        self._maybe_interim()
        self._maybe_end_early()

    def end(self) -> None:
        """The stream ended: what was being said still gets transcribed."""
        utterance = self.segmenter.flush()
        if utterance is not None:
            self._end_turn(utterance, quick=False)

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

    # -- interims ---------------------------------------------------------------------------------
    def _maybe_interim(self) -> None:
        segmenter = self.segmenter
        if not segmenter.confirmed:
            return
        endpointing = self.endpointing
        if endpointing is not None and segmenter.in_silence:
            # A pause began: what was said so far decides whether the turn may end early, and is
            # the final itself if only silence follows. Decoded even when the recogniser is busy
            # (it queues): this is the final's decode, started early.
            heard = self._heard
            if segmenter.silent_seconds < endpointing.pause_decode_s:
                return
            if heard is not None and heard.covers(segmenter, segmenter.utterances_opened):
                return
            self._drop_stale_interim()
            self.pause_decodes += 1
            self._launch_interim()
            return
        if self._interim_task is not None:
            return  # one interim at a time
        every = self.interim_every_s
        if every is None or self.on_interim is None:
            return
        if self._interim_utterance != segmenter.utterances_opened:
            self._interim_utterance = segmenter.utterances_opened
            self._interim_at_s = 0.0
        if segmenter.open_seconds - self._interim_at_s < every:
            return
        if segmenter.in_silence:
            return  # in a pause the final may be moments away: it goes first
        self._interim_at_s = segmenter.open_seconds
        if self.asr.busy:  # a final (maybe another person's) is being made: skip this round
            self.interims_skipped += 1
            return
        self.interims_run += 1
        self._launch_interim()

    def _drop_stale_interim(self) -> None:
        """Cancel an interim whose audio no longer holds all that was said: its decode, if it has
        not started, would only delay the one that matters now (a slow, busy recogniser)."""
        task = self._interim_task
        if task is not None:
            task.cancel()
            self._interim_task = None

    def _launch_interim(self) -> None:
        segmenter = self.segmenter
        task = asyncio.get_running_loop().create_task(self._interim(segmenter.open_audio()))
        self._interim_task = task
        self._heard = _Heard(segmenter.utterances_opened, segmenter.windows_seen, task)
        task.add_done_callback(lambda _: self._interim_done(task))

    async def _interim(self, audio: Samples) -> str:
        try:
            return await self.asr.transcribe(audio)
        except Exception:  # an interim is a courtesy: a failure only means none is shown
            log.exception("interim transcription failed")
            return ""

    def _interim_done(self, task: asyncio.Task[str]) -> None:
        if self._interim_task is task:
            self._interim_task = None
        heard = self._heard
        if task.cancelled() or heard is None or heard.task is not task:
            return
        # Only while the same utterance is still being spoken: once it ended, its final is coming.
        text = task.result()
        still_open = self.segmenter.speaking and self.segmenter.utterances_opened == heard.utterance
        if text and still_open and self.on_interim is not None:
            self.on_interim(text)

    # -- ends of turns ----------------------------------------------------------------------------
    def _maybe_end_early(self) -> None:
        """End the open turn now if its latest interim is a complete question and only a short
        silence followed it."""
        endpointing, segmenter = self.endpointing, self.segmenter
        if endpointing is None or not segmenter.confirmed:
            return
        if segmenter.silent_seconds < endpointing.quick_silence_s:
            return
        if self._verdict() != "complete":
            return
        utterance = segmenter.cut()
        if utterance is not None:
            self.quick_ends += 1
            self._end_turn(utterance, quick=True)

    def _may_end(self, silent_s: float) -> bool:
        """Asked by the segmenter once the silence could end the turn: not while the pause's decode
        (which will be the final) is still running, nor while the words stop mid-phrase, up to
        ``hold_silence_s``; otherwise yes, as on silence alone."""
        endpointing = self.endpointing
        if endpointing is None or silent_s >= endpointing.hold_silence_s:
            return True
        heard = self._heard
        if heard is None or not heard.covers(self.segmenter, self.segmenter.utterances_opened):
            return True  # nothing decoded this pause: the final is decoded after the end, as before
        # Still decoding: end as on silence alone (the final reuses that decode). Waiting for it
        # on a busy recogniser let talk that resumes within the hold grow one turn without end.
        return self._verdict() != "unfinished"

    def _verdict(self) -> str | None:
        """What the latest interim of the open utterance says, when it covers all its speech and
        is decoded: "complete" (a whole question), "unfinished" (stops mid-phrase) or "open"."""
        endpointing, heard = self.endpointing, self._heard
        if endpointing is None or heard is None:
            return None
        if not heard.covers(self.segmenter, self.segmenter.utterances_opened):
            return None
        if heard.verdict is None:
            text = heard.text()
            if text is None:
                return None
            whole = _joined(self._merge_prefix(), text)
            if endpointing.unfinished(text):
                heard.verdict = "unfinished"
            elif text and endpointing.complete(whole):
                heard.verdict = "complete"
            else:
                heard.verdict = "open"
        return heard.verdict

    def _merge_prefix(self) -> str:
        merge = self._merge
        if merge is None or merge[0] != self.segmenter.utterances_opened:
            return ""
        return merge[1].text

    def _continues(self) -> None:
        """A new utterance was confirmed: if its first word follows the last turn's last word
        closely, it is the same turn (the end was a pause): the first part is withdrawn and merged
        into this one."""
        previous, self._last_turn = self._last_turn, None
        endpointing, segmenter = self.endpointing, self.segmenter
        if endpointing is None or previous is None:
            return
        gap_s = (segmenter.open_speech_window - previous.last_speech_window - 1) * WINDOW_SECONDS
        if gap_s > endpointing.resume_window_s:
            return
        if previous.audio.size >= MAX_MERGED_S * SAMPLE_RATE_HZ:
            # Talk that never pauses long (a question said again and again, a TV in the room)
            # would otherwise merge forever and no question would ever stand: this one does.
            return
        self.merges += 1
        self._merge = (segmenter.utterances_opened, previous)
        log.info("the speaker went on after a %.2f s pause: merging the turn", gap_s)
        if previous.delivered:
            previous.withdrawn = True
            if self.on_retract is not None:
                self.on_retract(previous.text)
        else:
            previous.withdrawn = True  # its final, when made, is not given

    def _end_turn(self, utterance: Utterance, *, quick: bool) -> None:
        segmenter = self.segmenter
        number = segmenter.utterances_opened - (1 if segmenter.speaking else 0)
        heard = self._heard
        turn = _Turn(
            utterance.audio,
            heard if heard is not None and heard.covers(segmenter, number) else None,
            quick,
            segmenter.last_speech_window,
        )
        if self.endpointing is not None and turn.heard is None:
            self._drop_stale_interim()  # the final decodes it all: it goes first
        elif turn.heard is not None and self._interim_task is turn.heard.task:
            # That decode is this turn's final now: a later pause must not cancel it as stale.
            self._interim_task = None
        merge = self._merge
        if merge is not None and merge[0] == number:
            self._merge = None
            first = merge[1]
            max_samples = segmenter.config.max_utterance_s * SAMPLE_RATE_HZ
            if first.audio.size + turn.audio.size <= max_samples:
                # Both parts decoded together: the recogniser hears the sentence whole.
                audio = np.concatenate([first.audio, turn.audio])
                turn = _Turn(audio, None, quick, turn.last_speech_window)
                turn.prefix = first.text
        self._last_turn = turn
        if self.on_end_of_turn is not None:
            self.on_end_of_turn(quick)
        try:
            self._queue.put_nowait(turn)
        except asyncio.QueueFull:
            self.dropped += 1
            log.info("listener busy: dropped a %.1f s utterance", utterance.seconds)
            if self.on_done is not None:
                self.on_done()

    async def _run(self) -> None:
        while True:
            turn = await self._queue.get()
            try:
                text = await self._transcribe(turn)
            except Exception:  # a failing model must not end the listener, let alone the show
                log.exception("transcription failed")
                text = ""
            finally:
                self._queue.task_done()
            self.transcribed += 1
            turn.text = text
            if text and not turn.withdrawn:
                turn.delivered = True
                self.on_final(text)
            if self.on_done is not None:
                self.on_done()

    async def _transcribe(self, turn: _Turn) -> str:
        if turn.heard is not None and not turn.heard.task.cancelled():
            try:
                # Already decoded, or being decoded: not twice. Shielded: if that decode is
                # cancelled after all, the turn is decoded here, and this loop lives on.
                text = await asyncio.shield(turn.heard.task)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # the listener itself is closing
                text = ""
            if text:
                self.reused += 1
                return text
        return await self.asr.transcribe(turn.audio)


def _joined(first: str, second: str) -> str:
    return f"{first} {second}" if first and second else first or second


def show_asr(
    catalog: Catalog,
    *,
    model: str = DEFAULT_MODEL,
    engine: str = DEFAULT_ENGINE,
    options: DecodeOptions | None = None,
    spoken: str | None = None,
) -> SharedASR:
    """The show's shared recogniser, biased to the catalog's product names; nothing loads yet.

    ``spoken``: the show's language. A multilingual model is told "zh" in a Chinese show (left to
    guess, ``base`` once took a Mandarin question for Thai) and guesses in any other."""
    if model == DEFAULT_MODEL or model.endswith(".en"):
        language: str | None = "en"
    else:
        language = "zh" if spoken == "zh" else None
    return SharedASR(
        lambda: load_asr(model, engine=engine, options=options),
        prompt=scene_prompt(catalog, language) or None,
        language=language,
    )

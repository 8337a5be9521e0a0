"""Listening latency and false cut-offs for ``avatar bench``: a spoken question -> first answer audio.

The spoken clips in ``tests/data`` go through a real :class:`Listener` (Silero VAD with the studio
co-host's end-of-turn pause, interim transcripts on, the show's recogniser on its worker thread) as
20 ms frames at 48 kHz, **in real time**: endpointing on words races the recogniser against the
pause, so only a real-time feed times it honestly. Each question is run in each mode in turn, in the
same process: ``silence`` (the turn ends on the VAD's pause alone), ``words`` (a complete question
ends it after a short pause: :mod:`avatar.listen.endpoint`) and ``words-30s`` (the same, with the
recogniser's encoder on Whisper's full 30 s window instead of a short one: the show before
:attr:`~avatar.engines.asr.options.DecodeOptions.window_s`, for a side-by-side comparison).

The time from the end of speech to the first answer audio is split into its parts:

- ``endpoint_ms``: last word -> the turn ends (wall time, from the frame that carried the last word);
- ``asr_final_ms``: turn ended -> final transcript (about 0 when the pause's interim is reused);
- ``understanding_ms``: the brain's answer to the transcript (on a worker, as the show runs it);
- ``first_tts_ms``: the scene's voice synthesising the answer's first piece (render cache off);
- ``playout_ms``: that audio queued -> the playout starts playing it (a 20 ms programme pump).

The clips with mid-sentence pauses (``tests/data/pauses``, see ``scripts/make_pause_clips.py``)
measure false cut-offs (with the plain clips): a turn that ended before the speaker's last word, and
how many of those left a half question answered (not withdrawn and merged).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from avatar.brain.brain import Brain
from avatar.brain.scene import Scene
from avatar.engines.asr.audio_file import read_audio
from avatar.engines.asr.factory import DEFAULT_ENGINE, DEFAULT_MODEL
from avatar.engines.asr.options import SHORT_WINDOW_S, DecodeOptions
from avatar.engines.tts.voices import load_voice
from avatar.engines.worker import ModelWorker
from avatar.listen.endpoint import Endpointing, catalog_endpointing
from avatar.listen.listener import Listener, SharedASR, show_asr
from avatar.listen.vad import COHOST_VAD, Samples, VADConfig
from avatar.media.audio import CHUNK_SAMPLES
from avatar.media.audio import SAMPLE_RATE_HZ as PLAYOUT_RATE_HZ
from avatar.media.playout import Playout
from avatar.speaker import Speaker, Voice

CLIPS = ("en_lamp_price", "en_bottle_stock", "en_backpack_discount", "en_buds_battery", "en_coffee_price")
PAUSE_CLIPS_DIR: Final = "pauses"
MODES: Final = ("silence", "words", "words-30s")
FRAME_S: Final = 0.02  # what a WebRTC audio track delivers
TAIL_S: Final = 1.0  # silence fed after a plain clip (the turn must end in it)


@dataclass
class _Events:
    """What one clip's listener did, in stream seconds and wall time (perf_counter)."""

    ends: list[tuple[float, float, bool]] = field(default_factory=list)  # (stream s, wall, quick)
    finals: list[tuple[float, str]] = field(default_factory=list)  # (wall, text), in order
    retracted: list[str] = field(default_factory=list)
    fed_wall: list[float] = field(default_factory=list)  # wall time each frame was fed

    def kept(self) -> list[tuple[float, str]]:
        """The finals not withdrawn (a retraction takes back the latest final with its text)."""
        kept = list(self.finals)
        for text in self.retracted:
            for index in range(len(kept) - 1, -1, -1):
                if kept[index][1] == text:
                    del kept[index]
                    break
        return kept


@dataclass(frozen=True)
class _Timing:
    """One spoken question's way to its first answer audio, in milliseconds."""

    endpoint_ms: float
    asr_final_ms: float
    understanding_ms: float | None
    first_tts_ms: float | None
    playout_ms: float | None
    quick: bool  # the turn ended early on its words
    text: str
    cached: bool = False  # the answer came from an answer cache (none yet: always False)

    @property
    def total_ms(self) -> float | None:
        parts = (self.understanding_ms, self.first_tts_ms, self.playout_ms)
        if any(part is None for part in parts):
            return None
        return self.endpoint_ms + self.asr_final_ms + sum(p for p in parts if p is not None)


class _AnswerPath:
    """The show's answer to a transcript up to its first audio on the playout: the catalog answer,
    then a real :class:`Speaker` saying it onto a :class:`Playout` pumped every 20 ms."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.answers = Brain(scene)
        self.brain = ModelWorker("bench-brain")
        self.voice = Voice(load_voice(scene.voice), cache=False)
        self.playout = Playout(on_start=self._on_start)
        self.speaker = Speaker(self.playout, {scene.language: self.voice})
        self.speaker.on_synth = self._on_synth
        self.on_screen = scene.segments[0].product_id
        self._synth_s: list[float] = []
        self._started = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    def _on_synth(self, _voice: str, seconds: float, _error: BaseException | None) -> None:
        self._synth_s.append(seconds)

    def _on_start(self, _turn: int, _text: str) -> None:
        self._started.set()

    async def _run_pump(self) -> None:
        loop = asyncio.get_running_loop()
        tick_s = CHUNK_SAMPLES / PLAYOUT_RATE_HZ
        start, tick = loop.time(), 0
        while True:
            tick += 1
            await asyncio.sleep(max(0.0, start + tick * tick_s - loop.time()))
            self.playout.pull()

    async def warm_up(self) -> None:
        self._pump = asyncio.get_running_loop().create_task(self._run_pump())
        await self.voice.worker.run(self.voice.render_timed, "Hello there.")
        await self.brain.run(self.answers.respond, "hello", self.on_screen)

    async def first_audio(self, question: str) -> tuple[float, float, float, bool]:
        """(understanding, first TTS, playout) in ms for ``question``, and whether it was cached."""
        began = time.perf_counter()
        answer = await self.brain.run(self.answers.respond, question, self.on_screen)
        understood = time.perf_counter()
        self._synth_s.clear()
        self._started.clear()
        speaking = asyncio.get_running_loop().create_task(
            self.speaker.say(answer.text, language=answer.language)
        )
        await asyncio.wait_for(self._started.wait(), 30)
        on_air = time.perf_counter()
        self.speaker.interrupt()  # the first audio is what is timed: the rest need not play
        await speaking
        # A synthesis the interrupted line stopped waiting for finishes on the worker: let it, so
        # the next question's timing does not queue behind it.
        await self.voice.worker.run(lambda: None)
        tts_s = self._synth_s[0] if self._synth_s else 0.0
        understanding_ms = (understood - began) * 1000
        playout_ms = max(0.0, (on_air - understood) * 1000 - tts_s * 1000)
        return understanding_ms, tts_s * 1000, playout_ms, False

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        self.brain.close()
        self.speaker.close()


async def listen_in_real_time(
    asr: SharedASR, audio: Samples, vad: VADConfig, endpointing: Endpointing | None
) -> _Events:
    """Feed ``audio`` to a fresh listener as 20 ms frames at 48 kHz, paced by the wall clock, and
    note what it did (the stream is ended and drained after the audio)."""
    events = _Events()
    listener = Listener(
        asr,
        on_final=lambda text: events.finals.append((time.perf_counter(), text)),
        on_interim=lambda _text: None,  # interims on, as for a viewer's page
        on_retract=events.retracted.append,
        on_end_of_turn=lambda quick: events.ends.append(
            (len(events.fed_wall) * FRAME_S, time.perf_counter(), quick)
        ),
        vad=vad,
        endpointing=endpointing,
    )
    pcm = (np.repeat(audio, 3) * 32767).astype(np.int16)
    step = round(FRAME_S * 48_000)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        for index, offset in enumerate(range(0, pcm.size, step)):
            events.fed_wall.append(time.perf_counter())
            listener.feed(pcm[offset : offset + step], 48_000)
            await asyncio.sleep(max(0.0, started + (index + 1) * FRAME_S - loop.time()))
        listener.end()
        await listener.drain()
    finally:
        await listener.close()
    return events


def speech_spans(audio: Samples, floor: float = 0.01) -> list[tuple[float, float]]:
    """Where a plain clip's speech is, as one span from its first to its last audible sample (the
    clips are clean TTS: silence is digital)."""
    loud = np.flatnonzero(np.abs(audio) > floor)
    if not loud.size:
        return []
    return [(float(loud[0]) / 16_000, float(loud[-1] + 1) / 16_000)]


def _timing(events: _Events, speech_end_s: float) -> _Timing | None:
    """The question's endpoint and final transcript timings (None if nothing was heard)."""
    kept = events.kept()
    if not kept or not events.fed_wall:
        return None
    final_wall, text = kept[-1]
    ends = [end for end in events.ends if end[1] <= final_wall]
    if not ends:
        return None
    _, end_wall, quick = ends[-1]
    frame = min(len(events.fed_wall) - 1, int(speech_end_s / FRAME_S))
    speech_end_wall = events.fed_wall[frame] + (speech_end_s - frame * FRAME_S)
    return _Timing(
        endpoint_ms=max(0.0, end_wall - speech_end_wall) * 1000,
        asr_final_ms=(final_wall - end_wall) * 1000,
        understanding_ms=None,
        first_tts_ms=None,
        playout_ms=None,
        quick=quick,
        text=text,
    )


def _split(timings: list[_Timing]) -> dict[str, Any]:
    from avatar.bench import percentiles

    def of(values: list[float | None]) -> dict[str, float]:
        return percentiles([v for v in values if v is not None])

    return {
        "total_ms": of([t.total_ms for t in timings]),
        "endpoint_ms": of([t.endpoint_ms for t in timings]),
        "asr_final_ms": of([t.asr_final_ms for t in timings]),
        "understanding_ms": of([t.understanding_ms for t in timings]),
        "first_tts_ms": of([t.first_tts_ms for t in timings]),
        "playout_ms": of([t.playout_ms for t in timings]),
        "ended_on_words": sum(t.quick for t in timings),
    }


def load_pause_clips(data_dir: Path) -> dict[str, tuple[Samples, list[tuple[float, float]]]]:
    """The clips with mid-sentence pauses and the spans of their spoken parts (empty if none)."""
    folder = data_dir / PAUSE_CLIPS_DIR
    manifest = folder / "clips.json"
    if not manifest.is_file():
        return {}
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
        return {
            name: (read_audio(folder / f"{name}.flac"), [(float(a), float(b)) for a, b in entry["parts"]])
            for name, entry in entries.items()
        }
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{manifest}: {error}") from error


@dataclass(frozen=True)
class CutOff:
    """What one clip's turn-taking did to a question said in parts."""

    clip: str
    cut_off: bool  # a turn ended while the speaker was still going (before their last word)
    half_answered: bool  # ... and a final for the first part was left standing (not withdrawn)
    finals: tuple[str, ...]  # the finals that stood


def cut_off(clip: str, events: _Events, parts: list[tuple[float, float]]) -> CutOff:
    """Judge one clip: ``parts`` are the (start, end) seconds of what the speaker said."""
    last_word = parts[-1][1] if parts else 0.0
    cut = any(stream_s < last_word for stream_s, _, _ in events.ends)
    kept = events.kept()
    return CutOff(clip, cut, cut and len(kept) > 1, tuple(text for _, text in kept))


async def bench_listen(
    scene: Scene,
    data_dir: Path,
    *,
    rounds: int = 2,
    model: str = DEFAULT_MODEL,
    engine: str = DEFAULT_ENGINE,
    vad: VADConfig = COHOST_VAD,
    answers: bool = True,
    clips: tuple[str, ...] = CLIPS,
    modes: tuple[str, ...] = MODES,
    cutoffs: bool = True,
) -> dict[str, Any]:
    """Voice question latencies split into parts over ``rounds`` passes of the plain clips, and
    false cut-offs on the clips with pauses, for each of ``modes`` (see :data:`MODES`)."""
    from avatar.bench import percentiles

    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f"modes: {sorted(unknown)} unknown; choose from {', '.join(MODES)}")
    short = DecodeOptions(window_s=SHORT_WINDOW_S)
    shared = show_asr(scene.catalog, model=model, engine=engine, options=short, spoken=scene.language)
    # The same model with the encoder on the full 30 s window: what the show does by default.
    full = show_asr(
        scene.catalog, model=model, engine=engine, options=DecodeOptions(window_s=None), spoken=scene.language
    )
    recognisers = {mode: full if mode == "words-30s" else shared for mode in modes}
    path = _AnswerPath(scene) if answers else None
    endpointing = catalog_endpointing(lambda: scene.catalog)
    on_words = {mode: None if mode == "silence" else endpointing for mode in modes}
    load_started = time.perf_counter()
    await shared.warm_up()  # loads the model, as `avatar live` does at startup
    load_ms = (time.perf_counter() - load_started) * 1000
    plain = {clip: read_audio(data_dir / f"{clip}.wav") for clip in clips}
    for asr in {*recognisers.values()}:
        await asr.warm_up()
        await asr.transcribe(next(iter(plain.values())))  # warm-up decode
    if path is not None:
        await path.warm_up()
    timings: dict[str, list[_Timing]] = {mode: [] for mode in modes}
    texts: dict[str, dict[str, str]] = {mode: {} for mode in modes}
    judged: dict[str, list[CutOff]] = {mode: [] for mode in modes}
    try:
        for _ in range(rounds):
            for clip, audio in plain.items():
                fed = np.concatenate([audio, np.zeros(round(TAIL_S * 16_000), np.float32)])
                for mode in modes:  # interleaved: both modes see the same machine load
                    events = await listen_in_real_time(recognisers[mode], fed, vad, on_words[mode])
                    spans = speech_spans(audio)
                    judged[mode].append(cut_off(clip, events, spans))
                    timing = _timing(events, spans[-1][1] if spans else 0.0)
                    if timing is None:
                        continue
                    if path is not None:
                        understanding, tts, playout, cached = await path.first_audio(timing.text)
                        timing = _Timing(
                            timing.endpoint_ms,
                            timing.asr_final_ms,
                            understanding,
                            tts,
                            playout,
                            timing.quick,
                            timing.text,
                            cached,
                        )
                    timings[mode].append(timing)
                    texts[mode][clip] = timing.text
        pauses = load_pause_clips(data_dir) if cutoffs else {}
        paused_texts: dict[str, dict[str, list[str]]] = {mode: {} for mode in modes}
        for clip, (audio, parts) in pauses.items():
            for mode in modes:
                events = await listen_in_real_time(recognisers[mode], audio, vad, on_words[mode])
                result = cut_off(clip, events, parts)
                judged[mode].append(result)
                paused_texts[mode][clip] = list(result.finals)
    finally:
        shared.close()
        full.close()
        if path is not None:
            await path.close()
    report: dict[str, Any] = {
        "asr_load_ms": round(load_ms, 1),
        "asr_model": model,
        "asr_engine": engine,
        "asr_window_s": {mode: 30.0 if mode == "words-30s" else SHORT_WINDOW_S for mode in modes},
        "vad_min_silence_s": vad.min_silence_s,
        "quick_silence_s": endpointing.quick_silence_s,
        "voice_to_first_audio": {mode: _split(timings[mode]) for mode in modes},
        "false_cutoffs": {mode: _cutoff_report(judged[mode]) for mode in modes},
        "transcripts": texts,
    }
    if cutoffs:
        report["pause_clip_finals"] = paused_texts
    # What the show does now (words when measured): the keys earlier reports had.
    shown = "words" if "words" in modes else modes[0]
    chosen = timings[shown]
    to_final = [t.endpoint_ms + t.asr_final_ms for t in chosen]
    report["speech_end_to_final_transcript_ms"] = percentiles(to_final)
    report["vad_endpoint_ms"] = percentiles([t.endpoint_ms for t in chosen])
    report["asr_ms"] = percentiles([t.asr_final_ms for t in chosen])
    if path is not None:
        totals = [t.total_ms for t in chosen if t.total_ms is not None]
        report["speech_end_to_first_answer_audio_ms"] = percentiles(totals)
        report["voice"] = scene.voice
        report["target_first_answer_audio_ms"] = {"p50": 500, "p95": 800}
    return report


def _cutoff_report(results: list[CutOff]) -> dict[str, Any]:
    n = len(results)
    cut = [r.clip for r in results if r.cut_off]
    half = [r.clip for r in results if r.half_answered]
    return {
        "clips": n,
        "cut_off": len(cut),
        "cut_off_rate": round(len(cut) / n, 3) if n else float("nan"),
        "half_answered": len(half),
        "half_answered_rate": round(len(half) / n, 3) if n else float("nan"),
        "cut_clips": sorted(set(cut)),
        "half_answered_clips": sorted(set(half)),
    }

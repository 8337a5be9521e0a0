"""The audio playout: the programme's master clock.

Speech is queued here as whole utterances tagged with a turn id. The programme pump pulls exactly one
20 ms chunk per tick, and everything else (the mouth, the captions, "what was heard") is derived from
what has been pulled, so picture, captions and history can never run ahead of the sound.

Output contract (as in livekit agents): :meth:`Playout.enqueue` returns a future that resolves when
the utterance has been played (or dropped); :meth:`Playout.clear` drops what is buffered and reports
how much of each utterance was actually played.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from avatar.media.audio import CHUNK_SAMPLES, SAMPLE_RATE_HZ, Pcm, band_shares, loudness, silence

log = logging.getLogger(__name__)

# A cut mid-word clicks; fading the first few ms of what would have played makes it a soft stop.
FADE_OUT_SAMPLES = 240  # 5 ms at 48 kHz


@dataclass(frozen=True)
class Played:
    """How much of one queued utterance reached the audience."""

    turn_id: int
    text: str
    seconds: float  # played before it finished or was cleared
    duration: float  # its full length
    completed: bool


@dataclass(frozen=True)
class NowPlaying:
    """What the audience hears at the playhead (after the last pulled chunk)."""

    turn_id: int | None  # None while silent
    text: str  # text of the utterance playing ("" while silent)
    seconds_into: float  # seconds of that utterance already played
    level: float  # loudness of the last chunk, 0..1
    samples_played: int  # total samples pulled since start: the programme's audio pts
    bands: tuple[float, ...] = ()  # energy shares of the last chunk per VISEME_BANDS_HZ band (mouth shape)
    phoneme: str | None = None  # the phoneme at the playhead, when the voice engine gave timings


@dataclass
class _Utterance:
    pcm: Pcm
    turn_id: int
    text: str
    future: asyncio.Future[Played]
    position: int = 0  # samples already pulled
    started: bool = field(default=False)
    continues: bool = False  # the rest of the utterance before it: its start is not announced
    phoneme_starts: list[int] = field(default_factory=list)  # sample offsets, ascending
    phonemes: list[str] = field(default_factory=list)

    def phoneme_at(self, sample: int) -> str | None:
        """The phoneme sounding at ``sample`` of this utterance, if timings were given."""
        i = bisect.bisect_right(self.phoneme_starts, sample) - 1
        return self.phonemes[i] if i >= 0 else None

    def report(self, completed: bool) -> Played:
        return Played(
            turn_id=self.turn_id,
            text=self.text,
            seconds=self.position / SAMPLE_RATE_HZ,
            duration=self.pcm.size / SAMPLE_RATE_HZ,
            completed=completed,
        )


class Playout:
    """A bounded queue of utterances, drained 20 ms at a time by the programme pump.

    Not thread-safe: call it from the event loop only.
    """

    def __init__(
        self,
        *,
        chunk_samples: int = CHUNK_SAMPLES,
        on_start: Callable[[int, str], None] | None = None,
    ) -> None:
        self.chunk_samples = chunk_samples
        self.on_start = on_start  # called with (turn_id, text) when an utterance starts playing
        self._queue: collections.deque[_Utterance] = collections.deque()
        self._samples_played = 0
        self._level = 0.0
        self._bands: tuple[float, ...] = ()
        self._min_turn = 0  # audio of older turns is stale: refused on enqueue
        self._fade: Pcm = silence(0)
        self._current: _Utterance | None = None  # the utterance the last chunk came from

    # -- producer side ---------------------------------------------------------------------------
    def enqueue(
        self,
        pcm: Pcm,
        *,
        turn_id: int,
        text: str = "",
        phonemes: Sequence[tuple[float, str]] | None = None,
        continues: bool = False,
    ) -> asyncio.Future[Played]:
        """Queue one utterance (48 kHz mono int16); the future resolves once it is played or dropped.

        ``phonemes``: (start seconds into the utterance, phoneme) pairs, for voice engines that
        report their timing; the mouth then shapes each phoneme exactly instead of guessing it from
        the spectrum. ``continues``: this is the rest of the utterance queued before it (a long
        sentence synthesised in two pieces, with the same ``text``): ``on_start`` is not called
        again when it starts, so the caption stays up.
        """
        future: asyncio.Future[Played] = asyncio.get_running_loop().create_future()
        utterance = _Utterance(np.ascontiguousarray(pcm, dtype=np.int16), turn_id, text, future)
        utterance.continues = continues
        for start_s, phoneme in sorted(phonemes or (), key=lambda p: p[0]):
            utterance.phoneme_starts.append(round(start_s * SAMPLE_RATE_HZ))
            utterance.phonemes.append(phoneme)
        if turn_id < self._min_turn:
            future.set_result(utterance.report(completed=False))
            return future
        self._queue.append(utterance)
        return future

    @property
    def buffered_seconds(self) -> float:
        """Seconds of audio queued and not yet played."""
        remaining = sum(u.pcm.size - u.position for u in self._queue)
        return remaining / SAMPLE_RATE_HZ

    def clear(self, *, before_turn: int | None = None) -> list[Played]:
        """Drop everything buffered; reports each dropped utterance with what was heard of it.

        ``before_turn``: also refuse later enqueues of turns older than this (stale audio from a
        generation that is still finishing in a worker thread).
        """
        if before_turn is not None:
            self._min_turn = max(self._min_turn, before_turn)
        reports: list[Played] = []
        if self._queue and self._queue[0].position > 0:
            head = self._queue[0]
            tail = head.pcm[head.position : head.position + FADE_OUT_SAMPLES].astype(np.float32)
            ramp = np.linspace(1.0, 0.0, tail.size, dtype=np.float32)
            self._fade = (tail * ramp).astype(np.int16)
        while self._queue:
            utterance = self._queue.popleft()
            report = utterance.report(completed=False)
            reports.append(report)
            if not utterance.future.done():
                utterance.future.set_result(report)
        return reports

    def clear_after_current(self, *, before_turn: int | None = None) -> list[Played]:
        """Like :meth:`clear`, but the utterance already playing finishes first (a sentence
        boundary); reports the utterances dropped. Nothing playing: everything buffered is dropped."""
        if self._queue and self._queue[0].position > 0:
            head = self._queue.popleft()
            try:
                return self.clear(before_turn=before_turn)
            finally:
                self._queue.appendleft(head)
        return self.clear(before_turn=before_turn)

    # -- consumer side (the programme pump) ------------------------------------------------------
    def pull(self) -> Pcm:
        """The next chunk of the programme: queued speech, or silence when there is none."""
        out = np.zeros(self.chunk_samples, dtype=np.int16)
        filled = 0
        if self._fade.size:
            n = min(self._fade.size, self.chunk_samples)
            out[:n] = self._fade[:n]
            self._fade = self._fade[n:]
            filled = n
        current: _Utterance | None = None
        while filled < self.chunk_samples and self._queue:
            head = self._queue[0]
            if not head.started:
                head.started = True
                if self.on_start is not None and not head.continues:
                    self.on_start(head.turn_id, head.text)
            n = min(self.chunk_samples - filled, head.pcm.size - head.position)
            out[filled : filled + n] = head.pcm[head.position : head.position + n]
            head.position += n
            filled += n
            current = head
            if head.position >= head.pcm.size:
                self._queue.popleft()
                if not head.future.done():
                    head.future.set_result(head.report(completed=True))
        self._current = current
        self._samples_played += self.chunk_samples
        self._level = loudness(out)
        self._bands = band_shares(out) if self._level > 0.0 else ()
        return out

    @property
    def now_playing(self) -> NowPlaying:
        """The playhead: which turn and text the audience hears, and how loud."""
        current = self._current
        # The phoneme in the middle of the last chunk: the one the audience just heard.
        phoneme = current.phoneme_at(current.position - self.chunk_samples // 2) if current else None
        return NowPlaying(
            turn_id=current.turn_id if current else None,
            text=current.text if current else "",
            seconds_into=current.position / SAMPLE_RATE_HZ if current else 0.0,
            level=self._level,
            samples_played=self._samples_played,
            bands=self._bands,
            phoneme=phoneme,
        )

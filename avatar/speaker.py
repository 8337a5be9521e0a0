"""The speaker: text in, played audio out, sentence by sentence, interruptible.

It synthesises the first sentence, queues it on the playout, and makes the next one while the first
plays, never more than two sentences ahead (so an interruption throws little away). A long first
sentence is cut at its first clause boundary, so the audience hears the short clause sooner. A voice that
fails falls back to espeak-ng, and if that fails too the line is shown as captions only, paced as if
spoken, so the show goes on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from avatar.answer_cache import AnswerCache, PreparedLine
from avatar.engines.tts.base import PhonemeTimedEngine, TimedSpeech, TTSEngine
from avatar.engines.tts.text import CLAUSE_MARKS, normalise_for_speech, split_first_clause, split_sentences
from avatar.engines.tts.voices import VoiceSpec, build_engine
from avatar.engines.worker import ModelWorker
from avatar.media.audio import SAMPLE_RATE_HZ, Pcm, normalise_loudness, resample, silence
from avatar.media.playout import Played, Playout

log = logging.getLogger(__name__)

SENTENCES_AHEAD: Final = 2
# Pace of captions-only lines when no voice works: about 14 characters per second of speech.
CAPTION_ONLY_CHARS_PER_S: Final = 14.0
PAUSE_AFTER_SENTENCE_S: Final = 0.12
# A piece that ends at a comma: the voice already pauses briefly there; a short gap keeps the
# rhythm of one sentence.
PAUSE_AFTER_CLAUSE_S: Final = 0.04
# A first sentence longer than this is spoken clause first: synthesis time grows with the length,
# and about 60 characters (3-4 s of speech) renders in about 0.1 s with Piper on 2 cores.
FIRST_PIECE_MAX_CHARS: Final = 60
# Script lines come round again and again in a 24/7 show: keep their audio (48 kHz int16, about
# 100 kB per second of speech), bounded by count and by bytes, least recently used out first.
RENDER_CACHE_ENTRIES: Final = 256
RENDER_CACHE_BYTES: Final = 48 * 2**20


def line_pieces(text: str) -> list[str]:
    """The pieces :meth:`Speaker.say` synthesises ``text`` in: its sentences, the first one cut at
    its first clause when long (what is prepared ahead must be cut the same way to be found)."""
    pieces: list[str] = []
    for index, sentence in enumerate(split_sentences(text)):
        pieces += split_first_clause(sentence, FIRST_PIECE_MAX_CHARS) if index == 0 else [sentence]
    return pieces


def pause_after(piece: str) -> float:
    """Seconds of silence after a spoken piece: short after a clause, longer after a sentence."""
    return PAUSE_AFTER_CLAUSE_S if piece.rstrip()[-1:] in CLAUSE_MARKS else PAUSE_AFTER_SENTENCE_S


@dataclass(frozen=True)
class SpeechResult:
    """What happened to one line."""

    turn_id: int
    sentences: tuple[str, ...]
    played: tuple[Played, ...]  # one per piece that reached the playout
    interrupted: bool
    # Index into ``sentences`` of each played piece (a long first sentence is played in two);
    # empty: one piece per sentence.
    sentence_of: tuple[int, ...] = ()
    pieces: tuple[str, ...] = ()  # the text of each played piece; empty: the sentences
    prepared: bool = False  # its audio came from the answer cache (no synthesis waited for)

    @property
    def sentences_completed(self) -> int:
        """Sentences the audience heard to the end."""
        owners = self.sentence_of or tuple(range(len(self.played)))
        count = 0
        for index in range(len(self.sentences)):
            pieces = [report for report, owner in zip(self.played, owners, strict=True) if owner == index]
            if not pieces or not all(report.completed for report in pieces):
                break
            count += 1
        return count

    @property
    def heard_text(self) -> str:
        """The part of the line the audience heard: the pieces played to the end, then the words
        of the cut piece that went out before the cut."""
        return self._heard(range(len(self.played)))

    @property
    def cut(self) -> tuple[str, str] | None:
        """The sentence stopped part-way (it had started playing) and the part of it heard, if any."""
        owners = self.sentence_of or tuple(range(len(self.played)))
        for position, report in enumerate(self.played):
            if not report.completed and report.seconds > 0:
                sentence = owners[position]
                same = [i for i in range(position + 1) if owners[i] == sentence]
                return self.sentences[sentence], self._heard(same)
        return None

    def _heard(self, positions: Iterable[int]) -> str:
        texts = self.pieces or self.sentences
        heard = [heard_part(self.played[i], texts[i]) for i in positions]
        return " ".join(part for part in heard if part)


def heard_part(played: Played, text: str | None = None) -> str:
    """The words of a spoken piece that the audience heard before it was cut.

    Speech takes the piece's audio less the pause after it; the share played of that, applied to
    the text, is cut back to a word boundary (a character one for text written without spaces, such
    as Chinese), so a half-said word is not kept as said.
    """
    text = (played.text if text is None else text).strip()
    if played.completed:
        return text
    speech_s = max(played.duration - pause_after(text), 1e-6)
    share = min(1.0, max(0.0, played.seconds / speech_s))
    if share >= 1.0:
        return text
    chars = int(len(text) * share)
    if " " not in text:
        return text[:chars]
    words: list[str] = []
    position = 0
    for word in text.split(" "):
        position += len(word)
        if position > chars:
            break
        words.append(word)
        position += 1  # the space after it
    return " ".join(w for w in words if w)


class Voice:
    """A configured voice with its own worker; the engine loads on first use."""

    def __init__(self, spec: VoiceSpec, engine: TTSEngine | None = None, *, cache: bool = True) -> None:
        self.spec = spec
        self.cache = cache  # False: every line is synthesised afresh (benches time the real work)
        self.engine = engine  # given directly in tests; otherwise built from the spec on first use
        self.worker = ModelWorker(f"tts-{spec.name}")
        self.failed = False
        self.cache_hits = 0
        self._cache: OrderedDict[str, TimedSpeech] = OrderedDict()
        self._cache_bytes = 0
        self._cache_lock = threading.Lock()

    def render(self, text: str) -> Pcm:
        """Load if needed and speak one sentence at 48 kHz. Runs on the voice's worker thread."""
        return self.render_timed(text).pcm

    def render_timed(self, text: str, *, keep: bool = True) -> TimedSpeech:
        """:meth:`render`, with the phoneme timings of engines that report them (for the lips):
        loudness-normalised, from the cache when the same text was spoken before. ``keep``: False
        leaves new audio out of this cache (the answer cache keeps prepared answers itself)."""
        spoken = normalise_for_speech(text, self.spec.language)
        if not spoken:
            return TimedSpeech(silence(0))
        with self._cache_lock:
            cached = self._cache.get(spoken)
            if cached is not None:
                self._cache.move_to_end(spoken)
                self.cache_hits += 1
                return cached
        if self.engine is None:
            self.engine = build_engine(self.spec)
        engine = self.engine
        speech = engine.synthesize_timed(spoken) if isinstance(engine, PhonemeTimedEngine) else None
        pcm = speech.pcm if speech is not None else engine.synthesize(spoken)
        # Resampling keeps time, so the timings (in seconds) stay valid at 48 kHz.
        pcm = resample(pcm, engine.capabilities.sample_rate, SAMPLE_RATE_HZ)
        pause = silence(int(pause_after(spoken) * SAMPLE_RATE_HZ))
        out = np.concatenate([normalise_loudness(pcm, gain=self.spec.volume), pause])
        out.flags.writeable = False  # shared by every replay of this line
        timed = TimedSpeech(out, speech.phonemes if speech is not None else None)
        if keep:
            self._remember(spoken, timed)
        return timed

    def forget(self, texts: Iterable[str]) -> None:
        """Drop these lines from the render cache (the bench times answers synthesised afresh)."""
        with self._cache_lock:
            for text in texts:
                old = self._cache.pop(normalise_for_speech(text, self.spec.language), None)
                if old is not None:
                    self._cache_bytes -= old.pcm.nbytes

    def _remember(self, key: str, speech: TimedSpeech) -> None:
        with self._cache_lock:
            if not self.cache or key in self._cache or speech.pcm.nbytes > RENDER_CACHE_BYTES:
                return
            self._cache[key] = speech
            self._cache_bytes += speech.pcm.nbytes
            while len(self._cache) > RENDER_CACHE_ENTRIES or self._cache_bytes > RENDER_CACHE_BYTES:
                _, old = self._cache.popitem(last=False)
                self._cache_bytes -= old.pcm.nbytes


class Speaker:
    """Speaks lines through voices chosen by language onto one playout."""

    def __init__(
        self,
        playout: Playout,
        voices: dict[str, Voice],
        fallback: Voice | None = None,
        fallbacks: dict[str, Voice] | None = None,
    ) -> None:
        """``fallback`` stands in for a failing voice; ``fallbacks`` per language first (a Mandarin
        voice falls back to espeak-ng's Mandarin, not to an English voice that cannot say Chinese)."""
        if not voices:
            raise ValueError("a speaker needs at least one voice")
        self.playout = playout
        self.voices = voices
        self.fallback = fallback
        self.fallbacks = dict(fallbacks or {})
        self.failures = 0
        # Answers synthesised ahead (avatar.modes.prepare): a line whose exact text is here in the
        # voice that would speak it is played without waiting for synthesis.
        self.answers: AnswerCache | None = None
        # Told about every synthesis: (voice name, seconds taken, error or None); metrics and the
        # supervisor's error counters listen here.
        self.on_synth: Callable[[str, float, BaseException | None], None] | None = None
        self._current_turn = 0  # turn id of the line being spoken (ids increase by one per line)
        self._interrupted: set[int] = set()
        self._speaking: int | None = None  # the turn whose say() is running
        self._stop = asyncio.Event()  # set by interrupt() for the turn speaking now
        self._abandoned: set[asyncio.Future[TimedSpeech]] = set()  # syntheses of interrupted lines

    @property
    def speaking(self) -> bool:
        """A line is being spoken (its :meth:`say` has not returned)."""
        return self._speaking is not None

    @property
    def next_turn_id(self) -> int:
        """The turn id the next :meth:`say` will use (to match its audio on the playout)."""
        return self._current_turn + 1

    def voice_for(self, language: str) -> Voice:
        """The voice for a language, or the first configured one."""
        return self.voices.get(language) or next(iter(self.voices.values()))

    async def warm_up(self) -> None:
        """Load every voice now, so the first line does not pay for it."""
        for voice in self.voices.values():
            await self._render(voice, "Hello.")

    async def say(self, text: str, *, language: str = "en") -> SpeechResult:
        """Speak ``text``; returns when it has been played, or at once after :meth:`interrupt`."""
        sentences = tuple(split_sentences(text))
        voice = self.voice_for(language)
        # The answer cache is looked up here, on the loop: a hit never queues behind a synthesis
        # running on the voice's worker.
        answers = self.answers
        prepared = answers.get(voice.spec.name, text) if answers is not None and not voice.failed else None

        async def each() -> AsyncIterator[str]:
            for sentence in sentences:
                yield sentence

        # One path for a whole line and a streamed one; the result names every sentence of the line.
        result = await self.say_stream(each(), language=language, prepared=prepared)
        return replace(result, sentences=sentences)

    async def say_stream(
        self, sentences: AsyncIterable[str], *, language: str = "en", prepared: PreparedLine | None = None
    ) -> SpeechResult:
        """Speak sentences as they arrive (a model writing an answer): each one is synthesised and
        queued as soon as it comes, so the first is on air while the next is still being written.
        Returns when all have been played, or at once after :meth:`interrupt`. ``prepared``: audio
        synthesised ahead for the line's pieces, played instead of synthesising them."""
        self._current_turn += 1
        turn = self._current_turn
        voice = self.voice_for(language)
        said: list[str] = []
        owners: list[int] = []
        texts: list[str] = []
        queued: list[asyncio.Future[Played]] = []
        from_cache = 0
        self._speaking = turn
        self._stop = stop = asyncio.Event()
        try:
            async for sentence in sentences:
                if turn in self._interrupted:
                    break
                index = len(said)
                said.append(sentence)
                pieces = split_first_clause(sentence, FIRST_PIECE_MAX_CHARS) if index == 0 else [sentence]
                for part, piece in enumerate(pieces):
                    position = len(queued)
                    if position >= SENTENCES_AHEAD:
                        await asyncio.wait({queued[position - SENTENCES_AHEAD]})
                    if turn in self._interrupted:
                        break
                    speech = prepared.speech_for(piece) if prepared is not None else None
                    if speech is None:
                        speech = await self._render_unless_stopped(voice, piece, stop)
                    else:
                        from_cache += 1
                    if speech is None or turn in self._interrupted:
                        break
                    queued.append(
                        self.playout.enqueue(
                            speech.pcm,
                            turn_id=turn,
                            text=sentence,
                            phonemes=speech.phonemes,
                            continues=part > 0,
                        )
                    )
                    owners.append(index)
                    texts.append(piece)
            played = tuple([await future for future in queued])
        finally:
            if self._speaking == turn:
                self._speaking = None
        interrupted = turn in self._interrupted
        self._interrupted.discard(turn)
        hit = from_cache > 0 and from_cache == len(texts)
        if hit and self.answers is not None:
            self.answers.hits += 1
        return SpeechResult(
            turn,
            tuple(said),
            played,
            interrupted,
            tuple(owners[: len(played)]),
            tuple(texts[: len(played)]),
            prepared=hit,
        )

    def interrupt(self, *, at_sentence_end: bool = False) -> None:
        """Stop the line being spoken: buffered audio is dropped within one 20 ms chunk.

        ``at_sentence_end``: the sentence playing now is finished first (a co-host's barge-in
        sounds natural then); the sentences after it are dropped and no more are made.
        """
        turn = self._current_turn
        if self._speaking == turn:  # a finished line keeps no mark (turn ids are never reused)
            self._interrupted.add(turn)
            self._stop.set()
        if at_sentence_end:
            self.playout.clear_after_current(before_turn=turn + 1)
        else:
            self.playout.clear(before_turn=turn + 1)

    async def _render_unless_stopped(
        self, voice: Voice, piece: str, stop: asyncio.Event
    ) -> TimedSpeech | None:
        """:meth:`_render`, or None as soon as the line is interrupted: the next line (an answer
        to the comment that cut this one) need not wait for a synthesis nobody will hear. The
        synthesis itself finishes on the worker (a model call cannot be stopped) and is dropped."""
        render = asyncio.ensure_future(self._render(voice, piece))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({render, stopped}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            render.cancel()  # the line itself was cancelled: as an awaited render would be
            raise
        finally:
            stopped.cancel()
        if render.done():
            return render.result()
        self._abandoned.add(render)  # referenced until it ends (the loop keeps only weak ones)
        render.add_done_callback(self._abandoned.discard)
        return None

    async def _render(self, voice: Voice, sentence: str) -> TimedSpeech:
        for candidate in (voice, self.fallbacks.get(voice.spec.language), self.fallback):
            if candidate is None or candidate.failed:
                continue
            loop = asyncio.get_running_loop()
            began = loop.time()
            try:
                timed = await candidate.worker.run(candidate.render_timed, sentence)
                if self.on_synth is not None:
                    self.on_synth(candidate.spec.name, loop.time() - began, None)
                return timed
            except Exception as error:
                # Keep the stream going: log, count, and try the next voice.
                self.failures += 1
                if self.on_synth is not None:
                    self.on_synth(candidate.spec.name, loop.time() - began, error)
                log.exception("voice %s failed on %r", candidate.spec.name, sentence[:60])
                if candidate.engine is None:
                    candidate.failed = True  # it cannot even load: stop trying it
        seconds = max(1.0, len(sentence) / CAPTION_ONLY_CHARS_PER_S)
        return TimedSpeech(silence(int(seconds * SAMPLE_RATE_HZ)))

    def close(self) -> None:
        """Release the voices' worker threads."""
        for voice in [*self.voices.values(), *self.fallbacks.values(), self.fallback]:
            if voice is not None:
                voice.worker.close()

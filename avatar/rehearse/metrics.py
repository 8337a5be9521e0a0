"""Delivery metrics over timed words and the take's audio: pace, filler words, long pauses, loudness.

Pace is words per minute for English and characters per minute for Chinese (Chinese has no spaces
and ASR word timings there are runs of characters). Fillers are counted from the transcript, so
they are only as good as the ASR: Whisper tends to drop "um" and "uh" unless it is prompted with
them (see :data:`FILLER_PROMPT`).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from avatar.rehearse.timed import TimedWord, is_cjk

__all__ = [
    "FILLER_PROMPT",
    "LONG_PAUSE_S",
    "PACE_RANGE",
    "Delivery",
    "Filler",
    "Loudness",
    "Pause",
    "count_fillers",
    "delivery",
    "loudness",
    "pace",
    "pace_series",
]

SAMPLE_RATE_HZ: Final = 16_000
# Whisper drops hesitations it was not shown; a prompt full of them makes it write them down.
FILLER_PROMPT: Final = {"en": "Um, uh, like, you know, I mean, so, um.", "zh": "嗯，那个，就是，然后，嗯。"}
LONG_PAUSE_S: Final = 2.0  # a gap between words longer than this is dead air on a live stream
# Comfortable live-commerce pace: words per minute (en), characters per minute (zh). Live selling
# runs faster than a talk (about 150 wpm); past 190 viewers stop following the numbers.
PACE_RANGE: Final = {"en": (110.0, 190.0), "zh": (180.0, 330.0)}
PACE_WINDOW_S: Final = 10.0
QUIET_DBFS: Final = -35.0  # speech quieter than this is hard to hear over a phone speaker
CLIP_LEVEL: Final = 0.99  # samples at or above this share of full scale are clipped
SILENT_DBFS: Final = -55.0  # a whole take below this is a muted or missing microphone

_BE_BEFORE: Final = "".join(f"|(?<=\\b{be}\\s)" for be in ("is", "are", "was", "were", "'re", "'s"))[1:]
_EN_FILLERS: Final = re.compile(
    r"(?<![a-z'])(?P<sound>u+m+|u+h+|e+r+m+|e+r|a+h+|h+m+|mm+)(?![a-z'])"
    # "like", "you know" and "I mean" are real words too; count them where punctuation sets them
    # apart ("so, like, it's", "you know, it's"), as a listener hears them, or where "like" hedges
    # a claim straight after a form of "be" ("they're like the best").
    r"|(?:(?<=^)|(?<=[,.!?])\s*|(?<=[,.!?]\s))(?P<phrase>like|you know|i mean)(?=[,.!?])"
    r"|(?<=,\s)(?P<after_comma>like|you know|i mean)(?=\s)"
    r"|^(?P<opening>you know|i mean)(?=[,\s])"
    rf"|(?:{_BE_BEFORE})(?P<hedge>like)(?=\s)",
    re.IGNORECASE | re.MULTILINE,
)
_ZH_FILLERS: Final = re.compile(r"嗯+|呃+|那个|就是|然后")


@dataclass(frozen=True)
class Filler:
    """One filler word and (roughly) when it was said."""

    at_s: float
    text: str


@dataclass(frozen=True)
class Pause:
    """A long silence between two words."""

    start_s: float
    seconds: float


@dataclass(frozen=True)
class Loudness:
    """Level of the take: mean speech level, peak, share of clipped samples, a level per window."""

    mean_dbfs: float  # over windows with speech in them
    peak: float  # 0..1 of full scale
    clipped_share: float
    silent: bool  # nothing above the silence floor: muted or missing microphone
    series: tuple[tuple[float, float], ...]  # (window start s, dBFS)


@dataclass(frozen=True)
class Delivery:
    """Everything about how the take sounded (not what it said)."""

    language: str
    unit: str  # "wpm" or "cpm"
    pace: float  # over speaking time, in ``unit``
    pace_series: tuple[tuple[float, float], ...]  # (window start s, pace)
    fillers: tuple[Filler, ...]
    pauses: tuple[Pause, ...]
    loudness: Loudness | None
    speaking_s: float
    notes: tuple[str, ...] = field(default=())  # plain-language advice

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _units(text: str, language: str) -> int:
    """Words (en) or Chinese characters (zh) in ``text``."""
    if language == "zh" or is_cjk(text):
        return len(re.findall(r"[\u3400-\u9fff]", text)) or len(text.split())
    return len(re.findall(r"[A-Za-z0-9$%']+", text))


def pace(words: Sequence[TimedWord], language: str) -> tuple[float, float]:
    """(pace per minute, speaking seconds): long pauses are not counted as speaking time."""
    if not words:
        return 0.0, 0.0
    units = _units(" ".join(w.text for w in words).replace(" .", "."), language)
    speaking = words[-1].end - words[0].start
    for before, after in zip(words, words[1:], strict=False):
        gap = after.start - before.end
        if gap > LONG_PAUSE_S:
            speaking -= gap
    speaking = max(speaking, 1e-3)
    return units * 60.0 / speaking, speaking


def pace_series(
    words: Sequence[TimedWord], language: str, window_s: float = PACE_WINDOW_S
) -> list[tuple[float, float]]:
    """Pace in consecutive windows of ``window_s`` (words counted in the window their start falls in)."""
    if not words:
        return []
    last = words[-1].end
    out: list[tuple[float, float]] = []
    start = 0.0
    while start < last:
        inside = [w for w in words if start <= w.start < start + window_s]
        span = min(window_s, last - start)
        units = sum(_units(w.text, language) for w in inside)
        out.append((round(start, 2), round(units * 60.0 / max(span, 1.0), 1)))
        start += window_s
    return out


def count_fillers(words: Sequence[TimedWord], language: str) -> list[Filler]:
    """Filler words in ``words``, timed by the word they are in (or start in)."""
    if not words:
        return []
    # Match over the joined text so multi-word fillers and punctuation context work, then map
    # each match back to the word whose characters it starts in.
    joined = ""
    starts: list[tuple[int, TimedWord]] = []
    for word in words:
        if joined and not (is_cjk(word.text) and is_cjk(joined[-1])):
            joined += " "
        starts.append((len(joined), word))
        joined += word.text
    pattern = _ZH_FILLERS if language == "zh" or is_cjk(joined) else _EN_FILLERS
    offsets = [offset for offset, _ in starts]
    found: list[Filler] = []
    for match in pattern.finditer(joined):
        text = next((g for g in match.groups() if g), match.group(0)).strip()
        at = starts[
            max(
                0,
                bisect.bisect_right(
                    offsets, match.start() + len(match.group(0)) - len(match.group(0).lstrip())
                )
                - 1,
            )
        ][1]
        found.append(Filler(round(at.start, 2), text.lower()))
    return found


def long_pauses(words: Sequence[TimedWord], threshold_s: float = LONG_PAUSE_S) -> list[Pause]:
    """Gaps between consecutive words longer than ``threshold_s``."""
    return [
        Pause(round(a.end, 2), round(b.start - a.end, 2))
        for a, b in zip(words, words[1:], strict=False)
        if b.start - a.end > threshold_s
    ]


def _dbfs(rms: float) -> float:
    return 20.0 * math.log10(max(rms, 1e-9))


def loudness(audio: npt.NDArray[np.float32], window_s: float = 0.5) -> Loudness:
    """Level of 16 kHz mono float audio in [-1, 1], per window and overall."""
    if audio.size == 0:
        return Loudness(-120.0, 0.0, 0.0, True, ())
    size = max(1, int(window_s * SAMPLE_RATE_HZ))
    series: list[tuple[float, float]] = []
    for i in range(0, audio.size, size):
        chunk = audio[i : i + size].astype(np.float64)
        series.append((round(i / SAMPLE_RATE_HZ, 2), round(_dbfs(float(np.sqrt(np.mean(chunk * chunk)))), 1)))
    levels = [db for _, db in series]
    loudest = max(levels)
    silent = loudest < SILENT_DBFS
    # Speech windows: within 25 dB of the loudest window (the rest is breath and room noise).
    speech = [db for db in levels if db > max(loudest - 25.0, SILENT_DBFS)]
    mean = _dbfs(float(np.mean([10 ** (db / 10.0) for db in speech])) ** 0.5) if speech else -120.0
    peak = float(np.max(np.abs(audio)))
    clipped = float(np.mean(np.abs(audio) >= CLIP_LEVEL))
    return Loudness(round(mean, 1), round(peak, 3), round(clipped, 5), silent, tuple(series))


def delivery(
    words: Sequence[TimedWord], language: str, audio: npt.NDArray[np.float32] | None = None
) -> Delivery:
    """All delivery metrics of a take, with advice in plain words."""
    per_minute, speaking = pace(words, language)
    series = pace_series(words, language)
    fillers = count_fillers(words, language)
    pauses = long_pauses(words)
    level = loudness(audio) if audio is not None else None
    unit = "cpm" if language == "zh" else "wpm"
    low, high = PACE_RANGE.get(language, PACE_RANGE["en"])
    notes: list[str] = []
    if level is not None and level.silent:
        notes.append("No sound reached the microphone: check that it is connected and not muted.")
    elif not words:
        notes.append("No speech was recognised in the take.")
    else:
        if per_minute > high:
            notes.append(f"You spoke fast ({per_minute:.0f} {unit}); aim for {low:.0f}-{high:.0f}.")
        elif per_minute < low:
            notes.append(f"You spoke slowly ({per_minute:.0f} {unit}); aim for {low:.0f}-{high:.0f}.")
        if fillers:
            minute = max(speaking / 60.0, 1.0 / 6.0)
            notes.append(
                f"{len(fillers)} filler words ({len(fillers) / minute:.1f} a minute): pause instead."
            )
        if pauses:
            longest = max(p.seconds for p in pauses)
            notes.append(
                f"{len(pauses)} long pauses (longest {longest:.1f} s): keep talking about the product."
            )
        if level is not None and level.mean_dbfs < QUIET_DBFS:
            notes.append(f"Your voice was quiet ({level.mean_dbfs:.0f} dBFS): move closer to the microphone.")
        if level is not None and level.clipped_share > 0.001:
            notes.append("Your voice clipped (too loud): move back from the microphone.")
    return Delivery(
        language=language,
        unit=unit,
        pace=round(per_minute, 1),
        pace_series=tuple(series),
        fillers=tuple(fillers),
        pauses=tuple(pauses),
        loudness=level,
        speaking_s=round(speaking, 2),
        notes=tuple(notes),
    )

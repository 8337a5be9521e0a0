"""Delivery metrics: pace, fillers, long pauses and loudness over scripted timed words."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.rehearse.metrics import count_fillers, delivery, long_pauses, loudness, pace, pace_series
from avatar.rehearse.timed import TimedWord, lines_from_transcript, normalise_asr_text, words_of
from tests.rehearse_fakes import quiet, spoken, tone


def _words(text: str, step: float = 0.4) -> list[TimedWord]:
    return [TimedWord(i * step, i * step + step - 0.05, w) for i, w in enumerate(text.split())]


def test_pace_is_words_per_minute_of_speaking_time() -> None:
    words = _words(" ".join(["word"] * 30), step=0.4)  # 30 words in 12 s -> 150 wpm
    per_minute, speaking = pace(words, "en")
    assert per_minute == pytest.approx(150, rel=0.02)
    assert speaking == pytest.approx(11.95, abs=0.01)


def test_long_pauses_do_not_count_as_speaking_time_and_are_listed() -> None:
    words = _words("one two three four") + [TimedWord(10.0, 10.3, "five"), TimedWord(10.4, 10.7, "six")]
    per_minute, speaking = pace(words, "en")
    pauses = long_pauses(words)
    assert len(pauses) == 1
    assert pauses[0].start_s == pytest.approx(1.55) and pauses[0].seconds == pytest.approx(8.45)
    assert speaking == pytest.approx(10.7 - 8.45, abs=0.01)
    assert per_minute == pytest.approx(6 * 60 / (10.7 - 8.45), rel=0.01)


def test_chinese_pace_counts_characters() -> None:
    words = [TimedWord(0.0, 2.0, "大家好这款耳机"), TimedWord(2.0, 4.0, "主动降噪很安静")]
    per_minute, _ = pace(words, "zh")
    assert per_minute == pytest.approx(14 * 60 / 4.0)


def test_pace_series_has_one_point_per_window() -> None:
    words = _words(" ".join(["w"] * 75), step=0.4)  # 30 s
    series = pace_series(words, "en", window_s=10.0)
    assert [t for t, _ in series] == [0.0, 10.0, 20.0]
    assert all(v == pytest.approx(150, rel=0.05) for _, v in series)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Um, hi everyone. Uh, these are great.", ["um", "uh"]),
        ("They are, like, really light.", ["like"]),
        ("They're like the best buds.", ["like"]),
        ("You know, they fit well.", ["you know"]),
        ("So, I mean, it's light, you know.", ["i mean", "you know"]),
        ("Hmm. Erm, where was I.", ["hmm", "erm"]),
    ],
)
def test_fillers_are_found(text: str, expected: list[str]) -> None:
    assert [f.text for f in count_fillers(_words(text), "en")] == expected


@pytest.mark.parametrize(
    "text",
    [
        "I like these earbuds.",
        "It looks like a bottle.",
        "Do you know the price? Umbrella, human, summer.",
        "They fit like a glove.",
    ],
)
def test_real_uses_of_like_and_you_know_are_not_fillers(text: str) -> None:
    assert count_fillers(_words(text), "en") == []


def test_filler_time_is_the_time_of_its_word() -> None:
    fillers = count_fillers(_words("so these are um the buds"), "en")
    assert [(f.text, f.at_s) for f in fillers] == [("um", pytest.approx(1.2))]


def test_chinese_fillers() -> None:
    words = [TimedWord(0, 1, "嗯这个耳机"), TimedWord(1, 2, "那个降噪"), TimedWord(2, 3, "然后就是很轻")]
    assert [f.text for f in count_fillers(words, "zh")] == ["嗯", "那个", "然后", "就是"]


def test_loudness_of_silence_speech_and_clipping() -> None:
    silent = loudness(quiet(3.0))
    assert silent.silent
    speech = loudness(np.concatenate([tone(2.0, 0.3), quiet(1.0)]))
    assert not speech.silent
    assert speech.mean_dbfs == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.5)  # a sine's RMS
    assert speech.clipped_share == 0.0
    clipped = loudness(np.clip(tone(1.0, 2.0), -1.0, 1.0).astype(np.float32))
    assert clipped.clipped_share > 0.1


def test_delivery_advice_names_the_problems() -> None:
    words = _words("um so these are uh the buds you know, they are light", step=0.2)  # 300 wpm
    d = delivery(words, "en", tone(3.0, 0.005))
    notes = " ".join(d.notes)
    assert "fast" in notes and "filler" in notes and "quiet" in notes
    silent = delivery([], "en", quiet(2.0))
    assert silent.notes == ("No sound reached the microphone: check that it is connected and not muted.",)


def test_transcript_segments_are_split_into_sentences_and_prices_written_with_the_sign() -> None:
    transcript = spoken((0.0, "Hi everyone. They are dollar 39 .99 today."), (5.0, "Only 49 dollars."))
    lines = lines_from_transcript(transcript, offset_s=10.0)
    assert [line.text for line in lines] == ["Hi everyone.", "They are $39.99 today.", "Only $49."]
    assert lines[1].start == pytest.approx(10.7)
    assert len(words_of(lines)) == 11  # timed words stay as the ASR gave them
    assert normalise_asr_text("thirty dollars") == "thirty dollars"  # words stay words

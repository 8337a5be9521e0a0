"""What a barge-in does to the line being spoken: the sentence boundary cut, and what was heard."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from avatar.engines.tts.text import split_sentences
from avatar.media.playout import Played, Playout
from avatar.speaker import PAUSE_AFTER_SENTENCE_S, heard_part
from tests.fakes import FakeTTSEngine, fake_speaker, pumping, wait_until

LINE = "The lamp has three colour modes. It folds flat for travel. And it charges over USB."


def played(text: str, heard_s: float, speech_s: float) -> Played:
    return Played(1, text, heard_s, speech_s + PAUSE_AFTER_SENTENCE_S, completed=False)


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (0.0, ""),
        (0.2, "Normally"),  # 9 of 45 characters: "Normally " is out, "$59" is not
        (0.5, "Normally $59, but"),  # 22 of 45: "today" was half said
        (0.99, "Normally $59, but today just $39 for you"),
        (1.0, "Normally $59, but today just $39 for you all."),
    ],
)
def test_the_cut_sentence_keeps_the_words_heard_before_the_cut(share: float, expected: str) -> None:
    text = "Normally $59, but today just $39 for you all."
    assert heard_part(played(text, share * 2.0, 2.0)) == expected


def test_text_without_spaces_is_cut_by_character_and_a_whole_sentence_is_kept_whole() -> None:
    assert heard_part(played("现价三十九元，库存十件。", 1.0, 2.0)) == "现价三十九元"
    whole = Played(1, "All of it.", 0.8, 0.8, completed=True)
    assert heard_part(whole) == "All of it."


async def test_clear_after_current_lets_the_playing_utterance_finish() -> None:
    playout = Playout()
    tone = np.full(4800, 1000, np.int16)  # 0.1 s each
    futures = [playout.enqueue(tone, turn_id=1, text=f"s{i}") for i in range(3)]
    playout.pull()  # 20 ms of the first
    dropped = playout.clear_after_current(before_turn=2)
    assert [p.text for p in dropped] == ["s1", "s2"] and all(f.done() for f in futures[1:])
    chunks = [playout.pull() for _ in range(8)]
    assert all(c.any() for c in chunks[:4]) and not any(c.any() for c in chunks[4:])
    first = await futures[0]
    assert first.completed and first.seconds == pytest.approx(0.1)
    assert playout.enqueue(tone, turn_id=1).result().completed is False  # stale turn refused


async def test_clear_after_current_with_nothing_playing_drops_everything() -> None:
    playout = Playout()
    future = playout.enqueue(np.full(4800, 1000, np.int16), turn_id=1, text="not yet")
    assert [p.text for p in playout.clear_after_current()] == ["not yet"]
    assert (await future).seconds == 0.0 and not playout.pull().any()


async def test_speaker_stops_at_the_end_of_the_sentence_playing() -> None:
    playout = Playout()
    speaker = fake_speaker(playout, FakeTTSEngine(seconds_per_char=0.003, delay_s=0.005))
    sentences = split_sentences(LINE)
    try:
        async with pumping(playout) as pump:
            task = asyncio.create_task(speaker.say(LINE))
            await wait_until(lambda: playout.now_playing.text == sentences[0], 2, "the first sentence")
            assert speaker.speaking
            speaker.interrupt(at_sentence_end=True)
            result = await asyncio.wait_for(task, 3)
            heard = {chunk.text for chunk in pump.chunks if chunk.turn_id == result.turn_id}
        assert result.interrupted and not speaker.speaking
        assert result.sentences_completed == 1 and result.played[0].completed
        assert result.heard_text == sentences[0] and result.cut is None
        assert heard == {sentences[0]}, "nothing after the first sentence went out"
    finally:
        speaker.close()


async def test_interrupting_between_lines_leaves_the_next_line_whole() -> None:
    playout = Playout()
    speaker = fake_speaker(playout, FakeTTSEngine(seconds_per_char=0.003, delay_s=0.005))
    try:
        async with pumping(playout):
            await asyncio.wait_for(speaker.say("First line."), 3)
            speaker.interrupt(at_sentence_end=True)  # nobody is speaking: nothing to stop
            result = await asyncio.wait_for(speaker.say(LINE), 5)
        assert not result.interrupted and result.heard_text == LINE
    finally:
        speaker.close()

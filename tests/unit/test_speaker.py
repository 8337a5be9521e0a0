"""The speaker on a real playout with fake voices: what the audience hears of a line, and when.

Sentences stream one by one (never far ahead of playback), a line is done only once it has been
heard, an interruption stops the sound at once and reports exactly what was heard, and a broken
voice never stops the show.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avatar.brain.scene import load_scene
from avatar.brain.script import script_lines
from avatar.engines.tts.text import normalise_for_speech, split_sentences
from avatar.engines.tts.voices import VoiceSpec
from avatar.media.audio import SAMPLE_RATE_HZ, Pcm
from avatar.media.playout import Played, Playout
from avatar.speaker import (
    FIRST_PIECE_MAX_CHARS,
    PAUSE_AFTER_CLAUSE_S,
    SENTENCES_AHEAD,
    Speaker,
    Voice,
    heard_part,
)
from tests.fakes import (
    DEMO_SCENE,
    FakeTTSEngine,
    fake_speaker,
    fake_voice,
    pumping,
    sentence_seconds,
    wait_until,
)


class RecordingPlayout(Playout):
    """A playout that notes, at every enqueue, how many queued sentences were still unplayed."""

    def __init__(self) -> None:
        self.started: list[tuple[int, str]] = []
        super().__init__(on_start=lambda turn, text: self.started.append((turn, text)))
        self.enqueued: list[tuple[int, str]] = []
        self.unplayed_at_enqueue: list[int] = []
        self._futures: list[asyncio.Future[Played]] = []

    def enqueue(self, pcm: Pcm, *, turn_id: int, text: str = "", **options: Any) -> asyncio.Future[Played]:
        future = super().enqueue(pcm, turn_id=turn_id, text=text, **options)
        self._futures.append(future)
        self.enqueued.append((turn_id, text))
        self.unplayed_at_enqueue.append(sum(not f.done() for f in self._futures))
        return future


@pytest.fixture(scope="module")
def line() -> str:
    """A real presenter line of several sentences: the first segment's script, joined."""
    scene = load_scene(DEMO_SCENE)
    text = " ".join(script_lines(scene, scene.segments[0], scene.language))
    assert len(split_sentences(text)) >= 4
    return text


@pytest.fixture
async def speakers() -> AsyncIterator[list[Speaker]]:
    """Speakers a test creates are closed afterwards (their worker threads stop)."""
    made: list[Speaker] = []
    yield made
    for speaker in made:
        speaker.close()


async def pull_until(playout: Playout, predicate: object, timeout_s: float = 5.0) -> None:
    """Play the programme chunk by chunk (only when there is audio) until ``predicate()`` holds."""
    assert callable(predicate)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, "the condition never came true"
        if playout.buffered_seconds > 0:
            playout.pull()
        await asyncio.sleep(0.001)


async def test_sentences_are_queued_in_order_with_their_text(line: str, speakers: list[Speaker]) -> None:
    playout = RecordingPlayout()
    engine = FakeTTSEngine()
    speaker = fake_speaker(playout, engine)
    speakers.append(speaker)
    sentences = split_sentences(line)
    async with pumping(playout):
        result = await asyncio.wait_for(speaker.say(line), 10)
    assert playout.enqueued == [(result.turn_id, s) for s in sentences]
    assert playout.started == playout.enqueued, "each sentence reached the playhead, in order"
    assert result.sentences == tuple(sentences)
    assert not result.interrupted
    assert result.sentences_completed == len(sentences)
    assert result.heard_text == " ".join(sentences)
    for report, sentence in zip(result.played, sentences, strict=True):
        assert report.duration == pytest.approx(sentence_seconds(engine, sentence), abs=1e-3)


async def test_synthesis_stays_at_most_two_sentences_ahead_of_playback(
    line: str, speakers: list[Speaker]
) -> None:
    playout = RecordingPlayout()
    engine = FakeTTSEngine()  # synthesis is instant, playback is slow: only the bound holds it back
    speaker = fake_speaker(playout, engine)
    speakers.append(speaker)
    async with pumping(playout, interval_s=0.004):
        await asyncio.wait_for(speaker.say(line), 10)
    assert len(playout.unplayed_at_enqueue) == len(split_sentences(line))
    assert max(playout.unplayed_at_enqueue) == SENTENCES_AHEAD == 2
    assert all(n <= 2 for n in playout.unplayed_at_enqueue)


async def test_say_returns_only_after_all_audio_was_pulled(line: str, speakers: list[Speaker]) -> None:
    playout = Playout()
    engine = FakeTTSEngine(delay_s=0.01)
    speaker = fake_speaker(playout, engine)
    speakers.append(speaker)
    task = asyncio.create_task(speaker.say(line))
    pulled_of_turn = 0
    for _ in range(20_000):
        await asyncio.sleep(0.0005)
        if task.done():
            break
        playout.pull()
        if playout.now_playing.turn_id == speaker.next_turn_id - 1:
            pulled_of_turn += 1
    result = task.result()
    assert playout.buffered_seconds == 0.0, "nothing of the line was left unplayed when say returned"
    assert all(p.completed for p in result.played)
    total = sum(p.duration for p in result.played)
    assert pulled_of_turn * playout.chunk_samples / SAMPLE_RATE_HZ == pytest.approx(total, abs=0.021)


async def test_interrupt_mid_sentence_reports_what_was_heard_and_drops_the_rest(
    line: str, speakers: list[Speaker]
) -> None:
    playout = Playout()
    engine = FakeTTSEngine(delay_s=0.05)
    speaker = fake_speaker(playout, engine)
    speakers.append(speaker)
    sentences = split_sentences(line)
    task = asyncio.create_task(speaker.say(line))
    turn = speaker.next_turn_id  # say() has not run yet: this is the turn it will use
    await asyncio.sleep(0)
    # Play the first sentence to the end and 0.1 s of the second.
    await pull_until(
        playout,
        lambda: playout.now_playing.text == sentences[1] and playout.now_playing.seconds_into >= 0.1,
    )
    # The third sentence is being synthesised right now (playback of the first one released it).
    await wait_until(lambda: engine.in_flight.is_set() or sentences[2] in engine.finished, 2, "synthesis")
    heard_of_second = playout.now_playing.seconds_into
    speaker.interrupt()
    result = await asyncio.wait_for(task, 2)

    assert result.turn_id == turn
    assert result.interrupted
    assert result.sentences_completed == 1
    # Only the words of the second sentence that went out before the cut are kept as heard.
    cut = heard_part(result.played[1])
    assert result.cut == (sentences[1], cut)
    assert sentences[1].startswith(cut) and len(cut) < len(sentences[1])
    assert result.heard_text == f"{sentences[0]} {cut}".strip()
    assert result.played[1].seconds == pytest.approx(heard_of_second)
    assert not result.played[1].completed
    assert len(result.played) <= 2, "nothing after the cut sentence was queued"

    # Whatever was still being synthesised finishes in the worker, but none of it is ever heard.
    await wait_until(lambda: not engine.in_flight.is_set(), 2, "the in-flight synthesis to end")
    after = [playout.pull() for _ in range(50)]
    assert playout.now_playing.turn_id is None
    assert np.abs(after[0]).max() > 0, "the cut fades out within the first chunk"
    assert not np.concatenate(after[1:]).any(), "then silence: no stale audio of the interrupted turn"
    assert playout.buffered_seconds == 0.0


async def test_interrupt_before_any_audio_hears_nothing(line: str, speakers: list[Speaker]) -> None:
    playout = Playout()
    engine = FakeTTSEngine(delay_s=0.1)
    speaker = fake_speaker(playout, engine)
    speakers.append(speaker)
    task = asyncio.create_task(speaker.say(line))
    await wait_until(engine.in_flight.is_set, 2, "the first sentence's synthesis")
    speaker.interrupt()
    result = await asyncio.wait_for(task, 2)
    assert result.interrupted and result.sentences_completed == 0 and result.heard_text == ""
    await asyncio.sleep(0.15)  # let the synthesis that was in flight finish
    assert not np.concatenate([playout.pull() for _ in range(30)]).any()


async def test_the_next_line_after_an_interruption_plays_normally(line: str, speakers: list[Speaker]) -> None:
    playout = Playout()
    speaker = fake_speaker(playout, FakeTTSEngine(delay_s=0.02))
    speakers.append(speaker)
    async with pumping(playout) as pump:
        first = asyncio.create_task(speaker.say(line))
        await wait_until(lambda: pump.heard(1), 2, "the first line to be heard")
        speaker.interrupt()
        assert (await asyncio.wait_for(first, 2)).interrupted
        answer = "You can get it today for a great price."
        result = await asyncio.wait_for(speaker.say(answer), 5)
    assert not result.interrupted and result.heard_text == answer
    assert {c.text for c in pump.heard(result.turn_id)} == {answer}


async def test_failing_voice_falls_back_to_the_fallback_voice(line: str, speakers: list[Speaker]) -> None:
    playout = Playout()
    broken = FakeTTSEngine(fail=True)
    backup = FakeTTSEngine(seconds_per_char=0.002, name="backup")
    speaker = fake_speaker(playout, broken, fallback=backup)
    speakers.append(speaker)
    sentences = split_sentences(line)
    async with pumping(playout) as pump:
        result = await asyncio.wait_for(speaker.say(line), 10)
    assert not result.interrupted and result.heard_text == " ".join(sentences)
    spoken = [normalise_for_speech(s) for s in sentences]
    assert broken.calls == spoken and broken.finished == []
    assert backup.finished == spoken
    assert speaker.failures == len(sentences)
    for report, sentence in zip(result.played, sentences, strict=True):
        assert report.duration == pytest.approx(sentence_seconds(backup, sentence), abs=1e-3)
    assert any(np.abs(c.pcm).max() > 0 for c in pump.heard(result.turn_id)), "the backup voice is heard"


async def test_when_every_voice_fails_the_line_is_paced_silence_with_captions(
    line: str, speakers: list[Speaker]
) -> None:
    playout = RecordingPlayout()
    speaker = fake_speaker(playout, FakeTTSEngine(fail=True), fallback=FakeTTSEngine(fail=True))
    speakers.append(speaker)
    sentences = split_sentences(line)[:3]
    line = " ".join(sentences)
    async with pumping(playout, interval_s=0.0005) as pump:
        result = await asyncio.wait_for(speaker.say(line), 15)
    assert not result.interrupted
    assert speaker.failures == 2 * len(sentences), "both voices failed on every sentence, and were counted"
    assert [text for _, text in playout.started] == sentences, "captions still show each sentence"
    assert not any(c.pcm.any() for c in pump.heard(result.turn_id)), "captions only: silence"
    for report, sentence in zip(result.played, sentences, strict=True):
        # Paced like speech: about as long as reading the sentence aloud, and never a blink.
        assert report.completed
        assert max(1.0, len(sentence) / 25) <= report.duration <= max(1.0, len(sentence) / 8)


async def test_a_voice_that_cannot_load_is_not_tried_again(tmp_path: Path, speakers: list[Speaker]) -> None:
    playout = Playout()
    missing = VoiceSpec("broken", "piper", "en", "missing.onnx", 1.0, tmp_path / "broken.yaml")
    backup = FakeTTSEngine()
    speaker = Speaker(playout, {"en": Voice(missing)}, fallback=fake_voice(backup, name="backup"))
    speakers.append(speaker)
    text = "The first sentence is here. And here is the second one."
    async with pumping(playout):
        result = await asyncio.wait_for(speaker.say(text), 5)
    assert result.heard_text == text
    assert speaker.failures == 1, "the voice failed to load once and was then skipped"
    assert speaker.voices["en"].failed
    assert backup.finished == split_sentences(text)  # plain words: spoken exactly as written


async def test_voices_are_chosen_by_language(speakers: list[Speaker]) -> None:
    playout = Playout()
    english, chinese = FakeTTSEngine(), FakeTTSEngine(language="zh")
    voices = {"en": fake_voice(english), "zh": fake_voice(chinese, name="zh", language="zh")}
    speaker = Speaker(playout, voices)
    speakers.append(speaker)
    async with pumping(playout):
        await asyncio.wait_for(speaker.say("这款耳机今天只要三十九块九。", language="zh"), 5)
        await asyncio.wait_for(speaker.say("These earbuds are on sale today.", language="fr"), 5)
    assert chinese.finished == ["这款耳机今天只要三十九块九。"]
    assert english.finished == ["These earbuds are on sale today."], "unknown language: the first voice"


LONG_FIRST = (
    "The Summit bottle keeps your drinks cold for a full day, and it fits in every cup holder. Grab one now."
)


async def test_a_long_first_sentence_is_synthesised_clause_first_under_one_caption(
    speakers: list[Speaker],
) -> None:
    playout = RecordingPlayout()
    engine = FakeTTSEngine()
    speaker = fake_speaker(playout, engine)
    speakers.append(speaker)
    first, second = split_sentences(LONG_FIRST)
    assert len(first) > FIRST_PIECE_MAX_CHARS
    async with pumping(playout):
        result = await asyncio.wait_for(speaker.say(LONG_FIRST), 10)
    head, rest = first.split(", ", 1)
    assert engine.calls == [f"{head},", rest, second], "the short clause is asked for first"
    assert [text for _, text in playout.started] == [first, second], "one caption per sentence"
    assert result.sentences == (first, second) and result.sentences_completed == 2
    assert result.heard_text == LONG_FIRST
    # The clause ends with a short pause, the sentence with the usual one.
    clause, tail = result.played[0].duration, result.played[1].duration
    assert clause == pytest.approx(engine.seconds_for(f"{head},") + PAUSE_AFTER_CLAUSE_S, abs=1e-3)
    assert tail == pytest.approx(sentence_seconds(engine, rest), abs=1e-3)


async def test_an_interruption_inside_a_split_sentence_counts_it_as_not_completed(
    speakers: list[Speaker],
) -> None:
    playout = Playout()
    engine = FakeTTSEngine(delay_s=0.02)
    speaker = fake_speaker(playout, engine)
    speakers.append(speaker)
    first = split_sentences(LONG_FIRST)[0]
    clause_s = engine.seconds_for(first.split(", ")[0] + ",") + PAUSE_AFTER_CLAUSE_S
    task = asyncio.create_task(speaker.say(LONG_FIRST))
    await asyncio.sleep(0)
    # The clause has played to the end and 0.05 s of the rest of the sentence (only queued audio
    # is pulled, so the programme clock is the audio played).
    await pull_until(
        playout, lambda: playout.now_playing.samples_played >= (clause_s + 0.05) * SAMPLE_RATE_HZ
    )
    assert playout.now_playing.text == first, "the rest of the sentence plays under the same caption"
    speaker.interrupt()
    result = await asyncio.wait_for(task, 2)
    assert result.interrupted
    assert result.played[0].completed and not result.played[1].completed
    assert result.sentences_completed == 0, "half a sentence is not a sentence: resume repeats it"
    # Heard: the clause, then the few words of the rest that went out before the cut.
    assert first.startswith(result.heard_text) and len(result.heard_text) < len(first)
    assert result.heard_text.startswith(first.split(", ")[0] + ",")
    assert result.cut is not None and result.cut == (first, result.heard_text)


async def test_three_thousand_characters_at_once_are_spoken_in_bounded_pieces_and_nothing_is_lost(
    speakers: list[Speaker],
) -> None:
    playout = RecordingPlayout()
    engine = FakeTTSEngine(seconds_per_char=0.0005)
    speaker = fake_speaker(playout, engine)
    speakers.append(speaker)
    # One huge "sentence" of product words in a seeded random order (so no piece repeats and none
    # comes from the voice's line cache).
    rng = random.Random(7)
    words = [
        "lamp",
        "glows",
        "warm",
        "and",
        "bright",
        "on",
        "your",
        "desk",
        "tonight,",
        "it",
        "folds",
        "flat",
    ]
    text = ""
    while len(text) < 3000:
        text = f"{text} {rng.choice(words)}".strip()
    assert "." not in text
    async with pumping(playout, interval_s=0.0005):
        result = await asyncio.wait_for(speaker.say(text), 20)
    assert not result.interrupted and result.sentences_completed == len(result.sentences) > 10
    assert all(len(piece) <= 220 for piece in engine.calls), "no piece too long for a model"
    assert " ".join(engine.calls).split() == text.split(), "every word spoken once, in order"
    assert result.heard_text.split() == text.split()
    assert max(playout.unplayed_at_enqueue) <= SENTENCES_AHEAD, "still never far ahead of playback"


@pytest.mark.parametrize("text", ["", "   ", "🔥🔥🔥 ✨", "<br/>**__**"])
async def test_a_line_with_nothing_to_say_returns_at_once_and_the_next_line_plays(
    text: str, speakers: list[Speaker]
) -> None:
    playout = Playout()
    engine = FakeTTSEngine()
    speaker = fake_speaker(playout, engine)
    speakers.append(speaker)
    async with pumping(playout):
        empty = await asyncio.wait_for(speaker.say(text), 2)
        after = await asyncio.wait_for(speaker.say("The show goes on."), 5)
    assert not empty.interrupted and all(p.duration == 0 for p in empty.played)
    assert after.heard_text == "The show goes on." and engine.finished == ["The show goes on."]

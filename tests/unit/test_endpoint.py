"""Endpointing on words: the complete-question test, and a listener ending turns early on it (a fake
detector and a fake recogniser that "hears" one phrase per burst of tone)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from avatar.brain.catalog import Catalog
from avatar.brain.scene import load_scene
from avatar.listen.endpoint import Endpointing, catalog_endpointing, complete_question
from avatar.listen.listener import Listener
from avatar.listen.vad import WINDOW_SAMPLES
from tests.fakes import DEMO_SCENE
from tests.unit.test_listen_interim import feed_paced
from tests.unit.test_vad import LoudIsSpeech, quiet, tone


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_scene(DEMO_SCENE).catalog


@pytest.mark.parametrize(
    "text",
    [
        "How much is the Lumen desk lamp?",
        "How much is the Lumen desk lamp",  # no question mark: question word + product
        "Is the Summit bottle in stock",
        "how long does the battery last",  # question word + attribute
        "Is there a discount on the Ridgeline backpack",
        "Does it come in blue",  # yes/no + colour
        "What's the price of this?",
        "台灯多少钱",  # a product fact named, in Chinese
        "这个有货吗",
    ],
)
def test_complete_questions(catalog: Catalog, text: str) -> None:
    assert complete_question(text, catalog)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "How much is the",
        "How much is the...",  # Whisper's ellipsis on a trailing pause
        "How much is the?",  # a question mark does not finish a dangling article
        "Is the Summit bottle available in",
        "How much is the Lumen desk lamp and",
        "What about,",
        "I want to know",  # no question word, nothing from the catalog
        "hello there",
        "so um",
    ],
)
def test_incomplete_questions(catalog: Catalog, text: str) -> None:
    assert not complete_question(text, catalog)


def test_bad_endpointing_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="quick_silence_s"):
        Endpointing(lambda _: True, quick_silence_s=0.0)
    with pytest.raises(ValueError, match="pause_decode_s"):
        Endpointing(lambda _: True, pause_decode_s=0.5)
    with pytest.raises(ValueError, match="hold_silence_s"):
        Endpointing(lambda _: True, hold_silence_s=0.1)
    with pytest.raises(ValueError, match="resume_window_s"):
        Endpointing(lambda _: True, resume_window_s=-1.0)


class PhraseASR:
    """Hears phrase n for the n-th burst of loud audio (bursts apart by at least 0.1 s of quiet)."""

    def __init__(self, phrases: list[str]) -> None:
        self.phrases = phrases
        self.calls: list[int] = []  # bursts heard per call

    @property
    def busy(self) -> bool:
        return False

    async def transcribe(self, audio: np.ndarray) -> str:
        windows = audio[: audio.size // WINDOW_SAMPLES * WINDOW_SAMPLES].reshape(-1, WINDOW_SAMPLES)
        loud = np.max(np.abs(windows), axis=1) > 0.1
        bursts, quiet_run = 0, 99
        for is_loud in loud:
            if is_loud and quiet_run >= 3:
                bursts += 1
            quiet_run = 0 if is_loud else quiet_run + 1
        self.calls.append(bursts)
        return " ".join(self.phrases[:bursts])


class Heard:
    """Everything a listener reported, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def finals(self) -> list[str]:
        return [text for kind, text in self.events if kind == "final"]

    def listener(self, asr: PhraseASR, endpointing: Endpointing | None) -> Listener:
        return Listener(
            asr,
            on_final=lambda text: self.events.append(("final", text)),
            on_retract=lambda text: self.events.append(("retract", text)),
            detector=LoudIsSpeech(),
            endpointing=endpointing,
            interim_every_s=None,
        )


def _question_words(text: str) -> bool:
    return text.endswith("?")


async def test_a_complete_question_ends_after_a_short_silence_and_its_interim_is_the_final() -> None:
    asr, heard = PhraseASR(["How much is the lamp?"]), Heard()
    listener = heard.listener(asr, Endpointing(_question_words))
    await feed_paced(listener, np.concatenate([quiet(0.2), tone(1.2), quiet(0.22)]))
    await listener.drain()
    # ended after 0.22 s of silence (the VAD alone waits 0.4 s), decoded once: at the pause
    assert heard.finals() == ["How much is the lamp?"]
    assert listener.quick_ends == 1 and listener.reused == 1 and asr.calls == [1]
    await listener.close()


async def test_words_that_stop_mid_phrase_hold_the_turn_open_for_longer() -> None:
    asr, heard = PhraseASR(["How much is the"]), Heard()
    listener = heard.listener(asr, Endpointing(_question_words, hold_silence_s=1.0))
    await feed_paced(listener, np.concatenate([tone(1.2), quiet(0.8)]))
    await listener.drain()
    assert heard.finals() == []  # past the VAD's 0.4 s: "How much is the" waits for more
    await feed_paced(listener, quiet(0.3))
    await listener.drain()
    assert heard.finals() == ["How much is the"]
    assert listener.quick_ends == 0 and listener.reused == 1 and asr.calls == [1]  # the pause's decode
    await listener.close()


async def test_without_endpointing_a_complete_question_waits_for_the_silence_as_before() -> None:
    asr, heard = PhraseASR(["How much is the lamp?"]), Heard()
    listener = heard.listener(asr, None)
    await feed_paced(listener, np.concatenate([tone(1.2), quiet(0.3)]))
    await listener.drain()
    assert heard.finals() == [] and asr.calls == []
    await feed_paced(listener, quiet(0.2))
    await listener.drain()
    assert heard.finals() == ["How much is the lamp?"] and asr.calls == [1]
    await listener.close()


async def test_speech_after_the_pause_means_the_final_decodes_the_whole_utterance() -> None:
    asr, heard = PhraseASR(["How much is the", "blue one?"]), Heard()
    listener = heard.listener(asr, Endpointing(_question_words))
    # a 0.25 s pause after an incomplete phrase, then the rest: one turn, decoded again at its end
    await feed_paced(listener, np.concatenate([tone(1.0), quiet(0.25), tone(0.6), quiet(0.6)]))
    await listener.drain()
    assert heard.finals() == ["How much is the blue one?"]
    assert listener.quick_ends == 1  # ended early after the second pause (a complete question)
    assert asr.calls == [1, 2]  # one decode per pause; the final is the second
    await listener.close()


async def test_a_wrong_early_end_is_withdrawn_and_merged_with_what_follows() -> None:
    asr, heard = PhraseASR(["How much is the lamp?", "in blue?"]), Heard()
    listener = heard.listener(asr, Endpointing(_question_words, resume_window_s=0.8))
    await feed_paced(listener, np.concatenate([tone(1.2), quiet(0.22)]))
    await listener.drain()
    assert heard.finals() == ["How much is the lamp?"]  # ended early: the show starts answering
    # the speaker goes on 0.4 s later: the first part is taken back, the whole turn comes as one
    await feed_paced(listener, np.concatenate([quiet(0.2), tone(0.6), quiet(0.6)]))
    await listener.drain()
    assert heard.events == [
        ("final", "How much is the lamp?"),
        ("retract", "How much is the lamp?"),
        ("final", "How much is the lamp? in blue?"),
    ]
    assert listener.merges == 1 and asr.calls[-1] == 2  # both parts decoded together
    await listener.close()


class ScriptedASR:
    """Answers its texts in order; the calls numbered in ``held`` wait until ``release`` is set."""

    def __init__(self, texts: list[str], held: set[int]) -> None:
        self.texts, self.held = texts, held
        self.release = asyncio.Event()
        self.calls = 0

    @property
    def busy(self) -> bool:
        return False

    async def transcribe(self, audio: np.ndarray) -> str:
        call, self.calls = self.calls, self.calls + 1
        if call in self.held:
            await self.release.wait()
        return self.texts[call]


async def test_a_continuation_before_the_first_part_is_transcribed_keeps_that_part_back() -> None:
    # 0: "Hello"'s pause decode hears nothing, so 1: its final is decoded (slowly); 2: the next
    # utterance's pause decode is a complete question: early end, queued behind "Hello"; the speaker
    # goes on, 3: the continuation's pause decode, 4: both parts decoded together.
    texts = ["", "Hello", "How much is the lamp?", "in blue?", "How much is the lamp in blue?"]
    asr = ScriptedASR(texts, held={1})
    events: list[tuple[str, str]] = []
    listener = Listener(
        asr,
        on_final=lambda text: events.append(("final", text)),
        on_retract=lambda text: events.append(("retract", text)),
        detector=LoudIsSpeech(),
        endpointing=Endpointing(_question_words, resume_window_s=0.8),
        interim_every_s=None,
    )
    await feed_paced(listener, np.concatenate([tone(0.5), quiet(1.5), tone(1.0), quiet(0.3)]))
    assert listener.quick_ends == 1 and events == []  # "Hello" is still being transcribed
    await feed_paced(listener, np.concatenate([tone(0.6), quiet(0.6)]))
    asr.release.set()
    await listener.drain()
    # the first part was never given: nothing to take back, and the whole turn comes once
    assert events == [("final", "Hello"), ("final", "How much is the lamp in blue?")]
    assert listener.merges == 1
    await listener.close()


async def test_a_question_repeated_after_a_second_of_silence_is_a_new_turn() -> None:
    asr, heard = PhraseASR(["How much is the lamp?", "Is it in stock?"]), Heard()
    listener = heard.listener(asr, Endpointing(_question_words))  # pauses up to 0.8 s merge
    await feed_paced(listener, np.concatenate([tone(1.2), quiet(1.0), tone(0.8), quiet(0.3)]))
    await listener.drain()
    assert heard.finals() == ["How much is the lamp?", "How much is the lamp?"]  # each alone: 1 burst
    assert listener.merges == 0 and listener.quick_ends == 2
    await listener.close()


async def test_the_catalog_endpointing_reads_the_current_catalog(catalog: Catalog) -> None:
    endpointing = catalog_endpointing(lambda: catalog)
    assert endpointing.complete("Is the Summit bottle in stock")
    assert not endpointing.complete("Is the Summit bottle in")


async def test_a_cancelled_recogniser_call_that_has_not_started_is_dropped() -> None:
    """The listener cancels an interim gone stale; queued behind a slow decode, it must not run."""
    import contextlib
    import threading

    from avatar.engines.worker import ModelWorker

    worker, gate, ran = ModelWorker("test"), threading.Event(), []
    first = asyncio.create_task(worker.run(gate.wait, 5))
    stale = asyncio.create_task(worker.run(ran.append, "stale"))
    await asyncio.sleep(0.01)
    stale.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await stale  # the cancellation has reached the call (it cannot before the loop runs it)
    gate.set()
    assert await first
    assert await worker.run(ran.append, "next") is None
    worker.close()
    assert ran == ["next"]


class SlowASR(PhraseASR):
    """A busy recogniser: each decode takes longer than the speaker's pauses."""

    async def transcribe(self, audio: np.ndarray) -> str:
        await asyncio.sleep(1.2)
        return await super().transcribe(audio)


async def test_a_slow_recogniser_does_not_hold_back_questions_asked_again_and_again() -> None:
    # Chromium's looped clip, a TV in the room: talk resumes after 0.9 s each time, while each
    # pause's decode is still running. Before, the turn waited for that decode, the talk resumed
    # within the hold, and one turn grew until no question was ever answered.
    asr, heard = SlowASR(["How much is the lamp?"]), Heard()
    listener = heard.listener(asr, Endpointing(_question_words))
    await feed_paced(listener, np.concatenate([part for _ in range(4) for part in (tone(1.2), quiet(0.9))]))
    await listener.drain()
    assert heard.finals().count("How much is the lamp?") >= 3, heard.events
    await listener.close()

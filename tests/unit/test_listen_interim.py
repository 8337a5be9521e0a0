"""Interim transcripts and the speech-start signal of a listener, with a fake recogniser and detector.

Interims run on the audio so far about once per second of speech, only when the recogniser is idle
(a busy one skips the round, so a final never queues behind an interim), and an interim that comes
back after its utterance ended is not shown (the final is on its way).
"""

from __future__ import annotations

import asyncio

import numpy as np

from avatar.listen.listener import Listener
from tests.unit.test_listener import FakeASR
from tests.unit.test_vad import LoudIsSpeech, quiet, tone

FRAME = 320  # 20 ms at 16 kHz


async def feed_paced(listener: Listener, audio: np.ndarray) -> None:
    """Feed 20 ms frames, letting the loop run between them (a fake recogniser answers at once)."""
    for i in range(0, audio.size, FRAME):
        listener.feed_16k(audio[i : i + FRAME])
        await asyncio.sleep(0)
        await asyncio.sleep(0)


async def test_interims_come_about_once_a_second_on_the_audio_so_far_then_the_final() -> None:
    asr = FakeASR()
    interims: list[str] = []
    finals: list[str] = []
    listener = Listener(asr, on_final=finals.append, on_interim=interims.append, detector=LoudIsSpeech())
    await feed_paced(listener, np.concatenate([quiet(0.5), tone(3.5)]))
    assert interims[0] == ""  # speech started
    shown = interims[1:]
    assert len(shown) == 3, shown  # at 1, 2 and 3 s of the open utterance
    lengths = [float(text.split()[0]) for text in shown]
    assert lengths == sorted(lengths) and 0.9 <= lengths[0] <= 1.3 and lengths[-1] <= 3.8
    assert finals == []
    await feed_paced(listener, quiet(0.6))
    await listener.drain()
    assert len(finals) == 1 and float(finals[0].split()[0]) > 3.5
    assert listener.interims_run == 3 and listener.interims_skipped == 0
    await listener.close()


async def test_a_busy_recogniser_skips_interim_rounds_and_the_final_goes_first() -> None:
    asr = FakeASR()
    asr.running = 1  # someone else's final is being transcribed
    interims: list[str] = []
    finals: list[str] = []
    listener = Listener(asr, on_final=finals.append, on_interim=interims.append, detector=LoudIsSpeech())
    await feed_paced(listener, tone(2.5))
    assert interims == [""] and asr.calls == []
    assert listener.interims_skipped == 2
    asr.running = 0
    await feed_paced(listener, quiet(0.6))
    await listener.drain()
    assert len(asr.calls) == 1 and finals == ["2.7 s"]
    await listener.close()


async def test_an_interim_that_returns_after_the_utterance_ended_is_not_shown() -> None:
    asr = FakeASR()
    asr.release.clear()  # the recogniser is slow: nothing comes back until released
    interims: list[str] = []
    finals: list[str] = []
    listener = Listener(asr, on_final=finals.append, on_interim=interims.append, detector=LoudIsSpeech())
    await feed_paced(listener, np.concatenate([tone(1.3), quiet(0.6)]))
    assert len(asr.calls) == 2  # the interim (started at 1 s) and then the final
    assert asr.calls[0] < asr.calls[1]
    asr.release.set()
    await listener.drain()
    await asyncio.sleep(0)
    assert interims == [""] and finals == ["1.5 s"]
    await listener.close()


async def test_speech_start_needs_a_quarter_second_of_speech_and_done_follows_each_utterance() -> None:
    asr = FakeASR()
    starts: list[int] = []
    done: list[int] = []
    listener = Listener(
        asr,
        on_final=lambda text: None,
        on_speech_start=lambda: starts.append(1),
        on_done=lambda: done.append(1),
        detector=LoudIsSpeech(),
        interim_every_s=None,
    )
    await feed_paced(listener, np.concatenate([tone(0.1), quiet(0.6)]))  # a click, not a person
    assert starts == [] and done == []
    await feed_paced(listener, tone(0.2))
    assert starts == []  # not yet a quarter second
    await feed_paced(listener, tone(0.2))
    assert starts == [1]
    await feed_paced(listener, np.concatenate([tone(0.5), quiet(0.6)]))
    await listener.drain()
    assert starts == [1] and done == [1]
    await feed_paced(listener, np.concatenate([tone(0.5), quiet(0.6)]))
    await listener.drain()
    assert starts == [1, 1] and done == [1, 1]
    await listener.close()

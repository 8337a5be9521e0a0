"""A co-host barging in on the live show (fake voices, real loop): the host stops, listens, answers
the co-host first, and the history keeps only what the audience heard. Viewers never barge in."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from avatar.brain.scene import Scene
from avatar.config import Settings
from avatar.events import ChatPosted
from avatar.modes.stage import cut_caption
from avatar.ops.store import Store
from avatar.web.viewers import ViewerSession
from tests.conftest import require
from tests.fakes import DEMO_SCENE, wait_until
from tests.unit.test_live_show import Running, first_line_sentences, make_show, price_of, scene  # noqa: F401
from tests.unit.test_viewer_mic import FixedASR, ask_the_lamp_price_aloud
from tests.unit.test_web_app import FakeChannel, Served, served  # noqa: F401

LAMP_QUESTION = "How much is the desk lamp?"


async def on_first_sentence(running: Running, scene: Scene) -> list[str]:  # noqa: F811
    sentences = first_line_sentences(scene)
    await wait_until(
        lambda: running.playing.text == sentences[0] and running.playing.seconds_into >= 0.05,
        3,
        "the first sentence of the first scripted line",
    )
    return sentences


async def test_cohost_barge_in_stops_at_the_sentence_end_and_is_answered_before_chat(
    scene: Scene,  # noqa: F811
    make_show: Callable[..., Running],  # noqa: F811
) -> None:
    running = make_show()
    show = running.show
    await show.start()
    sentences = await on_first_sentence(running, scene)
    turn = running.playing.turn_id
    show.cohost_speech_started()
    await wait_until(lambda: any(h.turn_id == turn for h in show.history), 2, "the line to stop")
    line = next(h for h in show.history if h.turn_id == turn)
    assert line.interrupted and line.text == sentences[0], "the sentence playing was finished, no more"
    assert show.barge_ins == 1
    # The co-host has the floor: the host stays quiet while they speak.
    await asyncio.sleep(0.3)
    assert running.playing.turn_id is None
    assert show.submit_comment("v1", "ann", "Do the earbuds come in blue?") is not None
    mark = len(running.events)
    show.cohost_said("co-host", LAMP_QUESTION)
    lamp = price_of(scene, "lumen-lamp")
    await wait_until(lambda: any(lamp in t for t in running.caption_texts(mark)), 3, "the lamp's price")
    first_answer = running.caption_texts(mark)[0]
    assert lamp in first_answer, "the co-host is answered before the viewer who asked earlier"
    assert ChatPosted("studio", "co-host", LAMP_QUESTION) in running.events[mark:]


async def test_immediate_barge_in_cuts_mid_sentence_and_keeps_the_words_heard(
    scene: Scene,  # noqa: F811
    make_show: Callable[..., Running],  # noqa: F811
) -> None:
    running = make_show(Settings(scene=DEMO_SCENE, barge_in="immediate"))
    show = running.show
    await show.start()
    sentences = await on_first_sentence(running, scene)
    turn = running.playing.turn_id
    mark = len(running.events)
    show.cohost_speech_started()
    await wait_until(lambda: any(h.turn_id == turn for h in show.history), 2, "the line to stop")
    line = next(h for h in show.history if h.turn_id == turn)
    assert line.interrupted and line.full_text.startswith(sentences[0])
    assert sentences[0].startswith(line.text) and len(line.text) < len(sentences[0])
    # The captions, on viewers' pages and on the picture, are cut back to the words heard.
    assert running.caption_texts(mark) == [cut_caption(line.text)]
    assert show.stage.cut == (turn, sentences[0], line.text)
    await asyncio.sleep(0.1)
    assert running.playing.turn_id is None, "the voice stopped at once"
    show.cohost_done()  # nothing understood: the host goes on, from the cut sentence
    await wait_until(lambda: running.playing.text == sentences[0], 3, "the line to resume")


async def test_barge_in_off_lets_the_host_talk_on(
    scene: Scene,  # noqa: F811
    make_show: Callable[..., Running],  # noqa: F811
) -> None:
    running = make_show(Settings(scene=DEMO_SCENE, barge_in="off"))
    show = running.show
    await show.start()
    sentences = await on_first_sentence(running, scene)
    show.cohost_speech_started()
    await wait_until(lambda: running.playing.text == sentences[1], 3, "the next sentence")
    assert show.barge_ins == 0 and not any(h.interrupted for h in show.history)


async def test_the_transcript_of_a_cut_sentence_keeps_what_was_heard(tmp_path: Path) -> None:
    import sqlite3

    store = Store(tmp_path / "show.sqlite3")
    store.transcript(3, "lamp", "First sentence.")
    store.transcript(3, "lamp", "Normally $59, but today just $39.")
    store.transcript(4, "lamp", "Never heard at all.")
    store.transcript_cut(3, "Normally $59, but today just $39.", "Normally $59, but")
    store.transcript_cut(4, "Never heard at all.", "")
    await store.flush()
    store.close()
    rows = sqlite3.connect(tmp_path / "show.sqlite3").execute("SELECT turn, text FROM transcripts").fetchall()
    assert rows == [(3, "First sentence."), (3, "Normally $59, but")]


@pytest.mark.parametrize("role", ["viewer", "studio"])
async def test_only_the_studio_microphone_barges_in(
    served: Served,  # noqa: F811
    role: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require(importlib.util.find_spec("silero_vad") is not None, "silero-vad package")
    show = served.show
    starts: list[int] = []
    monkeypatch.setattr(show, "cohost_speech_started", lambda: starts.append(1))
    session = ViewerSession(show, 30.0, asr=FixedASR, role=role)
    channel = FakeChannel()
    try:
        await ask_the_lamp_price_aloud(session, channel)
        await wait_until(lambda: any(m["type"] == "chat" for m in channel.sent), 5, "the question in chat")
    finally:
        await session.close()
    chat = next(m for m in channel.sent if m["type"] == "chat")
    if role == "studio":
        assert starts == [1] and chat["name"] == "co-host"
    else:
        assert starts == [] and chat["name"] == "viewer"


async def test_an_offer_with_an_unknown_role_is_refused(served: Served) -> None:  # noqa: F811
    body = {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "type": "offer", "role": "boss"}
    response = await served.client.post("/offer", json=body)
    assert response.status == 400
    assert "role" in (await response.json())["error"]
    assert served.show.barge_in == "sentence"

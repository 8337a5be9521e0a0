"""The avatar's side of a rehearsal: the model answer, the audience's spoken questions, its picture.

The model answer is the product's segment from the scene's run of show, filled from the catalog and
spoken by the scene's voice (the same lines, checks and voice as the live show), as a WAV the host
can replay. The audience's questions are spoken by the same voice, and the avatar is shown as a
still frame of the live renderer with the question as its caption.
"""

from __future__ import annotations

import io
import logging
import wave
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from avatar.brain.compliance import ComplianceChecker
from avatar.brain.scene import Scene
from avatar.brain.script import script_lines
from avatar.engines.tts.text import split_sentences
from avatar.engines.tts.voices import load_voice
from avatar.engines.worker import ModelWorker
from avatar.media.audio import SAMPLE_RATE_HZ, Pcm, silence
from avatar.speaker import Voice

if TYPE_CHECKING:
    from avatar.render.compositor import Renderer

__all__ = ["Presenter", "model_answer_lines", "wav_bytes"]

log = logging.getLogger(__name__)
FALLBACK_VOICE = "espeak-en"


def wav_bytes(pcm: Pcm, rate: int = SAMPLE_RATE_HZ) -> bytes:
    """Mono int16 audio as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm, np.int16).tobytes())
    return out.getvalue()


def model_answer_lines(scene: Scene, product_id: str) -> list[str]:
    """What the avatar says for ``product_id``: its run-of-show segment, checked like live lines.

    A product without a segment gets its name, selling points and price.
    """
    product = scene.catalog.get(product_id)
    segment = next((s for s in scene.segments if s.product_id == product_id), None)
    if segment is not None:
        lines = script_lines(scene, segment, scene.language)
    else:
        price = scene.catalog.format_price(product.current_price())
        points = product.selling_points.get(scene.language) or product.selling_points.get("en", ())
        lines = [product.name(scene.language), *points, price]
    checker = ComplianceChecker.for_scene(scene)
    checked = [checker.check(line, scene.language, product_id) for line in lines]
    return [result.text for result in checked if not result.blocked]


class Presenter:
    """Speaks for the avatar on its own worker thread; model answers are cached as WAV files."""

    def __init__(self, scene: Scene, cache: Path) -> None:
        self.scene = scene
        self.cache = cache
        self._voice: Voice | None = None
        self._renderer: Renderer | None = None
        self._render_worker = ModelWorker("rehearse-render")

    def _speak(self, text: str) -> Pcm:
        """All sentences of ``text`` (runs on the voice worker)."""
        voice = self.voice()
        parts: list[Pcm] = []
        for sentence in split_sentences(text):
            try:
                parts.append(voice.render(sentence))
            except Exception:
                log.warning(
                    "voice %s failed; falling back to %s", voice.spec.name, FALLBACK_VOICE, exc_info=True
                )
                self._voice = voice = Voice(load_voice(FALLBACK_VOICE))
                parts.append(voice.render(sentence))
        return np.concatenate(parts) if parts else silence(0)

    def voice(self) -> Voice:
        """The scene's voice (loaded on first use)."""
        if self._voice is None:
            self._voice = Voice(load_voice(self.scene.voice))
        return self._voice

    async def model_answer(self, product_id: str) -> Path:
        """The model answer WAV for ``product_id`` (made once, then served from the cache)."""
        path = self.cache / f"model-answer-{product_id}.wav"
        if path.is_file():
            return path
        text = " ".join(model_answer_lines(self.scene, product_id))
        pcm = await self.voice().worker.run(self._speak, text)
        self.cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(wav_bytes(pcm))
        tmp.replace(path)  # two hosts asking at once never read a half-written file
        return path

    async def say(self, text: str) -> bytes:
        """``text`` spoken by the avatar, as WAV bytes."""
        return wav_bytes(await self.voice().worker.run(self._speak, text))

    def _picture(self, product_id: str, caption: str) -> bytes:
        from avatar.modes.live import product_card
        from avatar.render.compositor import Renderer
        from avatar.render.frame import Expression, FrameState
        from avatar.render.snapshot import png

        if self._renderer is None:
            scene = self.scene
            self._renderer = Renderer(640, 360, scene.theme, root=scene.root, language=scene.language)
        product = self.scene.catalog.get(product_id)
        state = FrameState(
            t=0.0,
            mouth_open=0.25 if caption else 0.0,
            eyes_closed=0.0,
            caption=caption,
            product=product_card(product, self.scene, self.scene.language),
            title=self.scene.persona.name,
            expression=Expression(smile=0.6),
        )
        return png(self._renderer.render(state))

    async def picture(self, product_id: str, caption: str = "") -> bytes:
        """A still of the avatar with ``product_id``'s card and ``caption`` (PNG), like the live show."""
        return await self._render_worker.run(self._picture, product_id, caption)

    def close(self) -> None:
        """Stop the voice and render workers."""
        if self._voice is not None:
            self._voice.worker.close()
        self._render_worker.close()

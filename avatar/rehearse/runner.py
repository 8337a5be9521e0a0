"""Rehearse from a recording: the whole take at once, report written and session saved.

This is ``avatar rehearse --audio FILE``: read the file (any format PyAV reads, to 16 kHz mono),
transcribe it with word timings (prompted so filler words are kept), ask the simulated audience's
questions on their schedule, judge the take and save it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from avatar.brain.scene import Scene
from avatar.rehearse.audience import AudienceSchedule
from avatar.rehearse.language import call_language, scene_languages
from avatar.rehearse.metrics import FILLER_PROMPT, SILENT_DBFS
from avatar.rehearse.report import write_report
from avatar.rehearse.session import Recognizer, Take
from avatar.rehearse.store import SessionStore

__all__ = ["DETECT_SECONDS", "detect_language", "language_probabilities", "rehearse_audio"]

log = logging.getLogger(__name__)
DETECT_SECONDS = 15.0  # enough speech for Whisper's language detection


def language_probabilities(audio: npt.NDArray[np.float32], asr: Recognizer) -> dict[str, float] | None:
    """How likely each language is in the first seconds of ``audio`` (None on failure).

    Whisper's own detector where the engine offers it; else the language of a transcript, taken
    as certain."""
    head = audio[: int(DETECT_SECONDS * 16_000)]
    probabilities = getattr(asr, "language_probabilities", None)
    if probabilities is None:
        detected = detect_language(head, asr)
        return {detected: 1.0} if detected else None
    try:
        return dict(probabilities(head))
    except Exception:  # a missing or broken model must not stop the rehearsal
        log.warning("language detection failed; skipping it", exc_info=True)
        return None


def detect_language(audio: npt.NDArray[np.float32], asr: Recognizer) -> str | None:
    """The language a multilingual ASR hears in the first seconds of ``audio`` (None on failure)."""
    try:
        transcript = asr.transcribe(audio[: int(DETECT_SECONDS * 16_000)], language=None)
    except Exception:  # a missing or broken model must not stop the rehearsal
        log.warning("language detection failed; skipping it", exc_info=True)
        return None
    language = getattr(transcript, "language", None)
    return str(language) if language else None


def rehearse_audio(
    scene: Scene,
    product_id: str,
    audio: npt.NDArray[np.float32],
    asr: Recognizer,
    *,
    host: str = "host",
    store: SessionStore | None = None,
    schedule: AudienceSchedule | None = None,
    report_path: Path | None = None,
    language_asr: Recognizer | None = None,
    now: Callable[[], datetime] | None = None,
) -> dict[str, Any]:
    """Judge a recorded take (16 kHz mono float32) and return its report as a dict.

    With ``store`` the session is saved (and the report page shows the host's progress); with
    ``report_path`` the HTML and JSON reports are written. ``language_asr`` (a multilingual model)
    decides which of the scene's languages the host spoke (see :mod:`avatar.rehearse.language`);
    the take is transcribed and coached in that language.
    """
    loud = float(np.max(np.abs(audio), initial=0.0)) >= 10 ** (SILENT_DBFS / 20)
    call = None
    if loud and language_asr is not None:
        # Which of the scene's languages the host spoke: a bilingual scene takes either.
        call = call_language(language_probabilities(audio, language_asr), scene_languages(scene))
    take = Take(
        scene,
        product_id,
        host=host,
        schedule=schedule,
        now=now,
        language=call.language if call else None,
        language_note=call.message if call else None,
    )
    take.add_audio(audio)
    if store is not None:
        store.start(take.id, take.host, scene.name, product_id, take.started_at)
    if loud:
        # An English-only model (tiny.en) cannot write a Chinese take: the multilingual one does.
        recogniser = asr
        if language_asr is not None and take.language != "en" and not getattr(asr, "multilingual", True):
            recogniser = language_asr
        # A silent recording is not transcribed: Whisper invents "thank you" on silence.
        transcript = recogniser.transcribe(
            audio, language=take.language, prompt=FILLER_PROMPT.get(take.language), word_timestamps=True
        )
        take.add_transcript(transcript)
        if call is not None:
            take.detected = call.heard if call.refused else call.language
    take.plan_questions(take.seconds)
    report = take.result().as_dict()
    history: list[dict[str, Any]] = []
    if store is not None:
        store.finish(report)
        history = [row.__dict__ for row in store.history(take.host, scene.name)]
    if report_path is not None:
        write_report(report, report_path, history)
    return report

"""One rehearsal take: audio in, transcript, metrics, coaching, audience answers, a report out.

The same :class:`Take` serves the offline path (a whole recording at once) and the live page (audio
arrives in chunks; speech is cut at pauses and transcribed piece by piece on the ASR worker).
Each take owns its audio, lines and questions, so two hosts rehearsing at once never share
state; a take that is stopped early or abandoned still reports what it has.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from avatar.brain.compliance import ComplianceChecker
from avatar.brain.scene import Scene
from avatar.rehearse.audience import Answer, AudienceSchedule, Question, questions_for, score_answers
from avatar.rehearse.coaching import Coaching, coach
from avatar.rehearse.metrics import FILLER_PROMPT, SAMPLE_RATE_HZ, SILENT_DBFS, Delivery, delivery
from avatar.rehearse.timed import TimedLine, TranscriptLike, is_cjk, lines_from_transcript, words_of

__all__ = ["Recognizer", "Take", "TakeResult", "language_problem"]

# Live audio is cut into pieces at pauses so each piece is transcribed once.
PIECE_MIN_S: Final = 3.0
PIECE_MAX_S: Final = 12.0
PAUSE_CUT_S: Final = 0.4
_SPEECH_RMS: Final = 0.01  # about -40 dBFS: quieter 20 ms frames count as pause


class Recognizer(Protocol):
    """What a take needs from the ASR engine (``avatar.engines.asr.ASREngine`` fits)."""

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        *,
        language: str | None = None,
        prompt: str | None = None,
        word_timestamps: bool = False,
    ) -> Any: ...


def language_problem(lines: list[TimedLine], detected: str | None, expected: str) -> str | None:
    """A message when the host spoke another language than the scene's, else None."""
    text = " ".join(line.text for line in lines)
    # The scene-language model may hear nothing at all in another language (its guards drop what it
    # cannot make out), so an empty transcript still counts when the multilingual model heard speech.
    if not text.strip() and detected in (None, ""):
        return None
    cjk_share = len(re.findall(r"[\u3400-\u9fff]", text)) / max(1, len(re.sub(r"\s", "", text)))
    if expected == "en" and (cjk_share > 0.3 or (detected not in (None, "", "en"))):
        spoken = detected if detected not in (None, "", "en") else "Chinese"
        return (
            f"You spoke {spoken}, but this scene is in English: rehearse in English, or pick a Chinese scene."
        )
    if expected == "zh" and (cjk_share < 0.3 and detected not in (None, "", "zh")):
        return f"You spoke {detected}, but this scene is in Chinese (zh): rehearse in Chinese."
    if expected == "zh" and not is_cjk(text) and detected in (None, ""):
        return "No Chinese was recognised, but this scene is in Chinese (zh)."
    return None


@dataclass
class TakeResult:
    """Everything the report shows about one take."""

    session_id: str
    host: str
    scene: str
    product_id: str
    product_name: str
    language: str
    started_at: str
    status: str  # "finished", "stopped early", "abandoned"
    take_s: float
    lines: list[TimedLine]
    delivery: Delivery
    coaching: Coaching
    answers: list[Answer]
    scores: dict[str, float]
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``report.json`` holds): plain lists, dicts, strings and numbers."""
        data = {
            "session_id": self.session_id,
            "host": self.host,
            "scene": self.scene,
            "product": {"id": self.product_id, "name": self.product_name},
            "language": self.language,
            "started_at": self.started_at,
            "status": self.status,
            "take_s": round(self.take_s, 2),
            "messages": self.messages,
            "scores": self.scores,
            "transcript": [
                {"start": round(line.start, 2), "end": round(line.end, 2), "text": line.text}
                for line in self.lines
            ],
            "delivery": self.delivery.as_dict(),
            "selling_points": [p.__dict__ | {"missing": list(p.missing)} for p in self.coaching.points],
            "flags": [f.__dict__ for f in self.coaching.flags],
            "audience": [a.as_dict() for a in self.answers],
        }
        # Through JSON once, so a report read back from the store equals the one returned here.
        plain: dict[str, Any] = json.loads(json.dumps(data, ensure_ascii=False))
        return plain


def _scores(d: Delivery, c: Coaching, answers: list[Answer]) -> dict[str, float]:
    points = c.points
    content = 100.0 * sum(p.covered for p in points) / len(points) if points else 100.0
    facts = sum(f.kind == "fact" for f in c.flags)
    violations = sum(f.kind == "compliance" for f in c.flags)
    accuracy = max(0.0, 100.0 - 25.0 * facts)
    compliance = max(0.0, 100.0 - 25.0 * violations)
    minutes = max(d.speaking_s / 60.0, 1.0 / 6.0)
    from avatar.rehearse.metrics import PACE_RANGE

    low, high = PACE_RANGE.get(d.language, PACE_RANGE["en"])
    pace_off = 0.0 if low <= d.pace <= high else min(abs(d.pace - low), abs(d.pace - high)) / low * 100.0
    fluency = max(0.0, 100.0 - 10.0 * len(d.fillers) / minutes - 10.0 * len(d.pauses) - pace_off)
    if not d.pace:
        fluency = 0.0
    audience = 100.0 * sum(a.verdict == "correct" for a in answers) / len(answers) if answers else None
    scores = {"delivery": fluency, "selling_points": content, "accuracy": accuracy, "compliance": compliance}
    if audience is not None:
        scores["audience"] = audience
    scores = {k: round(v, 1) for k, v in scores.items()}
    scores["overall"] = round(sum(scores.values()) / len(scores), 1)
    return scores


class Take:
    """A rehearsal of one product by one host (see the module docstring)."""

    def __init__(
        self,
        scene: Scene,
        product_id: str,
        *,
        host: str = "host",
        checker: ComplianceChecker | None = None,
        schedule: AudienceSchedule | None = None,
        now: Callable[[], datetime] | None = None,
        session_id: str | None = None,
        language: str | None = None,
        language_note: str | None = None,
    ) -> None:
        """``language``: the one of the scene's languages the take is in (default: the scene's own);
        ``language_note``: what the report says about that choice (a question when it was unsure)."""
        if product_id not in scene.catalog:
            known = ", ".join(p.id for p in scene.catalog)
            raise ValueError(f"no product {product_id!r} in this scene (products: {known})")
        self.scene = scene
        self.product = scene.catalog.get(product_id)
        self.host = host.strip() or "host"
        self.language = language or scene.language
        self.language_note = language_note
        self.checker = checker or ComplianceChecker.for_scene(scene)
        self.schedule = schedule or AudienceSchedule()
        self.questions: list[Question] = questions_for(self.product, scene.catalog, self.language)
        self.id = session_id or uuid.uuid4().hex[:12]
        self.started_at = (now or (lambda: datetime.now(UTC)))().isoformat(timespec="seconds")
        self.lines: list[TimedLine] = []
        self.detected: str | None = None
        self._chunks: list[npt.NDArray[np.float32]] = []
        self._samples = 0
        self._pending_from = 0  # first sample not yet transcribed
        self.asked_at: list[float] = []

    # --- audio -----------------------------------------------------------------------------

    @property
    def seconds(self) -> float:
        """Audio received so far."""
        return self._samples / SAMPLE_RATE_HZ

    def audio(self) -> npt.NDArray[np.float32]:
        """All audio of the take, 16 kHz mono float32."""
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.float32)

    def release_audio(self) -> None:
        """Let go of the take's audio (the report is saved; minutes of audio are tens of MB)."""
        self._chunks = []

    def add_audio(self, pcm: npt.NDArray[np.float32]) -> None:
        """Append 16 kHz mono float audio from the microphone."""
        self._chunks.append(np.asarray(pcm, dtype=np.float32).reshape(-1))
        self._samples += int(self._chunks[-1].size)

    def next_piece(self, final: bool = False) -> tuple[float, npt.NDArray[np.float32]] | None:
        """The next stretch of untranscribed audio to send to the ASR, cut at a pause, or None.

        ``final`` takes whatever is left (the take was stopped).
        """
        audio = self.audio()
        pending = audio[self._pending_from :]
        rate = SAMPLE_RATE_HZ
        if pending.size == 0 or (not final and pending.size < PIECE_MIN_S * rate):
            return None
        cut = pending.size
        if not final:
            frame = rate // 50
            quiet_needed = int(PAUSE_CUT_S * 50)
            run = 0
            cut = 0
            limit = min(pending.size, int(PIECE_MAX_S * rate))
            for i in range(int(PIECE_MIN_S * rate) // frame, limit // frame):
                chunk = pending[i * frame : (i + 1) * frame]
                run = run + 1 if float(np.sqrt(np.mean(chunk * chunk))) < _SPEECH_RMS else 0
                if run >= quiet_needed:
                    cut = (i + 1) * frame
                    break
            if not cut:
                if pending.size < PIECE_MAX_S * rate:
                    return None  # still talking: wait for a pause
                cut = limit
        start = self._pending_from / rate
        self._pending_from += cut
        return start, pending[:cut]

    def recognise(self, asr: Recognizer, piece: npt.NDArray[np.float32]) -> TranscriptLike | None:
        """Transcribe one piece of the take (call on the ASR worker); None for a silent piece.

        Touches no state of the take, so the event loop may read the take meanwhile.
        """
        if float(np.max(np.abs(piece), initial=0.0)) < 10 ** (SILENT_DBFS / 20):
            return None  # a silent piece: Whisper would hallucinate "thanks for watching"
        transcript: TranscriptLike = asr.transcribe(
            piece, language=self.language, prompt=FILLER_PROMPT.get(self.language), word_timestamps=True
        )
        return transcript

    def transcribe_piece(
        self, asr: Recognizer, start_s: float, piece: npt.NDArray[np.float32]
    ) -> list[TimedLine]:
        """Transcribe one piece and add its lines to the take (both in the calling thread)."""
        transcript = self.recognise(asr, piece)
        return [] if transcript is None else self.add_transcript(transcript, start_s)

    def add_transcript(self, transcript: TranscriptLike, offset_s: float = 0.0) -> list[TimedLine]:
        """Add a transcript of audio that started ``offset_s`` into the take."""
        lines = lines_from_transcript(transcript, offset_s)
        self.detected = getattr(transcript, "language", None) or self.detected
        self.lines.extend(lines)
        self.lines.sort(key=lambda line: line.start)
        return lines

    # --- audience ----------------------------------------------------------------------------

    def due_question(self, elapsed_s: float) -> tuple[int, Question] | None:
        """The question to ask now, if one is due at ``elapsed_s`` into the take (each asked once)."""
        n = len(self.asked_at)
        if n >= len(self.questions):
            return None
        due = self.schedule.first_s + n * self.schedule.every_s
        if elapsed_s < due:
            return None
        # Recorded at its scheduled time: audio after it (already in this chunk) is the answer.
        self.asked_at.append(round(due, 2))
        return n, self.questions[n]

    def plan_questions(self, take_s: float) -> None:
        """Offline: the questions a take of ``take_s`` seconds was asked, on the schedule."""
        self.asked_at = self.schedule.times(take_s, len(self.questions))

    # --- the result --------------------------------------------------------------------------

    def result(self, status: str = "finished") -> TakeResult:
        """Measure and judge the take as it stands (works on partial takes too)."""
        audio = self.audio()
        take_s = max(self.seconds, self.lines[-1].end if self.lines else 0.0)
        words = words_of(self.lines)
        d = delivery(words, self.language, audio if audio.size else None)
        messages = list(d.notes[:1]) if d.loudness is not None and d.loudness.silent else []
        problem = self.language_note or language_problem(self.lines, self.detected, self.language)
        if problem:
            messages.append(problem)
        if status != "finished":
            messages.append(
                f"This take was {status} after {take_s:.0f} s; the report covers what was recorded."
            )
        c = coach(self.lines, self.product, self.scene.catalog, self.checker, self.language)
        answers = score_answers(
            self.lines,
            self.questions,
            self.asked_at,
            self.product,
            self.checker,
            self.language,
            self.schedule,
            take_s,
        )
        return TakeResult(
            session_id=self.id,
            host=self.host,
            scene=self.scene.name,
            product_id=self.product.id,
            product_name=self.product.name(self.language),
            language=self.language,
            started_at=self.started_at,
            status=status,
            take_s=take_s,
            lines=list(self.lines),
            delivery=d,
            coaching=c,
            answers=answers,
            scores=_scores(d, c, answers),
            messages=messages,
        )

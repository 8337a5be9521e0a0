"""Voice activity detection: cut a live 16 kHz stream into utterances with Silero VAD.

The Silero model ships as ONNX inside the ``silero_vad`` package and runs on onnxruntime with one
thread (about 0.1 ms per 32 ms window), fed straight from numpy: no torch, no hub download.
:class:`VADSegmenter` keeps only bounded state: the partial window, a short pre-roll and at most
``max_utterance_s`` of the utterance being spoken.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from avatar.engines.asr.base import SAMPLE_RATE_HZ

WINDOW_SAMPLES: Final = 512
"""Silero's window at 16 kHz (32 ms)."""
_CONTEXT_SAMPLES: Final = 64  # Silero v5+ looks at the end of the previous window too
WINDOW_SECONDS: Final = WINDOW_SAMPLES / SAMPLE_RATE_HZ

Samples = npt.NDArray[np.float32]


class SpeechDetector(Protocol):
    """Probability that a 512-sample 16 kHz window is speech; stateful across windows."""

    def __call__(self, window: Samples) -> float:
        """Speech probability in [0, 1] of the next window of the stream."""
        ...

    def reset(self) -> None:
        """Forget the stream (a new one starts)."""
        ...


class SileroVAD:
    """Silero VAD from the ONNX file bundled in the ``silero_vad`` package."""

    def __init__(self) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # one thread: the model is tiny, and the machine's cores belong to ASR and rendering
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        model = resources.files("silero_vad") / "data" / "silero_vad.onnx"
        with resources.as_file(model) as path:
            self._session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        self._rate = np.array(SAMPLE_RATE_HZ, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Forget the stream."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, _CONTEXT_SAMPLES), dtype=np.float32)

    def __call__(self, window: Samples) -> float:
        """Speech probability of the next 512-sample window."""
        if window.shape != (WINDOW_SAMPLES,):
            raise ValueError(f"Silero VAD takes {WINDOW_SAMPLES} samples at a time, got {window.shape}")
        x = np.concatenate([self._context, window.reshape(1, -1).astype(np.float32)], axis=1)
        out, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._rate})
        self._context = x[:, -_CONTEXT_SAMPLES:]
        return float(np.asarray(out).reshape(-1)[0])


@dataclass(frozen=True)
class VADConfig:
    """Where utterances start and end."""

    threshold: float = 0.5  # a window at least this likely is speech
    # ... and speech continues until windows fall below this (hysteresis keeps words together)
    negative_threshold: float = 0.35
    min_silence_s: float = 0.4  # this much silence ends an utterance
    min_speech_s: float = 0.25  # shorter bursts (a cough, a click) are not utterances
    max_utterance_s: float = 15.0  # a longer monologue is cut here, so memory and ASR time stay bounded
    pad_s: float = 0.2  # audio kept before the first and after the last speech window


COHOST_VAD: Final = VADConfig(min_silence_s=0.3)
"""The studio co-host talks in turns with the host: a shorter pause ends their turn, so the answer
comes sooner (a viewer's push-to-talk keeps the default 0.4 s)."""


@dataclass(frozen=True)
class Utterance:
    """A stretch of speech; times in seconds from the start of the stream."""

    start: float
    end: float
    audio: Samples

    @property
    def seconds(self) -> float:
        """Length of the audio."""
        return self.audio.size / SAMPLE_RATE_HZ


class VADSegmenter:
    """Streaming segmenter: feed 16 kHz mono float32 chunks of any size, get finished utterances."""

    def __init__(self, detector: SpeechDetector, config: VADConfig | None = None) -> None:
        self.detector = detector
        self.config = config or VADConfig()
        c = self.config
        self._pad_windows = max(0, round(c.pad_s / WINDOW_SECONDS))
        self._silence_windows = max(1, round(c.min_silence_s / WINDOW_SECONDS))
        self._min_speech_windows = max(1, round(c.min_speech_s / WINDOW_SECONDS))
        self._max_windows = max(self._silence_windows + 1, int(c.max_utterance_s / WINDOW_SECONDS))
        self._pending = np.zeros(0, dtype=np.float32)
        self._preroll: deque[Samples] = deque(maxlen=self._pad_windows)
        self._windows: list[Samples] = []
        self._windows_seen = 0
        self._start_window = 0
        self._silent_run = 0
        self._speech_count = 0
        self._opened = 0
        self._last_speech = -1  # index of the stream's last speech window
        self._first_speech = 0  # index of the open utterance's first speech window
        # Asked, with the silence so far, each window once the silence could end the utterance:
        # False keeps it open (the words say the speaker is not done; see avatar.listen.endpoint).
        self.may_end: Callable[[float], bool] | None = None

    @property
    def speaking(self) -> bool:
        """True while an utterance is open."""
        return bool(self._windows)

    @property
    def confirmed(self) -> bool:
        """True once the open utterance has ``min_speech_s`` of speech: a person talking, not a click."""
        return bool(self._windows) and self._speech_count >= self._min_speech_windows

    @property
    def utterances_opened(self) -> int:
        """How many utterances have opened so far (tells one open utterance from the next)."""
        return self._opened

    @property
    def in_silence(self) -> bool:
        """The open utterance's last window was not speech (the person may be finishing)."""
        return self._silent_run > 0

    @property
    def silent_seconds(self) -> float:
        """Silence at the end of the open utterance so far (0 while speech goes on)."""
        return self._silent_run * WINDOW_SECONDS

    @property
    def windows_seen(self) -> int:
        """Windows of the stream decided so far (an index into stream time)."""
        return self._windows_seen

    @property
    def last_speech_window(self) -> int:
        """Index of the stream's last speech window (-1 before any)."""
        return self._last_speech

    @property
    def open_speech_window(self) -> int:
        """Index of the open (or last) utterance's first speech window."""
        return self._first_speech

    @property
    def open_seconds(self) -> float:
        """Length of the open utterance so far (0 when none is open)."""
        return len(self._windows) * WINDOW_SECONDS

    def open_audio(self) -> Samples:
        """The audio of the open utterance so far (empty when none is open)."""
        if not self._windows:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._windows)

    def feed(self, chunk: Samples) -> list[Utterance]:
        """Add the next piece of the stream; returns the utterances it finished (usually none)."""
        samples = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if samples.size and not np.all(np.isfinite(samples)):
            raise ValueError("audio contains NaN or infinite samples")
        pending = np.concatenate([self._pending, samples]) if self._pending.size else samples
        whole = pending.size // WINDOW_SAMPLES * WINDOW_SAMPLES
        self._pending = pending[whole:].copy()
        done: list[Utterance] = []
        for offset in range(0, whole, WINDOW_SAMPLES):
            utterance = self._window(pending[offset : offset + WINDOW_SAMPLES].copy())
            if utterance is not None:
                done.append(utterance)
        return done

    def cut(self) -> Utterance | None:
        """End the open utterance now (its words already make a whole turn); its trailing silence
        is trimmed as at a normal end. None when nothing is open or it is too short."""
        return self._finish(trailing_silence=self._silent_run) if self._windows else None

    def flush(self) -> Utterance | None:
        """End of stream: the open utterance, if it is long enough; the segmenter starts afresh."""
        utterance = self._finish(trailing_silence=self._silent_run) if self._windows else None
        self._pending = np.zeros(0, dtype=np.float32)
        self._preroll.clear()
        self.detector.reset()
        return utterance

    def _window(self, window: Samples) -> Utterance | None:
        probability = self.detector(window)
        index = self._windows_seen
        self._windows_seen += 1
        c = self.config
        if not self._windows:
            if probability >= c.threshold:
                self._last_speech = self._first_speech = index
                self._windows = [*self._preroll, window]
                self._start_window = index - len(self._preroll)
                self._preroll.clear()
                self._silent_run = 0
                self._speech_count = 1
                self._opened += 1
            elif self._pad_windows:
                self._preroll.append(window)
            return None
        self._windows.append(window)
        if probability >= c.threshold:
            self._last_speech = index
            self._silent_run = 0
            self._speech_count += 1
        elif probability < c.negative_threshold:
            self._silent_run += 1
        if self._silent_run >= self._silence_windows and (
            self.may_end is None or self.may_end(self._silent_run * WINDOW_SECONDS)
        ):
            return self._finish(trailing_silence=self._silent_run)
        if len(self._windows) >= self._max_windows:
            # a monologue is cut here; if the speaker goes on, the next speech window opens another
            return self._finish(trailing_silence=0)
        return None

    def _finish(self, *, trailing_silence: int) -> Utterance | None:
        keep = len(self._windows) - max(0, trailing_silence - self._pad_windows)
        windows = self._windows[:keep]
        long_enough = self._speech_count >= self._min_speech_windows
        start = self._start_window * WINDOW_SECONDS
        self._windows = []
        self._silent_run = 0
        self._speech_count = 0
        if not long_enough or not windows:
            return None
        audio = np.concatenate(windows)
        return Utterance(start, start + audio.size / SAMPLE_RATE_HZ, audio)

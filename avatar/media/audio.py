"""Audio helpers for the programme: the format constants, resampling and loudness.

The programme's audio is 48 kHz mono signed 16-bit, moved in 20 ms chunks (960 samples), which is
what WebRTC's Opus encoder wants, so nothing has to be converted again on the way out.
"""

from __future__ import annotations

from typing import Final

import av
import numpy as np
import numpy.typing as npt

SAMPLE_RATE_HZ: Final = 48_000
CHUNK_SECONDS: Final = 0.020
CHUNK_SAMPLES: Final = int(SAMPLE_RATE_HZ * CHUNK_SECONDS)
# RMS (in int16 units) that counts as "fully loud" for the mouth: conversational TTS speech peaks
# around this level after loudness normalisation.
FULL_SCALE_SPEECH_RMS: Final = 6_000.0

Pcm = npt.NDArray[np.int16]


def silence(samples: int) -> Pcm:
    """``samples`` of digital silence."""
    return np.zeros(samples, dtype=np.int16)


class Resampler:
    """A stateful resampler for one stream of mono int16 audio.

    One instance per stream: resampling chunks one by one with fresh state clicks at every chunk
    boundary, because the filter forgets the samples it had.
    """

    def __init__(self, input_rate: int, output_rate: int = SAMPLE_RATE_HZ) -> None:
        self.input_rate = input_rate
        self.output_rate = output_rate
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=output_rate)
        self._pts = 0

    def push(self, pcm: Pcm) -> Pcm:
        """Resample the next piece of the stream; may hold back a few samples until :meth:`flush`."""
        if pcm.size == 0:
            return silence(0)
        if self.input_rate == self.output_rate:
            return pcm.astype(np.int16, copy=False)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = self.input_rate
        frame.pts = self._pts
        self._pts += pcm.size
        return self._collect(self._resampler.resample(frame))

    def flush(self) -> Pcm:
        """Return the samples still held in the filter; the stream ends here."""
        if self.input_rate == self.output_rate:
            return silence(0)
        return self._collect(self._resampler.resample(None))

    @staticmethod
    def _collect(frames: list[av.AudioFrame]) -> Pcm:
        if not frames:
            return silence(0)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16, copy=False)


def resample(pcm: Pcm, input_rate: int, output_rate: int = SAMPLE_RATE_HZ) -> Pcm:
    """Resample one whole utterance."""
    resampler = Resampler(input_rate, output_rate)
    return np.concatenate([resampler.push(pcm), resampler.flush()])


def loudness(pcm: Pcm) -> float:
    """Speech loudness of a chunk, 0 (silent) to 1 (full speech level)."""
    if pcm.size == 0:
        return 0.0
    rms = float(np.sqrt(np.mean(np.square(pcm.astype(np.float32)))))
    return min(1.0, rms / FULL_SCALE_SPEECH_RMS)


VISEME_BANDS_HZ: Final = (80.0, 400.0, 1000.0, 2500.0, 5000.0, 10_000.0)
"""Edges of the bands the mouth shape is read from: voicing and the first formant of closed vowels
(80-400 Hz), F1 of open vowels (400-1000), F2 (1000-2500), F2 of front vowels and F3 (2500-5000),
and the hiss of fricatives (5000-10000)."""
_BAND_WINDOW: Final = np.hanning(CHUNK_SAMPLES).astype(np.float32)
_BAND_EDGES: Final = np.round(np.asarray(VISEME_BANDS_HZ) * CHUNK_SAMPLES / SAMPLE_RATE_HZ).astype(np.intp)


def band_shares(pcm: Pcm) -> tuple[float, ...]:
    """Share of a chunk's energy in each of the ``VISEME_BANDS_HZ`` bands (they sum to 1; all 0 in silence).

    One windowed FFT of the chunk (about 20 us for 20 ms of audio): what lets the mouth tell an
    "ee" from an "oo" when the voice engine gives no phoneme timing.
    """
    x = pcm.astype(np.float32)
    if x.size != CHUNK_SAMPLES:
        x = np.resize(x, CHUNK_SAMPLES) if x.size else np.zeros(CHUNK_SAMPLES, np.float32)
    power = np.abs(np.fft.rfft(x * _BAND_WINDOW)) ** 2
    energy = np.add.reduceat(power[: _BAND_EDGES[-1]], _BAND_EDGES[:-1])
    total = float(energy.sum())
    if total <= 1e-3 or not np.isfinite(total):
        return (0.0,) * (len(VISEME_BANDS_HZ) - 1)
    return tuple(float(e) / total for e in energy)


def normalise_peak(pcm: Pcm, peak: float = 0.89) -> Pcm:
    """Scale an utterance so its peak sits at ``peak`` of full scale (engines differ a lot in level)."""
    if pcm.size == 0:
        return pcm
    current = float(np.max(np.abs(pcm.astype(np.int32))))
    if current < 1.0:
        return pcm
    gain = peak * 32767.0 / current
    scaled: Pcm = np.clip(pcm.astype(np.float32) * gain, -32768, 32767).astype(np.int16)
    return scaled


def speech_bounds(pcm: Pcm, rate: int, floor_db: float = -30.0, margin_s: float = 0.01) -> tuple[int, int]:
    """``(start, end)`` samples of the sound in ``pcm``: the first and last 10 ms frames within
    ``floor_db`` of the loudest, widened by ``margin_s``; ``(0, 0)`` when it is all silence."""
    frame = max(1, rate // 100)
    n = -(-pcm.size // frame) * frame
    if n == 0:
        return 0, 0
    x = np.zeros(n, np.float64)
    x[: pcm.size] = pcm.astype(np.float64)
    power = np.mean(np.square(x.reshape(-1, frame)), axis=1)
    loud = np.flatnonzero(power > power.max() * 10 ** (floor_db / 10))
    if power.max() <= 0 or not loud.size:
        return 0, 0
    margin = round(margin_s * rate)
    return max(0, int(loud[0]) * frame - margin), min(pcm.size, (int(loud[-1]) + 1) * frame + margin)


SPEECH_LOUDNESS_DBFS: Final = -19.0
"""Loudness every voice is brought to: RMS of the speech (silence gated out) relative to full scale."""
_GATE_DBFS: Final = -45.0  # 20 ms frames quieter than this are pauses and do not count
_LIMITER_KNEE: Final = 0.7  # of full scale: samples above this are softly compressed towards full scale


def active_rms_dbfs(pcm: Pcm, frame: int = CHUNK_SAMPLES) -> float:
    """RMS level of the speech in an utterance in dBFS, leaving out silent 20 ms frames (-inf if silent)."""
    x = pcm.astype(np.float64) / 32768.0
    n = x.size // frame * frame
    if n == 0:
        return float("-inf")
    power = np.mean(np.square(x[:n].reshape(-1, frame)), axis=1)
    active = power[power > 10 ** (_GATE_DBFS / 10)]
    if active.size == 0:
        return float("-inf")
    return float(10 * np.log10(np.mean(active)))


def normalise_loudness(pcm: Pcm, target_dbfs: float = SPEECH_LOUDNESS_DBFS, gain: float = 1.0) -> Pcm:
    """Bring an utterance's speech loudness to ``target_dbfs`` (engines differ by 10 dB and more),
    times an extra linear ``gain`` (a voice's volume).

    Peaks the gain would push past ``_LIMITER_KNEE`` go through a soft limiter (tanh above the knee)
    instead of lowering the whole utterance: a plosive must not make one sentence quieter than the
    next, and nothing clips.
    """
    level = active_rms_dbfs(pcm)
    if not np.isfinite(level):
        return pcm
    x = pcm.astype(np.float64) * (gain * 10 ** ((target_dbfs - level) / 20)) / 32768.0
    magnitude = np.abs(x)
    over = magnitude > _LIMITER_KNEE
    if over.any():
        room = 1.0 - _LIMITER_KNEE
        limited = _LIMITER_KNEE + room * np.tanh((magnitude[over] - _LIMITER_KNEE) / room)
        x[over] = np.sign(x[over]) * limited
    scaled: Pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
    return scaled

"""Read any audio file PyAV can decode (wav, mp3, ogg, webm, ...) as 16 kHz mono float32.

PyAV carries its own FFmpeg libraries, so no ``ffmpeg`` binary is needed.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from avatar.engines.asr.base import SAMPLE_RATE_HZ, Audio

MAX_FILE_SECONDS = 3 * 60 * 60  # a longer file is refused rather than read into memory


def read_audio(path: str | Path) -> Audio:
    """Decode the first audio stream of ``path`` to 16 kHz mono float32 in [-1, 1].

    Raises ValueError with the file name and what is wrong: missing, not audio, or empty.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such audio file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a readable audio file ({error})") from error
    pieces: list[Audio] = []
    total = 0
    try:
        if not container.streams.audio:
            raise ValueError(f"{path}: has no audio stream")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE_HZ)
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                piece = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                pieces.append(piece)
                total += piece.size
            if total > MAX_FILE_SECONDS * SAMPLE_RATE_HZ:
                raise ValueError(f"{path}: longer than {MAX_FILE_SECONDS // 3600} hours")
        pieces.extend(o.to_ndarray().reshape(-1).astype(np.float32) for o in resampler.resample(None))
    except av.error.FFmpegError as error:
        raise ValueError(f"{path}: could not decode its audio ({error})") from error
    finally:
        container.close()
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if audio.size == 0:
        raise ValueError(f"{path}: contains no audio")
    clipped: Audio = np.clip(audio, -1.0, 1.0).astype(np.float32, copy=False)
    return clipped

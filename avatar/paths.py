"""Where avatar keeps files it makes at setup (converted model checkpoints, caches) and its records.

Models converted from the bundled packages (Whisper, the Coqui copy of the Piper voice) live in one
cache folder so `make setup` can build them once and the show and tests find them offline.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cache_dir(*parts: str) -> Path:
    """A folder under the model cache (``$AVATAR_CACHE``, else ``<repo>/.cache/avatar``), created."""
    root = Path(os.environ.get("AVATAR_CACHE") or PROJECT_ROOT / ".cache" / "avatar")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(*parts: str) -> Path:
    """A folder for the show's own records (``$AVATAR_DATA``, else ``<repo>/.data``), created."""
    root = Path(os.environ.get("AVATAR_DATA") or PROJECT_ROOT / ".data")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path

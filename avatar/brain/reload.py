"""Hot reload of a running scene: edit ``products.yaml`` or ``scene.yaml`` during the show.

The show polls the files' modification times on its own clock (every ``interval_s``); when one
changed, the whole scene is loaded and validated again. A good edit replaces the scene (the stream
never restarts); a broken one is logged with its file and field and the old scene stays on air, so
a typo in a price can never take the show down or put a wrong fact on air.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from avatar.brain.compliance import RULES_FILE
from avatar.brain.scene import SCENE_FILE, Scene, load_scene
from avatar.errors import DataError

__all__ = ["POLL_INTERVAL_S", "SceneReloader"]

log = logging.getLogger(__name__)

POLL_INTERVAL_S: Final = 2.0


class SceneReloader:
    """Watches a scene's files and loads the scene again when they change."""

    def __init__(self, scene: Scene, *, interval_s: float = POLL_INTERVAL_S, start: float = 0.0) -> None:
        self.root = scene.root
        self.interval_s = interval_s
        self.products_file = scene.catalog.source
        self._next_poll = start + interval_s
        self._stamps = self._read_stamps()
        self.reloads = 0
        self.failures = 0
        self.last_error: str | None = None

    def _files(self) -> tuple[Path, ...]:
        return (self.root / SCENE_FILE, self.products_file, self.root / RULES_FILE)

    def _read_stamps(self) -> tuple[tuple[int, int] | None, ...]:
        stamps: list[tuple[int, int] | None] = []
        for file in self._files():
            try:
                stat = file.stat()
            except OSError:
                stamps.append(None)
            else:
                stamps.append((stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def poll(self, now: float) -> Scene | None:
        """The reloaded scene when a file changed and the new version is valid, else None."""
        if now < self._next_poll:
            return None
        self._next_poll = now + self.interval_s
        stamps = self._read_stamps()
        if stamps == self._stamps:
            return None
        self._stamps = stamps
        try:
            scene = load_scene(self.root)
        except DataError as error:
            self.failures += 1
            self.last_error = str(error)
            log.error("scene edit refused, the show keeps the previous version: %s", error)
            return None
        except Exception as error:  # a reload must never stop the show
            self.failures += 1
            self.last_error = f"{type(error).__name__}: {error}"
            log.exception("scene reload failed, the show keeps the previous version")
            return None
        self.products_file = scene.catalog.source
        self._stamps = self._read_stamps()
        self.reloads += 1
        self.last_error = None
        log.info("scene %s reloaded (%d products)", scene.name, len(scene.catalog))
        return scene

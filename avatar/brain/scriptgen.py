"""Presenter scripts written by the LLM from the scene's lines, cached on disk per product.

For every segment the scene's template lines are filled from the catalog, and the phrasing model
rewords each one (one reworded line per template line, same order, so the run of show keeps its
place). Each reworded line goes through the fact lock; a line that fails, or any line while no
model is loaded, stays the template line. Scripts are cached under
``avatar.paths.cache_dir("scripts")`` keyed by a hash of the product's data, the template lines
and the model, so they are written once and rewritten only when the product or its lines change.
Cached lines are checked again when loaded (the rules may have changed since).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from avatar.brain.catalog import Product
from avatar.brain.phrasing import Phraser
from avatar.brain.scene import Scene, Segment
from avatar.brain.script import script_lines
from avatar.brain.show import RunOfShow
from avatar.paths import cache_dir

__all__ = ["LINE_BUDGET_S", "GeneratedScript", "ScriptWriter", "script_key", "write_all"]

log = logging.getLogger(__name__)

LINE_BUDGET_S: Final = 20.0
"""Time the model gets per script line (written in the background, not live)."""


@dataclass(frozen=True)
class GeneratedScript:
    """One segment's lines as the host will say them, and which ones the model wrote."""

    product_id: str
    language: str
    templates: tuple[str, ...]  # the filled scene lines, in order
    lines: tuple[str, ...]  # what is said: the model's line where it passed, else the template
    by_llm: tuple[bool, ...]


def script_key(product: Product, templates: list[str], language: str, engine: str | None) -> str:
    """The cache key: product data, the filled lines, the language and the model."""
    digest = hashlib.sha256(repr(product).encode())
    for text in (*templates, language, engine or ""):
        digest.update(b"\x00" + text.encode())
    return digest.hexdigest()[:24]


class ScriptWriter:
    """Writes and caches scripts for a scene's segments with a :class:`Phraser`."""

    def __init__(self, phraser: Phraser, folder: Path | None = None) -> None:
        self.phraser = phraser
        self.folder = folder
        self.written = 0  # lines the model wrote (this process)
        self.fallbacks = 0  # lines that stayed templates

    def _file(self, key: str, product_id: str) -> Path:
        folder = self.folder or cache_dir("scripts")
        return folder / f"{product_id}-{key}.json"

    async def write(
        self, scene: Scene, segment: Segment, language: str, should_pause: Callable[[], bool] | None = None
    ) -> GeneratedScript:
        """The segment's script: from the cache when the data is unchanged, else written now."""
        product = scene.catalog.get(segment.product_id)
        templates = script_lines(scene, segment, language)
        key = script_key(product, templates, language, self.phraser.engine_name)
        file = self._file(key, product.id)
        cached = self._load(file, templates, language, product.id)
        if cached is not None:
            return cached
        lines: list[str] = []
        by_llm: list[bool] = []
        for template in templates:
            if should_pause is not None and should_pause():
                # Viewers are waiting for answers on the same model: leave the rest as templates
                # for now and do not cache a half-written script.
                lines.append(template)
                by_llm.append(False)
                continue
            text, reason, _ = await self.phraser.reword(
                template, language, product.id, budget_s=LINE_BUDGET_S
            )
            accepted = reason is None and text is not None
            lines.append(text if accepted and text is not None else template)
            by_llm.append(accepted)
            if accepted:
                self.written += 1
            else:
                self.fallbacks += 1
        script = GeneratedScript(product.id, language, tuple(templates), tuple(lines), tuple(by_llm))
        complete = self.phraser.ready and not (should_pause is not None and should_pause())
        if complete:
            self._save(file, script)
        return script

    def _load(
        self, file: Path, templates: list[str], language: str, product_id: str
    ) -> GeneratedScript | None:
        if not file.is_file():
            return None
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            lines = [str(line) for line in data["lines"]]
            by_llm = [bool(flag) for flag in data["by_llm"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("script cache %s unreadable, writing it again: %s", file, error)
            return None
        if len(lines) != len(templates) or len(by_llm) != len(templates):
            return None
        checked: list[str] = []
        for line, template, flag in zip(lines, templates, by_llm, strict=True):
            # Re-check: a rule or the catalog may have changed since the line was written.
            verdict = self.phraser.lock.check(line, template, language, product_id) if flag else None
            checked.append(verdict.text if verdict is not None and verdict.ok else template)
        return GeneratedScript(
            product_id,
            language,
            tuple(templates),
            tuple(checked),
            tuple(c != t for c, t in zip(checked, templates, strict=True)),
        )

    @staticmethod
    def _save(file: Path, script: GeneratedScript) -> None:
        data = {"product": script.product_id, "lines": list(script.lines), "by_llm": list(script.by_llm)}
        tmp = file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(file)


async def write_all(
    writer: ScriptWriter, scene: Scene, run_of_show: RunOfShow, should_pause: Callable[[], bool] | None = None
) -> int:
    """Write (or load) the script of every segment and hand it to the run of show; returns how many
    lines the model wrote. Does nothing while the model is not loaded."""
    if not writer.phraser.ready:
        return 0
    written = 0
    for index, segment in enumerate(scene.segments):
        script = await writer.write(scene, segment, run_of_show.language, should_pause)
        if run_of_show.scene is not scene:
            break  # the scene was reloaded meanwhile; its own pass takes over
        run_of_show.use_script(index, script.templates, script.lines)
        written += sum(script.by_llm)
    log.info("scripts ready for %s: %d lines written by %s", scene.name, written, writer.phraser.engine_name)
    return written

"""Presenter scripts written by the LLM from the scene's lines, cached on disk per product.

For every segment the scene's template lines are filled from the catalog, and the model words each
one (one line per template line, same order, so the run of show keeps its place): a configured
model writes it from the product's data (:class:`~avatar.brain.wording.AnswerWriter`, each
sentence checked against the template's), a small local model rewords it. Every line goes through
the fact lock and the meaning check; a line that fails, or any line while no model is loaded,
stays the template line. The bundled SmolLM2 writes no script at all (see
:attr:`~avatar.brain.phrasing.Phraser.rewrites_scripts`). Scripts are cached under
``avatar.paths.cache_dir("scripts")`` keyed by a hash of the product's data, the template lines
and the model, so they are written once and rewritten only when the product or its lines change.
Cached lines are checked again when loaded (the rules may have changed since).

Writing runs next to the live stream on a 2-core machine, so it takes the CPU politely: one line
at a time, a pause after each line, and no line at all while ``should_pause`` says the show needs
the model or the CPU (viewers waiting, an answer being worded or spoken, the renderer lagging). A
line cancelled for a live answer is tried again once the show is quiet.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from avatar.brain.answerer import Answer
from avatar.brain.catalog import Product
from avatar.brain.phrasing import PREEMPTED, Phraser
from avatar.brain.scene import Scene, Segment
from avatar.brain.script import script_lines
from avatar.brain.show import RunOfShow
from avatar.brain.tools import run_tool
from avatar.brain.wording import AnswerWriter
from avatar.engines.llm import ToolCall
from avatar.paths import cache_dir

__all__ = ["LINE_BUDGET_S", "GeneratedScript", "ScriptWriter", "script_key", "write_all"]

log = logging.getLogger(__name__)

LINE_BUDGET_S: Final = 20.0
"""Time the model gets per script line (written in the background, not live)."""
LINE_PAUSE_S: Final = 1.0
"""Rest after each line written: the stream's render and encode get the CPU back in between."""
WAIT_POLL_S: Final = 0.5
"""How often a paused writer looks again whether the show is quiet."""
MAX_WAIT_S: Final = 300.0
"""A writer paused this long leaves the line a template (and the script uncached) and goes on."""
MAX_ATTEMPTS: Final = 3
"""Tries per line when live answers keep cancelling it."""

Sleep = Callable[[float], Awaitable[None]]


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

    def __init__(
        self,
        phraser: Phraser,
        folder: Path | None = None,
        *,
        pause_s: float = LINE_PAUSE_S,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """``pause_s``: rest after each line; ``sleep``: how to wait (tests drive it)."""
        self.phraser = phraser
        self.folder = folder
        self.pause_s = pause_s
        self.sleep = sleep
        self.writer = AnswerWriter(phraser)  # a configured model writes lines from product data
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
        complete = True
        for template in templates:
            text: str | None = None
            reason: str | None = PREEMPTED
            for _ in range(MAX_ATTEMPTS):
                if not await self._quiet(should_pause):
                    break
                if self.phraser.whole_answers:
                    text, reason = await self._write_line(template, language, product)
                else:
                    text, reason, _ms = await self.phraser.reword(
                        template, language, product.id, budget_s=LINE_BUDGET_S
                    )
                if reason != PREEMPTED:
                    break
            accepted = reason is None and text is not None
            lines.append(text if accepted and text is not None else template)
            by_llm.append(accepted)
            if accepted:
                self.written += 1
            else:
                self.fallbacks += 1
                # A line the show kept the model from is not the model's verdict: do not cache it.
                complete = complete and reason not in (PREEMPTED, None)
            if self.pause_s > 0:
                await self.sleep(self.pause_s)
        script = GeneratedScript(product.id, language, tuple(templates), tuple(lines), tuple(by_llm))
        if complete and self.phraser.ready:
            self._save(file, script)
        return script

    async def _write_line(
        self, template: str, language: str, product: Product
    ) -> tuple[str | None, str | None]:
        """A configured model writes the line from the product's data, sentence by sentence, each
        checked against the template's sentence at its place: (the line, None) when the model
        worded at least one sentence, else (None, why)."""
        facts = {
            key: str(value)
            for key, value in json.loads(
                run_tool(
                    ToolCall("script", "get_product", {"product_id": product.id}),
                    self.phraser.lock.catalog,
                    language,
                )
            ).items()
            if key in ("name", "price", "stock", "deal", "specs", "selling_points")
        }
        answer = Answer(template, product.id, "script", language, facts)
        said = [s async for s in self.writer.sentences(answer, "", budget_s=LINE_BUDGET_S, live=False)]
        reasons = [s.reason for s in said if s.reason]
        if PREEMPTED in reasons:
            return None, PREEMPTED
        if not any(s.by == "llm" for s in said):
            return None, reasons[0] if reasons else "no sentence"
        return ("" if language == "zh" else " ").join(s.text for s in said), None

    async def _quiet(self, should_pause: Callable[[], bool] | None) -> bool:
        """Wait (bounded) until the show does not need the model or the CPU; False if it never did."""
        waited = 0.0
        while should_pause is not None and should_pause():
            if waited >= MAX_WAIT_S:
                return False
            await self.sleep(WAIT_POLL_S)
            waited += WAIT_POLL_S
        return True

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
            verdict = self.phraser.check(line, template, language, product_id) if flag else None
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

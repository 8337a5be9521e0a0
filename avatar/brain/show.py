"""The run of show: which scripted line comes next, and where to resume after a question.

Segments play in order and loop forever (the show is 24/7). A line cut short by a viewer's question
is resumed from the sentence that was interrupted, so the audience never misses a fact.
"""

from __future__ import annotations

from dataclasses import dataclass

from avatar.brain.scene import Scene
from avatar.brain.script import script_lines
from avatar.engines.tts.text import split_sentences


@dataclass(frozen=True)
class ScriptLine:
    """One line the host will say about a product."""

    product_id: str
    text: str
    segment: int
    line: int


class RunOfShow:
    """A cursor over the scene's segments and their lines."""

    def __init__(self, scene: Scene, language: str | None = None) -> None:
        if not scene.segments:
            raise ValueError(f"{scene.root}: segments: the run of show is empty")
        self.scene = scene
        self.language = language or scene.language
        self._segment = 0
        self._line = 0
        self._resume: ScriptLine | None = None
        self.passes = 0  # how many times the whole run of show has looped
        # segment index -> (filled template lines, lines to say instead): scripts the LLM wrote.
        self._scripts: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    @property
    def current_product_id(self) -> str:
        """The product of the segment on air."""
        return self.scene.segments[self._segment].product_id

    @property
    def segment_index(self) -> int:
        """The index of the segment on air."""
        return self._segment

    @property
    def segment_done(self) -> bool:
        """True when every line of the segment on air has been said (the next line starts the next one)."""
        if self._resume is not None:
            return False
        segment = self.scene.segments[self._segment]
        return self._line >= len(script_lines(self.scene, segment, self.language))

    def use_script(self, segment: int, templates: tuple[str, ...], lines: tuple[str, ...]) -> None:
        """Say ``lines`` instead of the segment's filled lines while those are still ``templates``
        (once a promo ends or the catalog changes, the fresh template lines are said)."""
        if len(templates) == len(lines):
            self._scripts[segment] = (templates, lines)

    def _lines(self, index: int) -> list[str]:
        lines = script_lines(self.scene, self.scene.segments[index], self.language)
        script = self._scripts.get(index)
        if script is not None and script[0] == tuple(lines):
            return list(script[1])
        return lines

    def use_scene(self, scene: Scene) -> None:
        """A reloaded scene: keep the place in the show where the segments still allow it."""
        self.scene = scene
        self._scripts.clear()
        if self._segment >= len(scene.segments):
            self._segment, self._line = 0, 0
        self._resume = None if self._resume is None or self._resume.product_id in scene.catalog else None

    def next_line(self) -> ScriptLine:
        """The next line to say (the rest of an interrupted line first)."""
        if self._resume is not None:
            line, self._resume = self._resume, None
            return line
        segment = self.scene.segments[self._segment]
        lines = self._lines(self._segment)
        if self._line >= len(lines) or (self._line == 0 and self._sold_out(self._segment)):
            self._advance()
            # A sold-out product's segment skips itself (a show whose products all sold out still talks).
            for _ in range(len(self.scene.segments) - 1):
                if not self._sold_out(self._segment):
                    break
                self._advance()
            segment = self.scene.segments[self._segment]
            lines = self._lines(self._segment)
        line = ScriptLine(segment.product_id, lines[self._line], self._segment, self._line)
        self._line += 1
        return line

    def _advance(self) -> None:
        self._segment = (self._segment + 1) % len(self.scene.segments)
        if self._segment == 0:
            self.passes += 1
        self._line = 0

    def _sold_out(self, index: int) -> bool:
        product_id = self.scene.segments[index].product_id
        if self.scene.catalog.get(product_id).stock > 0:
            return False
        return any(self.scene.catalog.get(s.product_id).stock > 0 for s in self.scene.segments)

    def resume(self, line: ScriptLine, sentences_done: int) -> None:
        """Say the rest of ``line`` (from sentence ``sentences_done``) before moving on."""
        rest = split_sentences(line.text)[sentences_done:]
        if rest:
            self._resume = ScriptLine(line.product_id, " ".join(rest), line.segment, line.line)

    # -- operator and restart hooks (avatar.ops) ------------------------------------------------
    @property
    def position(self) -> tuple[int, int]:
        """(segment, next line): where the script stands, saved so a restart resumes there."""
        return self._segment, self._line

    def seek(self, segment: int, line: int) -> None:
        """Continue from a saved :attr:`position` (clamped to the scene as it is now)."""
        self._segment = min(max(0, segment), len(self.scene.segments) - 1)
        self._line = max(0, line)
        self._resume = None

    def jump_to(self, product_id: str) -> bool:
        """Start the first segment about ``product_id`` from its first line; False if none is."""
        for index, segment in enumerate(self.scene.segments):
            if segment.product_id == product_id:
                self.seek(index, 0)
                return True
        return False

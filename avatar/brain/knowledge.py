"""A shop's catalog as facts a question can be matched against.

Every spec, safety entry, FAQ, offer, the shipping text and the variant list of each product
becomes a :class:`Fact`: its field name (``spec:spf``, ``safety:allergens``, ``faq:2``,
``offer:1``, ``shipping``, ``variants``), the words that say what it is about (key, label, FAQ
question) and what it says (value, answer), and the general concepts both speak of
(:mod:`avatar.brain.lexicon`). :func:`best_fact` answers "which of this product's facts is the
question about" from those, so a field the demo never had works as soon as a shop writes it; when
the words are not sure, the question's meaning (:mod:`avatar.brain.semantic`) decides with them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final

from avatar.brain.catalog import Catalog, Product, Variant
from avatar.brain.language import is_cjk, stems, zh_pairs
from avatar.brain.lexicon import lexicon
from avatar.brain.semantic import margins
from avatar.zh_segment import zh_words

__all__ = [
    "AMOUNT",
    "COMMERCE",
    "FACT_MATCH",
    "MEANING_LEAD",
    "MEANING_MATCH",
    "MEANING_WEIGHT",
    "Fact",
    "FactHit",
    "best_fact",
    "candidates",
    "catalog_facts",
    "fact_scores",
    "facts_of",
    "option_words",
    "says_word",
    "score_fact",
    "telling_apart",
    "word_owners",
]

FACT_MATCH: Final = 0.40
"""A fact scoring at least this is what the question is about."""


@dataclass(frozen=True)
class Fact:
    """One catalog fact of a product, ready for matching."""

    product_id: str
    field: str  # spec:<key>, safety:<key>, faq:<n>, offer:<n>, point:<n>, shipping, variants
    cue_words: tuple[frozenset[str], ...]  # per language: words of what it is about (key, label, question)
    value_words: tuple[frozenset[str], ...]  # per language: words of what it says (value, answer)
    cue_concepts: frozenset[str]
    value_concepts: frozenset[str]
    verdict: bool = False  # an FAQ answered "yes"/"no": right only for the question it was written to
    pairs: frozenset[str] = frozenset()  # Chinese character pairs of its cue and value ("螺丝")


@dataclass(frozen=True)
class FactHit:
    """A fact and how well a question matches it (0..1)."""

    fact: Fact
    score: float


def _fact(product: Product, field: str, cue: list[str], value: list[str]) -> Fact:
    # Words per language: an English question is compared with the English text alone, so the
    # Chinese version does not dilute the overlap (and the other way round).
    words = lexicon()
    cue_text, value_text = " ".join(cue), " ".join(value)
    return Fact(
        product.id,
        field,
        tuple(stems(text) for text in cue if text.strip()),
        tuple(stems(text) for text in value if text.strip()),
        words.concepts_in(cue_text),
        # "每2周清洗一次" speaks of time, "保修1年" too: what its amounts measure is said as well.
        words.concepts_in(value_text) | words.measured_in(value_text),
        pairs=zh_pairs(cue_text) | zh_pairs(value_text),
    )


_VERDICT = re.compile(r"\s*(?:yes|no|yep|nope|sure|可以|不|有|没|是的|会|能)(?![a-z])", re.IGNORECASE)


def facts_of(product: Product) -> tuple[Fact, ...]:
    """Every fact of ``product`` that a viewer question can be about."""
    facts = []
    for spec in product.specs:
        cue = [spec.key.replace("_", " "), *spec.label.values()]
        fact = _fact(product, f"spec:{spec.key}", cue, list(spec.value.values()))
        if not fact.cue_concepts - {"net_content"}:
            # A label that says nothing of its own ("果径: 75–85毫米") or only "net content" ("净含量:
            # 500克玻璃瓶" answers "一瓶多重") is about what its value's unit measures. (A label of
            # its own keeps to it: "Recharge time: 2 hours with a 65 W charger" is no power spec.)
            measured = lexicon().measured_in(" ".join(spec.value.values()))
            fact = replace(fact, cue_concepts=fact.cue_concepts | measured)
        facts.append(fact)
    for entry in product.safety:
        cue = [entry.key.replace("_", " "), *entry.label.values()]
        facts.append(_fact(product, f"safety:{entry.key}", cue, list(entry.value.values())))
    for number, faq in enumerate(product.faq, start=1):
        fact = _fact(product, f"faq:{number}", list(faq.question.values()), list(faq.answer.values()))
        facts.append(replace(fact, verdict=any(_VERDICT.match(answer) for answer in faq.answer.values())))
    for number, offer in enumerate(product.offers, start=1):
        facts.append(_fact(product, f"offer:{number}", list(offer.values()), []))
    if product.shipping:
        facts.append(_fact(product, "shipping", [], list(product.shipping.values())))
    # Selling points say what the product is good for ("quiets a busy commute"); as cues they
    # answer "can it ...?" questions no spec names.
    count = max((len(points) for points in product.selling_points.values()), default=0)
    for number in range(1, count + 1):
        said = [points[number - 1] for points in product.selling_points.values() if len(points) >= number]
        facts.append(_fact(product, f"point:{number}", said, []))
    if product.variants:
        cue = [
            *product.variant_label.values(),
            *(n for v in product.variants for n in v.names.values()),
            *lexicon().option_kinds,
        ]
        if any(AMOUNT.search(name) for name in cue):
            cue.append("size")  # options of 160 ml and 240 ml are sizes: "does it come in a smaller size?"
        facts.append(_fact(product, "variants", cue, []))
    return tuple(facts)


# A number with its unit ("160 ml", "500g", "2升", "65 W"): an option measured in a unit is a size of
# one thing, and an amount in a question names an option or a quantity, not what is asked.
AMOUNT: Final = re.compile(
    r"\d+(?:\.\d+)?\s*(?:ml|l|g|kg|oz|lb|lbs|cm|mm|in|inch|w|v|mah|毫升|升|克|千克|公斤|斤|厘米|毫米|米|寸|瓦|伏|毫安)(?![a-z])",
    re.IGNORECASE,
)


@lru_cache(maxsize=16)
def catalog_facts(catalog: Catalog) -> dict[str, tuple[Fact, ...]]:
    """Facts per product id (catalogs are immutable once loaded, hashed by identity)."""
    return {product.id: facts_of(product) for product in catalog.products}


@lru_cache(maxsize=16)
def word_owners(catalog: Catalog) -> dict[str, frozenset[str]]:
    """Word or concept -> the products whose facts use it: which products to score at all, so a
    question costs the products it could be about, not the whole catalog."""
    owners: dict[str, set[str]] = {}
    for product_id, facts in catalog_facts(catalog).items():
        for fact in facts:
            for word in frozenset().union(
                *fact.cue_words, *fact.value_words, fact.cue_concepts, fact.value_concepts
            ):
                owners.setdefault(word, set()).add(product_id)
    return {word: frozenset(ids) for word, ids in owners.items()}


def candidates(catalog: Catalog, words: frozenset[str], concepts: frozenset[str]) -> frozenset[str]:
    """Products sharing a word or a concept with a question."""
    owners = word_owners(catalog)
    found: set[str] = set()
    for key in (*words, *concepts):
        found |= owners.get(key, frozenset())
    return frozenset(found)


def _overlap(a: frozenset[str], texts: tuple[frozenset[str], ...]) -> float:
    """Cosine-style word overlap with the best-matching text (one per language)."""
    best = 0.0
    for b in texts:
        if a and b:
            best = max(best, len(a & b) / math.sqrt(len(a) * len(b)))
    return best


# Concepts every product's shipping text speaks of: they pick the shipping fact, never a spec.
_SHIPPING_CONCEPTS = frozenset({"shipping", "returns", "warranty", "return_cost"})


@lru_cache(maxsize=16)
def _rarity(catalog: Catalog) -> dict[str, dict[str, float]]:
    """Per product: for each word, 1 / the number of its facts that use it."""
    table: dict[str, dict[str, float]] = {}
    for product_id, facts in catalog_facts(catalog).items():
        counts: dict[str, int] = {}
        for fact in facts:
            for word in frozenset().union(*fact.cue_words, *fact.value_words):
                counts[word] = counts.get(word, 0) + 1
        table[product_id] = {word: 1.0 / count for word, count in counts.items()}
    return table


@lru_cache(maxsize=16)
def _pair_rarity(catalog: Catalog) -> dict[str, dict[str, float]]:
    """Per product: for each Chinese character pair of its facts, 1 / the number of facts using it.
    Left out: pairs of the product's and its options' names (they say which product or option, not
    which fact) and pairs that name a concept ("安全", "电池"), which the concepts weigh already."""
    table: dict[str, dict[str, float]] = {}
    for product in catalog.products:
        names = [*product.names.values(), *product.aliases]
        names += [name for option in product.variants for name in (*option.names.values(), *option.aliases)]
        named = frozenset().union(*(zh_pairs(name) for name in names))
        counts: dict[str, int] = {}
        for fact in catalog_facts(catalog).get(product.id, ()):
            for pair in fact.pairs - named:
                if not lexicon().concepts_in(pair):
                    counts[pair] = counts.get(pair, 0) + 1
        table[product.id] = {pair: 1.0 / count for pair, count in counts.items()}
    return table


_POINT_ABOUT_DISCOUNT = 0.15  # tuned sets +8, no case lost; blind sets +2, -2
_PAIR_WEIGHT = 1.5  # chosen on the tuned sets: 1.0 and 2.0 both scored lower there
_AGES = frozenset({"kids", "age"})  # what a catalog's age warnings speak of


def score_fact(fact: Fact, words: frozenset[str], concepts: frozenset[str]) -> float:
    """How well a question (its content words and concepts) matches ``fact``, 0..1.

    A concept the fact is *about* (its label or FAQ question) counts most; one it merely mentions
    in its value counts less; shared words add on top. Shipping questions only match the
    shipping text or an FAQ, so "does it ship fast" never picks a spec that says "fast".
    """
    about = concepts & fact.cue_concepts
    mentions = concepts & fact.value_concepts
    if about and about <= WHO:
        # "有螺丝吗 我家娃啥都拧" shares only the child with "孩子坐压了会坏吗": who a question is
        # about is no sign of what it asks (it still counts as a mention).
        about, mentions = frozenset(), mentions | about
    if about == {"time"} and concepts - _BESIDE_TIME:
        # "保质期多久" asks how long of the shelf life: a fact about time alone (heating takes
        # "15 minutes") answers another how-long.
        about, mentions = frozenset(), mentions | about
    if fact.field == "shipping":
        # Any shipping, returns or warranty question is about the policy text, whatever it covers.
        about = concepts & _SHIPPING_CONCEPTS if fact.value_concepts & _SHIPPING_CONCEPTS else frozenset()
        mentions = frozenset()
    elif not fact.field.startswith("faq:") and concepts & _SHIPPING_CONCEPTS and not about:
        return 0.0
    score = 0.0
    if about:
        score = 0.6 + 0.1 * (len(about) - 1)
        if fact.field.startswith("point:"):
            # A selling point speaks of a concept to sell it; a spec, safety entry or FAQ about the
            # same concept says the fact ("can i turn it sideways": "360-degree ball joint, portrait
            # or landscape", before "Turns for portrait or landscape maps").
            score -= _POINT_ABOUT_DISCOUNT
        if fact.field.startswith(("spec:", "safety:")):
            # What else the question asks that the value speaks of: "充满能用多久" is battery (the
            # label) and time (the value says "8 hours"), not battery alone. (An FAQ's answer
            # speaks to its own question, so what it mentions is no evidence.)
            score += 0.1 * len(mentions - about)
    elif mentions:
        score = 0.35 + 0.05 * (len(mentions) - 1)
        if fact.field.startswith("safety:") and mentions & _DIETARY:
            score += 0.1  # a warning that speaks of it ("contains pork" for "halal?") answers it
    cue = 0.9 if fact.field.startswith("faq:") else 0.65  # an FAQ's question is what it is about
    score += cue * _overlap(words, fact.cue_words) + 0.25 * _overlap(words, fact.value_words)
    if fact.field.startswith("point:"):
        score *= 0.8  # a selling point answers only what no spec, FAQ or policy does
    if _misses(fact, words, concepts) or _answers_the_other(fact, concepts):
        return min(score, FACT_MATCH - 0.01)
    return min(score, 1.0)


# Questions about one thing that a fact about its counterpart never answers, however many words
# they share: how long a charge lasts and how long charging takes.
_COUNTERPARTS: Final = (("runtime", "charge_time"), ("charge_time", "runtime"))


def _answers_the_other(fact: Fact, concepts: frozenset[str]) -> bool:
    """``fact`` is about the counterpart of what is asked ("充满要多久" against the run time)."""
    return any(
        asked in concepts
        and other not in concepts
        and other in fact.cue_concepts
        and asked not in fact.cue_concepts
        for asked, other in _COUNTERPARTS
    )


_DIETARY = frozenset({"halal", "vegan", "allergens", "diet"})
# Concepts that do not say what a how-long is about ("多久" alone, "多少钱", "还剩几天").
_BESIDE_TIME = frozenset({"time", "price", "stock"})
# Concepts of what a product does, which its specs state; a safety note mentioning them warns of
# something else.
_NOT_A_WARNING = frozenset({"tracking", "compatibility", "display", "battery"})
COMMERCE: Final = frozenset({"price", "stock"})
"""Concepts that are the commerce fields themselves (asked by their own intents, not as facts)."""
_SHORT = 8  # content words in a question that asks one thing


# A question that asks for a thing or an amount, which a prepared "Yes, ..." or "No, ..." never answers.
_OPEN_QUESTION: Final = re.compile(
    r"^\W*(?:what|which|how many|how much)(?![a-z])|(?<![a-z])(?:what|which) (?:can|does|do|is|are)(?![a-z])"
    r"|什么|哪些|哪个|多少|几[个种款]",
    re.IGNORECASE,
)
# Who a question is about, not what it asks: a shared child or grandparent is no shared question.
WHO: Final = frozenset({"kids", "pregnancy", "elderly", "gender", "life_stage"})
"""Concepts of who a question is about ("kids", "孩子"), not of what it asks."""


def _shares_more_than_who(fact: Fact, words: frozenset[str], concepts: frozenset[str]) -> bool:
    """The question and the FAQ's question share a concept or a word other than who they are about."""
    if (concepts & fact.cue_concepts) - WHO:
        return True
    shared = words & frozenset().union(*fact.cue_words)
    return any(not _is_who(word) for word in shared)


def _is_who(word: str) -> bool:
    """``word`` names only who a question is about ("kid", "孩子")."""
    said = lexicon().concepts_in(word)
    return bool(said) and said <= WHO


def _misses(fact: Fact, words: frozenset[str], concepts: frozenset[str]) -> bool:
    """An FAQ whose question does not cover what was asked. A prepared answer ("Yes, it ...") said
    to another question misleads: "does it work w alexa" is not "does it work on carpet"."""
    if not fact.field.startswith("faq:"):
        return False
    if "time" in concepts and "time" not in fact.cue_concepts | fact.value_concepts:
        return True  # "充满电要多久" is not "充电时能用吗": an answer with no duration is for another
    if fact.verdict and not _shares_more_than_who(fact, words, concepts):
        # A prepared "No, the seat faces forward only" ("Can the child face me?") answers nothing
        # that only speaks of the same child ("my son is 16kg can he still ride").
        return True
    if (
        fact.verdict
        and len(words) <= _SHORT
        and concepts - COMMERCE - fact.cue_concepts - fact.value_concepts
    ):
        # A prepared "Yes, ..." said to a question that asks something more misleads: "does it
        # do wireless charging" is not "can it charge a laptop". (A long message speaks of many
        # things; its question is found by the rest of the scoring.)
        return True
    return not concepts & fact.cue_concepts and _covered(words, fact.cue_words) < 0.5


# Verbs every question uses: they count half when judging whether an FAQ covers a question.
_WEAK = frozenset(
    {"work", "come", "use", "us", "get", "have", "fit", "need", "want", "go", "make", "do", "take"}
)


def _covered(words: frozenset[str], texts: tuple[frozenset[str], ...]) -> float:
    """The weighted share of the question's English words found in the best-matching text (1.0
    when it has none)."""
    # English words only: a Chinese question's single characters are too fine-grained to judge
    # coverage by (its FAQ matches stand on the character overlap itself).
    asked = {w: (0.5 if w in _WEAK else 1.0) for w in words if len(w) >= 2 and w.isascii()}
    total = sum(asked.values())
    if not total:
        return 1.0
    return max((sum(v for w, v in asked.items() if w in text) / total for text in texts), default=0.0)


MEANING_WEIGHT: Final = 10.0
"""Score per unit of embedding-similarity lead over the runner-up fact (a lead of 0.03 adds 0.3)."""
MEANING_LEAD: Final = 0.01
"""The least lead of the best fact's similarity over the runner-up's that counts as evidence."""
MEANING_MATCH: Final = 0.35
"""Word score plus meaning lead a fact needs when the words alone did not match."""


@lru_cache(maxsize=4096)
def _concept_stems(text: str) -> frozenset[str]:
    """Stems of the words of ``text`` that name a concept ("heavy": weight). Cached: a question is
    scored against every candidate product's facts."""
    return frozenset(
        stem
        for raw in re.findall(r"[a-z]+", text.lower())
        if lexicon().concepts_in(raw)
        for stem in stems(raw)
    )


def fact_scores(
    product: Product,
    catalog: Catalog,
    words: frozenset[str],
    concepts: frozenset[str],
    listing: bool = False,
    text: str = "",
) -> dict[str, float]:
    """Every fact field of ``product`` with how well the question's words match it (0..1).

    ``text``: the question as typed; a spec's or safety entry's label said in it ("眼睛", "packed
    weight") points at that entry more than its words one by one do."""
    scores: dict[str, float] = {}
    rare = _rarity(catalog).get(product.id, {})
    rare_pairs = _pair_rarity(catalog).get(product.id, {})
    asked_pairs = zh_pairs(text) if text else frozenset()
    facts = catalog_facts(catalog).get(product.id, ())
    # Words of the question that exactly one fact uses ("alexa"): an FAQ without them answers
    # another question ("does it work with alexa" is not "does it work with 5 GHz wi-fi").
    owned = {w for w in words if len(w) >= 3 and rare.get(w, 0.0) >= 1.0}
    labelled = _labels_said(text, product) if text else frozenset()
    label_worded = _label_words_said(text, product, catalog) if text else frozenset()
    open_question = bool(_OPEN_QUESTION.search(text))
    # Words that name a concept ("heavy": weight): a fact that only mentions the concept in its
    # value ("not for heavy snow") gets nothing more for sharing the word itself.
    carriers = _concept_stems(text)
    one_warning = sum(1 for f in facts if f.field.startswith("safety:")) == 1
    for fact in facts:
        score = score_fact(fact, words, concepts)
        # A word only this fact uses ("alexa", "mah") points at it more than a common one does.
        said = frozenset().union(*fact.cue_words, *fact.value_words)
        shared = words & said if concepts & fact.cue_concepts else words & said - carriers
        distinctive = sum(rare.get(w, 0.0) for w in shared if len(w) >= 3 and rare.get(w, 0.0) >= 0.5)
        # A Chinese word (a character pair) said in one or two facts only: "螺丝" of "无螺丝". It
        # counts more than a rare English word: its two characters each count little on their own.
        pairs = (rare_pairs.get(p, 0.0) for p in asked_pairs & fact.pairs)
        distinctive += _PAIR_WEIGHT * sum(r for r in pairs if r >= 0.5)
        if (
            distinctive
            and score > 0
            and not fact.field.startswith("point:")
            and not _misses(fact, words, concepts)
        ):
            score = min(1.0, score + 0.2 * distinctive)
        if listing and fact.field == "variants" and score > 0:
            score = min(1.0, score + 0.4)  # "which flavours?": the list, not a word on one of them
        if owned and fact.field.startswith("faq:") and not owned & said:
            score = min(score, FACT_MATCH - 0.01)
        if fact.field in labelled:
            score = min(1.0, score + 0.3)
        elif fact.field in label_worded:
            score = min(1.0, score + 0.15)
        if fact.field.startswith("safety:") and "harm" in concepts:
            # "is that bad", "好怕出事": a worry is what the safety entries answer; the one that
            # shares the question's words, else the product's only one when the worry names
            # nothing else ("safe during pregnancy?" is not answered by a patch-test note).
            score = min(1.0, score + 0.25) if score > 0 else 0.0
            if concepts <= {"harm"} and one_warning:
                score = max(score, FACT_MATCH)
        if fact.field.startswith("safety:") and score > 0:
            if not concepts & _NOT_A_WARNING:
                # Of a spec and a safety note on the same thing, the warning; but "does it track
                # heart rate" asks what it does, not the "not a medical device" note on it.
                score = min(1.0, score + 0.05)
            if "age" in concepts and (fact.cue_concepts | fact.value_concepts) & _AGES:
                # "my 2 year old wants the blocks, is that ok?": the age warning, before any FAQ.
                score = min(1.0, score + 0.3)
        if fact.field.startswith("offer:") and "offer" not in concepts:
            # An offer answers a question about deals, not "does it come with a plug" because it
            # "comes with 2 extra filters".
            score = min(score, FACT_MATCH - 0.01)
        if fact.verdict and open_question:
            score = min(score, FACT_MATCH - 0.01)  # "what can u build with it" is no yes-or-no
        scores[fact.field] = score
    if "time" in concepts and not concepts & _SHIPPING_CONCEPTS:
        # "电池能用多久" asks a length of time: a fact whose value gives one (the run time) answers
        # it before one that only shares a word (the battery's "20 V 2.0 Ah").
        timed = [f.field for f in facts if "time" in f.value_concepts and scores.get(f.field, 0.0) > 0]
        if timed:
            best_timed = max(scores[f] for f in timed)
            for fact in facts:
                if "time" not in fact.value_concepts and scores[fact.field] >= best_timed:
                    scores[fact.field] = best_timed - 0.01
    variants = next((f for f in facts if f.field == "variants"), None)
    if listing and variants is not None and scores.get("variants", 0.0) > 0:
        # "what shades?", "sleeping bag sizes?": the list of options, unless another fact answers
        # something more particular ("which shade suits yellow undertones?" shares "yellow" with
        # that FAQ alone; "packed size?" shares "packed" with that spec).
        options = frozenset().union(*variants.cue_words, *variants.value_words)
        for fact in facts:
            # (An FAQ's answer counts too: "which thickness for bad knees" is the FAQ saying which
            # thickness is for the knees.)
            own = (*fact.cue_words, *fact.value_words) if fact.field.startswith("faq:") else fact.cue_words
            particular = {w for w in words & frozenset().union(*own) - options if _telling(w)}
            if fact.field != "variants" and not particular:
                scores[fact.field] = min(scores[fact.field], scores["variants"] - 0.01)
    return scores


def _labels_said(text: str, product: Product) -> frozenset[str]:
    """The spec and safety fields whose key or label ``text`` says, leaving out labels the
    product's own name says ("filter" of the Water Filter: that names the product)."""
    lowered = text.lower()
    names = " ".join((*product.names.values(), *product.aliases)).lower()
    said = set()
    for kind, entries in (("spec", product.specs), ("safety", product.safety)):
        for entry in entries:
            labels = [entry.key.replace("_", " "), *(label.strip().lower() for label in entry.label.values())]
            if any(
                label in lowered and label not in names
                for label in labels
                if len(label) >= (2 if any(is_cjk(ch) for ch in label) else 4)
            ):
                said.add(f"{kind}:{entry.key}")
    return frozenset(said)


def _label_words_said(text: str, product: Product, catalog: Catalog) -> frozenset[str]:
    """The spec and safety fields a word of whose Chinese label, and of no other label of the
    product, the question says: a label is often a word with a modifier ("粗蛋白" for "蛋白含量多少",
    "防护时间"), said by viewers without the modifier."""
    if not any(is_cjk(ch) for ch in text):
        return frozenset()
    own_words, names = _label_words(catalog)[product.id]
    asked = zh_words(text) - names
    return frozenset(field for field, own in own_words.items() if own & asked)


@lru_cache(maxsize=16)
def _label_words(catalog: Catalog) -> dict[str, tuple[dict[str, frozenset[str]], frozenset[str]]]:
    """Per product: for each spec and safety field, the Chinese words of its label no other label
    or FAQ question of the product has; and the words of the product's names."""
    table: dict[str, tuple[dict[str, frozenset[str]], frozenset[str]]] = {}
    for product in catalog.products:
        labelled = [*(("spec", e) for e in product.specs), *(("safety", e) for e in product.safety)]
        words = {f"{kind}:{e.key}": zh_words(" ".join(e.label.values())) for kind, e in labelled}
        # A word an FAQ's question also says may be asked about more particularly there ("快充"
        # of "能给iPhone快充吗" beside the fast-charge standards): it names no label alone.
        asked = zh_words(" ".join(q for faq in product.faq for q in faq.question.values()))
        own = {
            field: label - asked - frozenset().union(*(w for f, w in words.items() if f != field))
            for field, label in words.items()
        }
        table[product.id] = (own, zh_words(" ".join((*product.names.values(), *product.aliases))))
    return table


_ASKING_CHARS = frozenset("哪些什么有吗呢几个种款")


def _telling(word: str) -> bool:
    """A word that says what is asked, not only that something is ("which", 哪, 些)."""
    return len(word) >= 3 if word.isascii() else word not in _ASKING_CHARS


def _said(fact: Fact) -> frozenset[str]:
    return frozenset().union(*fact.cue_words, *fact.value_words)


def best_fact(
    product: Product,
    catalog: Catalog,
    words: frozenset[str],
    concepts: frozenset[str],
    listing: bool = False,
    meaning: Callable[[str], dict[str, float]] | None = None,
    text: str = "",
) -> FactHit | None:
    """The fact of ``product`` the question is most about, or None when nothing scores above zero.

    ``listing``: the question asks which options there are ("what flavours?"), so the variant list
    is preferred. ``meaning``: product id -> the question's embedding similarity to each fact;
    consulted only when no fact's words reach :data:`FACT_MATCH`. Then the fact whose similarity
    leads the runner-up by at least :data:`MEANING_LEAD` is taken when its word score plus the
    weighted lead reaches :data:`MEANING_MATCH` (calibrated on the shops' question sets: words
    decide what they match, meaning rescues what is said in other words).
    """
    scores = fact_scores(product, catalog, words, concepts, listing, text)
    if not scores:
        return None
    by_field = {fact.field: fact for fact in catalog_facts(catalog).get(product.id, ())}
    # On a tie, the fact about nothing else ("chair weight" over "weight limit" for "heavier").
    ranked = sorted(
        scores, key=lambda f: (scores[f], -len(by_field[f].cue_concepts - concepts)), reverse=True
    )
    field = ranked[0]
    if field.startswith("point:"):
        # A selling point answers only what no spec, FAQ or policy that also matches and says all
        # the point shares with the question does ("可以给手机充电吗": the USB spec with its 5 V 1 A;
        # "can it quiet a busy commute?" keeps the line about the commute).
        shared = words & _said(by_field[field])
        field = next(
            (
                f
                for f in ranked
                if not f.startswith("point:") and scores[f] >= FACT_MATCH and shared <= _said(by_field[f])
            ),
            field,
        )
    lexical = FactHit(by_field[field], scores[field]) if scores[field] > 0 else None
    if scores[field] >= FACT_MATCH or meaning is None:
        return lexical
    leads = margins(meaning(product.id))
    if not leads:
        return lexical
    top = max(leads, key=lambda f: leads[f])
    combined = scores.get(top, 0.0) + MEANING_WEIGHT * leads[top]
    if top not in by_field or leads[top] < MEANING_LEAD or combined < MEANING_MATCH:
        return lexical
    if _answers_the_other(by_field[top], concepts):
        return lexical  # close in meaning, but about the counterpart of what is asked
    # Reported on the words' scale, so FACT_MATCH still means "matched".
    return FactHit(by_field[top], max(FACT_MATCH, min(1.0, combined)))


def option_words(option: Variant) -> list[str]:
    """The ways the catalog may name an option inside a value: its names and aliases (Latin ones of
    two letters or more: "s" or "m" alone would match anywhere)."""
    return [w for w in (*option.names.values(), *option.aliases) if len(w) >= 2 or not w.isascii()]


def says_word(text: str, word: str) -> bool:
    """``word`` is in ``text``: as a whole word if it is in Latin letters ("men" is not in "women")."""
    if word.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None
    return word in text


def telling_apart(product: Product, skus: list[str]) -> str | None:
    """The spec field whose value names two or more of the options ``skus`` ("slow flow on the
    160 ml, medium flow on the 240 ml"): what tells them apart, or None."""
    options = [v for v in (product.variant(sku) for sku in dict.fromkeys(skus)) if v is not None]
    spoken = [[w.lower() for w in option_words(option)] for option in options]
    for spec in product.specs:
        for value in (v.lower() for v in spec.value.values()):
            if sum(1 for words in spoken if any(says_word(value, w) for w in words)) >= 2:
                return f"spec:{spec.key}"
    return None

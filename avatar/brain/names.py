"""Finding a catalog's names in a comment, fast for any catalog size.

A shop with a thousand products has tens of thousands of names, aliases and variant names; a
regular expression per name would be compiled and tried for every comment. Instead, Latin names
are looked up as runs of words (n-grams of the comment's words, a plural "s"/"es" allowed on the
last), and Chinese names by their first two characters at each position of the comment. Matching
costs about the comment's length, not the catalog's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from avatar.brain.catalog import Catalog, Product
from avatar.brain.language import is_cjk

__all__ = ["GENERIC_WORDS", "NameIndex", "NameMatch", "full_name_index", "product_index", "variant_index"]

T = TypeVar("T")

_TOKEN = re.compile(r"[a-z0-9]+")
_MAX_WORDS = 8  # longer names are matched by their first eight words


@dataclass(frozen=True)
class NameMatch(Generic[T]):
    """A name found at ``start:end`` of the lower-cased text, and what it names."""

    start: int
    end: int
    values: frozenset[T]


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]


class NameIndex(Generic[T]):
    """Phrases (names, aliases, SKUs) -> the values they name (product ids, variants)."""

    def __init__(
        self, phrases: Iterable[tuple[str, T]], exact_case: bool = False, counted: bool = True
    ) -> None:
        """``exact_case``: one- and two-letter Latin names ("M", "XL") match only in capitals, so
        "I'm" is no size M. ``counted`` False: a one-word name used as a measure ("per pot", "几盆",
        "每盆") is not that name."""
        self.exact_case = exact_case
        self.counted = counted
        latin: dict[tuple[str, ...], set[T]] = {}
        chinese: dict[str, dict[str, set[T]]] = {}
        for phrase, value in phrases:
            lowered = " ".join(phrase.lower().split())
            if not lowered:
                continue
            if any(is_cjk(ch) for ch in lowered):
                chinese.setdefault(lowered[:2], {}).setdefault(lowered, set()).add(value)  # 1 char: itself
            else:
                words = tuple(word for word, _, _ in _words(lowered))[:_MAX_WORDS]
                if words:
                    latin.setdefault(words, set()).add(value)
        self._latin = {words: frozenset(values) for words, values in latin.items()}
        self._longest = max((len(words) for words in self._latin), default=0)
        self._chinese = {
            head: sorted(((p, frozenset(v)) for p, v in entries.items()), key=lambda e: -len(e[0]))
            for head, entries in chinese.items()
        }
        self._short = {
            words[0] for words in self._latin if len(words) == 1 and len(words[0]) <= 2 and words[0].isalpha()
        }

    def find(self, text: str) -> list[NameMatch[T]]:
        """Every name in ``text`` (lower-cased positions; overlapping matches included)."""
        lowered = text.lower()
        found: list[NameMatch[T]] = []
        words = _words(lowered)
        for i in range(len(words)):
            for n in range(1, min(self._longest, len(words) - i) + 1):
                key = tuple(w for w, _, _ in words[i : i + n])
                values = self._latin.get(key)
                if values is None and key[-1].endswith("s") and len(key[-1]) > 2:
                    stem = key[-1][:-2] if key[-1].endswith("es") else key[-1][:-1]
                    values = self._latin.get((*key[:-1], stem)) or self._latin.get((*key[:-1], key[-1][:-1]))
                if values is None:
                    continue
                start, end = words[i][1], words[i + n - 1][2]
                if not self.counted and n == 1 and i > 0 and words[i - 1][0] == "per":
                    continue  # "how much fertiliser per pot": a measure, not the pot for sale
                if self.exact_case and n == 1 and key[0] in self._short and not text[start:end].isupper():
                    continue
                found.append(NameMatch(start, end, values))
        if self._chinese:
            for i in range(len(lowered)):
                for head in {lowered[i : i + 2], lowered[i]}:
                    for phrase, values in self._chinese.get(head, ()):
                        if not self.counted and len(phrase) == 1 and i > 0 and lowered[i - 1] in _COUNTING:
                            continue  # "一组几盆", "每盆": 盆 counts, it names no planter
                        if lowered.startswith(phrase, i):
                            found.append(NameMatch(i, i + len(phrase), values))
        return found

    def claim(self, text: str) -> list[NameMatch[T]]:
        """The names in ``text``, longest first, none overlapping another, in text order."""
        claimed: list[NameMatch[T]] = []
        for match in sorted(self.find(text), key=lambda m: (-(m.end - m.start), m.start)):
            if any(match.start < c.end and c.start < match.end for c in claimed):
                continue
            claimed.append(match)
        return sorted(claimed, key=lambda m: m.start)


# Before a one-character Chinese name, what makes it a measure word ("几盆", "每盆", "三盆").
_COUNTING = frozenset("0123456789几每一二两三四五六七八九十少")

# Generic words never identify a product on their own even when only one name contains them.
GENERIC_WORDS = frozenset(
    {
        "with",
        "the",
        "and",
        "for",
        "set",
        "pro",
        "mini",
        "max",
        "plus",
        "one",
        "ones",
        "pack",
        "box",
        "edition",
        # Adjectives a name may use that chat uses in passing ("for everyday walking").
        "everyday",
        "daily",
        "classic",
        "original",
        "premium",
        "deluxe",
        "ultra",
        "super",
        "smart",
        "gentle",
        "natural",
        "fresh",
        "basic",
        "light",
        "soft",
    }
)


@lru_cache(maxsize=16)
def product_index(catalog: Catalog) -> NameIndex[str]:
    """Every phrase that names a product (catalogs are immutable once loaded, hashed by identity).

    Names and aliases (with and without a leading article); a name word of one product ("the
    Auroras"); a name word several products share, which names all of them ("the charger": ask
    which); a two-character piece of one product's Chinese name ("防晒"), or the first two
    characters several Chinese names start with ("云朵").
    """
    phrases: list[tuple[str, str]] = []
    words: dict[str, set[str]] = {}
    bigrams: dict[str, set[str]] = {}
    starts: dict[str, set[str]] = {}
    for product in catalog.products:
        phrases += _written_names(product)
        for phrase in (*product.names.values(), *product.aliases):
            chinese = "".join(ch for ch in phrase if is_cjk(ch))
            for i in range(len(chinese) - 1):
                bigrams.setdefault(chinese[i : i + 2], set()).add(product.id)
        for name in product.names.values():
            for word in _TOKEN.findall(name.lower()):
                words.setdefault(word, set()).add(product.id)
        chinese_name = "".join(ch for ch in product.name("zh") if is_cjk(ch))
        if len(chinese_name) >= 2:
            starts.setdefault(chinese_name[:2], set()).add(product.id)
    known = {" ".join(p.lower().split()) for p, _ in phrases}
    # Pieces that name another product's options ("斤装" of the mango's "5斤装" in the oranges'
    # "赣南脐橙10斤装") say which option, not which product.
    option_pieces: dict[str, set[str]] = {}
    for product in catalog.products:
        for option in product.variants:
            for said in (*option.names.values(), *option.aliases):
                chinese = "".join(ch for ch in said if is_cjk(ch))
                for i in range(len(chinese) - 1):
                    option_pieces.setdefault(chinese[i : i + 2], set()).add(product.id)
    for word, ids in words.items():
        if len(word) >= 4 and word not in GENERIC_WORDS and word not in known and not word.isdigit():
            phrases += [(word, i) for i in ids]
    for bigram, ids in bigrams.items():
        if bigram in known or bigram in _PEOPLE_ZH or option_pieces.get(bigram, set()) - ids:
            continue
        if len(ids) == 1:
            phrases.append((bigram, next(iter(ids))))
        elif len(starts.get(bigram, ())) >= 2:
            phrases += [(bigram, i) for i in starts[bigram]]
    return NameIndex(phrases, counted=False)


# Who a product is for, said inside a name ("宝宝霜", "儿童手表"): never a name on its own, since
# "多大的宝宝能坐" speaks of the baby, not of the baby cream.
_PEOPLE_ZH = frozenset(
    ["宝宝", "婴儿", "儿童", "孩子", "小孩", "幼儿", "男士", "女士", "男生", "女生", "老人", "孕妇", "妈妈"]
)


@lru_cache(maxsize=16)
def full_name_index(catalog: Catalog) -> NameIndex[str]:
    """Only the names and aliases the shop wrote (no single name words or pieces): what a viewer
    says when they mean that product, not a word its name happens to use ("camp" in "Camp Chair")."""
    return NameIndex(phrase for product in catalog.products for phrase in _written_names(product))


def _written_names(product: Product) -> list[tuple[str, str]]:
    """The product's names and aliases as the shop wrote them, and without a leading article."""
    phrases = []
    for phrase in (*product.names.values(), *product.aliases):
        phrases.append((phrase, product.id))
        bare = re.sub(r"^(?:the|a|an)\s+", "", phrase.strip(), flags=re.IGNORECASE)
        if bare != phrase.strip():
            phrases.append((bare, product.id))
    return phrases


@lru_cache(maxsize=16)
def variant_index(catalog: Catalog) -> NameIndex[tuple[str, str]]:
    """Every phrase that names a variant -> (product id, SKU): its names, aliases and SKU, and
    the part of its name the product's other variants do not share ("16 pro" for "iPhone 16
    Pro", "brown" for "Brown switch")."""
    phrases: list[tuple[str, tuple[str, str]]] = []
    for product in catalog.products:
        shared: set[str] | None = None
        for variant in product.variants:
            tokens = set(variant.name("en").lower().split())
            shared = tokens if shared is None else shared & tokens
        for variant in product.variants:
            value = (product.id, variant.sku)
            phrases += [(p, value) for p in (*variant.names.values(), *variant.aliases, variant.sku)]
            if shared:
                short = " ".join(t for t in variant.name("en").split() if t.lower() not in shared)
                if short and (len(short) >= 2 or short.isdigit()):
                    phrases.append((short, value))
    return NameIndex(phrases, exact_case=True)

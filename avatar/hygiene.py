"""Text hygiene in one place: what every piece of outside text goes through before it is used.

Viewer names and messages (typed chat, spoken questions, the co-host's microphone, platform chat)
go through :func:`clean` before anyone sees them and :func:`fold` before moderation reads them:
Unicode NFKC for moderation (full-width "ｗｗｗ" becomes "www") and, for both, removal of
characters that draw nothing but split words for a pattern (soft hyphen, zero-width and joiner
characters, bidirectional overrides and isolates, the combining grapheme joiner, variation
selectors, Hangul fillers). Without it
``"ign\\u00adore your instructions"`` reads as two harmless words to a word list and as one word to
a person. :func:`display_name` adds the rules for names, :func:`for_log` quotes outside text for
a log line, and :func:`csv_cell` keeps a spreadsheet from running a cell as a formula.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

__all__ = [
    "MAX_NAME_CHARS",
    "NameRefused",
    "clean",
    "csv_cell",
    "display_name",
    "fold",
    "for_log",
    "skeleton",
]

MAX_NAME_CHARS: Final = 40
MAX_COMBINING_RUN: Final = 3  # accents stack two or three deep in real scripts; "Zalgo" stacks dozens

# Invisible characters outside category Cf (which :func:`clean` drops as a whole): the combining
# grapheme joiner, variation selectors, Hangul fillers, the braille blank and the Mongolian vowel
# separator (Cf in old Unicode versions, Zs-like in use).
_INVISIBLE: Final = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x2800, 0x3164, 0xFFA0]
    + list(range(0xFE00, 0xFE10))
    + list(range(0xE0100, 0xE01F0))
)
# Categories that never belong in chat: format (Cf: soft hyphen, zero-width, bidi controls, tags),
# control (Cc; whitespace controls become spaces first), private use, surrogates and unassigned.
_DROPPED_CATEGORIES: Final = frozenset({"Cf", "Cc", "Co", "Cs", "Cn"})
_WHITESPACE_CONTROLS: Final = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]")


def clean(text: str) -> str:
    """``text`` as it may be shown: format and invisible characters removed, runs of combining marks
    capped, spaces collapsed, canonical composition (NFC). Compatibility forms stay as typed
    (Chinese full-width "？" is not turned into "?"): :func:`fold` is what moderation reads.

    Idempotent: cleaning a clean text changes nothing, so every layer may call it.
    """
    return _strip(unicodedata.normalize("NFC", text), "NFC")


def fold(text: str) -> str:
    """``text`` as moderation and comparisons read it: :func:`clean` plus NFKC, which folds
    full-width letters and digits ("ｗｗｗ", "１２３") and other compatibility forms into the
    ones word lists know."""
    return _strip(unicodedata.normalize("NFKC", text), "NFKC")


def _strip(text: str, form: str) -> str:
    out: list[str] = []
    combining = 0
    for ch in _WHITESPACE_CONTROLS.sub(" ", text):
        if ord(ch) in _INVISIBLE or unicodedata.category(ch) in _DROPPED_CATEGORIES:
            continue
        if unicodedata.combining(ch):
            combining += 1
            if combining > MAX_COMBINING_RUN:
                continue
        else:
            combining = 0
        out.append(ch)
    # Normalised again: dropping a character can bring a letter and its combining accent together.
    return " ".join(unicodedata.normalize(form, "".join(out)).split())  # type: ignore[arg-type]


# Letters that look alike across scripts and digits typed for letters ("M1a", "Міа" in Cyrillic):
# a name is compared by its skeleton, so these do not make a different name.
_CONFUSABLES: Final = str.maketrans(
    "аеорсухіјѕһмнктвԛԝүԁɡıοαειкνρτυχ0134 57$@!|l".replace(" ", ""),
    "aeopcyxijshmhktbqwydgioaeikvptuxoiea stsaiii".replace(" ", ""),
)


def skeleton(text: str) -> str:
    """What ``text`` looks like, for comparing names: clean, lower case, look-alikes folded, and
    everything but letters and digits dropped (accents too: "Mía" looks like "Mia")."""
    text = unicodedata.normalize("NFKD", fold(text).casefold().translate(_CONFUSABLES))
    return "".join(ch for ch in text if ch.isalnum() and not unicodedata.combining(ch))


# Words that claim to speak for the show, whatever else the name says ("Mia (host)", "the operator").
_ROLE_WORDS: Final = frozenset(
    skeleton(w)
    for w in ("host", "cohost", "co-host", "operator", "admin", "administrator", "moderator", "mod",
              "system", "official", "staff", "avatar", "主播", "管理员", "官方", "系统", "客服")
)  # fmt: skip


class NameRefused(ValueError):
    """A display name that cannot be shown (the message says why, in words for the viewer)."""


def display_name(name: str, reserved: Iterable[str] = ()) -> str:
    """``name`` as it may be shown on stream, or :class:`NameRefused`.

    The name is cleaned and cut to :data:`MAX_NAME_CHARS`, then refused if moderation would refuse
    it as a message (a phone number, a link, an insult) or if it passes for the show's own voices:
    a role word ("host", "operator", "co-host") or one of ``reserved`` (the host persona's name),
    compared by :func:`skeleton` so look-alike letters and spacing do not get around it.
    """
    from avatar.brain.moderation import moderate  # the brain imports this module: import late

    whole_name = clean(name)
    verdict = moderate(
        whole_name
    )  # moderation folds (NFKC) what it reads  # all of it: a cut must not leave half a phone number unread
    if not verdict.ok:
        raise NameRefused(f"this name is not allowed ({verdict.flag})")
    text = whole_name[:MAX_NAME_CHARS].strip()
    if not text:
        raise NameRefused("a name needs at least one visible character")
    whole = skeleton(text)
    words = {skeleton(word) for word in re.split(r"[\s\-_.,:;()\[\]{}<>'\"/\\]+", text) if word}
    claimed = _ROLE_WORDS | {skeleton(r) for r in reserved if skeleton(r)}
    if whole in claimed or words & claimed:
        raise NameRefused("this name belongs to the show (the host, the co-host or the operator)")
    return text


def for_log(text: object, limit: int = 200) -> str:
    """Outside text quoted for one log line: ``repr`` escapes line breaks, control and bidi
    characters (``\\n``, ``\\x1b``, ``\\u202e``), so a request path or a message cannot start a
    forged log line or reorder one; cut to ``limit`` characters."""
    value = str(text)
    return repr(value[:limit] + ("…" if len(value) > limit else ""))


_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: object) -> object:
    """A value safe for a spreadsheet: text that would start a formula gets a leading apostrophe
    (``=cmd|' /C calc'!A0`` stays text). Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value

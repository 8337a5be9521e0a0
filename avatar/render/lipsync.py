"""Mouth shapes (visemes) for what is being said: from phoneme timing, or read off the spectrum.

How *far* the mouth opens comes from loudness (see ``Animator``); this module says what *shape*
it takes: spread for "ee", rounded for "oo", wide open for "ah", lips together for "m/b/p",
teeth on the lip for "f/v". A ``MouthShape`` is three numbers the character draws directly.

Two sources, best first:

* phoneme timing, when the voice engine reports it (Piper can, with alignments enabled): each
  phoneme maps to its viseme class;
* otherwise the spectrum of the 20 ms chunk playing (``avatar.media.audio.band_shares``): open
  vowels put their energy at 400-1000 Hz (high F1), front vowels ("ee") keep a strong 1-5 kHz
  F2/F3 above a low F1, rounded vowels ("oo") have almost nothing above 1 kHz, and sibilants
  are mostly hiss above 2.5 kHz. The thresholds were read off the bundled Piper voice.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Final, NamedTuple


class MouthShape(NamedTuple):
    """How the lips are held, independent of how loud the sound is."""

    open_scale: float
    """Multiplies the loudness-driven opening: 0 keeps the lips together ("m"), 1 lets it all show."""
    wide: float
    """0 relaxed .. 1 spread lips ("ee", "s")."""
    round: float
    """0 relaxed .. 1 rounded, pushed-forward lips ("oo", "sh")."""


class Viseme(StrEnum):
    """Classes of phonemes that look the same on the lips."""

    REST = "rest"
    """Tongue consonants (t, d, n, l, k, g, h) and anything unknown: a neutral, half-open mouth."""
    AA = "aa"
    """Open vowels: a, æ, ɑ, ʌ, ə."""
    EE = "ee"
    """Front vowels and glides: i, ɪ, e, ɛ, j."""
    OO = "oo"
    """Rounded vowels and w: u, ʊ, o, ɔ, w."""
    SS = "ss"
    """Sibilants and dental fricatives: s, z, θ, ð (teeth together, lips spread)."""
    CH = "ch"
    """Post-alveolars and r: ʃ, ʒ, tʃ, dʒ, ɹ (lips pushed forward)."""
    FV = "fv"
    """Labiodentals: f, v (lower lip under the upper teeth)."""
    MBP = "mbp"
    """Bilabials: m, b, p (lips pressed together)."""


SHAPES: Final[Mapping[Viseme, MouthShape]] = {
    Viseme.REST: MouthShape(0.65, 0.2, 0.0),
    Viseme.AA: MouthShape(1.0, 0.0, 0.0),
    Viseme.EE: MouthShape(0.7, 1.0, 0.0),
    Viseme.OO: MouthShape(0.8, 0.0, 1.0),
    Viseme.SS: MouthShape(0.3, 0.8, 0.0),
    Viseme.CH: MouthShape(0.5, 0.0, 0.7),
    Viseme.FV: MouthShape(0.25, 0.4, 0.0),
    Viseme.MBP: MouthShape(0.0, 0.0, 0.0),
}
"""What each viseme looks like."""

NEUTRAL: Final[MouthShape] = MouthShape(1.0, 0.0, 0.0)
"""No shape information (silence, or no spectrum): the opening alone drives the mouth."""

_PHONEMES: Final[Mapping[str, Viseme]] = {
    **dict.fromkeys("aæɑɒʌəɐɜɚɝɶ", Viseme.AA),
    **dict.fromkeys("iɪeɛjyʏɨ", Viseme.EE),
    **dict.fromkeys("uʊoɔwɵøœɯ", Viseme.OO),
    **dict.fromkeys("szθðɕʑ", Viseme.SS),
    **dict.fromkeys("ʃʒɹrʂʐɻ", Viseme.CH),
    **dict.fromkeys("fvʋ", Viseme.FV),
    **dict.fromkeys("mbpɱ", Viseme.MBP),
}
_IGNORED: Final[frozenset[str]] = frozenset("ˈˌːˑ.‿ʰʲʷ̃ ")
"""Stress, length and secondary articulation marks: they do not change the lips."""


def viseme_for_phoneme(phoneme: str) -> Viseme:
    """The viseme of an IPA phoneme as voice engines spell them ("iː", "tʃ", "ˈa", "aɪ").

    The first letter that carries a place of articulation decides: "tʃ" is read as its "ʃ",
    a diphthong "aɪ" as its first vowel (the lips move on when the next phoneme starts).
    """
    letters = [c for c in unicodedata.normalize("NFD", phoneme.lower()) if c not in _IGNORED]
    if not letters:
        return Viseme.REST
    if letters[0] in "td" and len(letters) > 1 and letters[1] in "ʃʒɕʑʂʐ":
        return Viseme.CH  # affricates look like their fricative (Mandarin j/q, zh/ch too)
    if letters[0] in "td" and len(letters) > 1 and letters[1] in "sz":
        return Viseme.SS  # "ts", "dz" (Mandarin z/c)
    for letter in letters:
        viseme = _PHONEMES.get(letter)
        if viseme is not None:
            return viseme
        if unicodedata.category(letter) != "Mn":  # a letter we know does not move the lips
            return Viseme.REST
    return Viseme.REST


def shape_for_phoneme(phoneme: str | None) -> MouthShape | None:
    """The mouth shape for the phoneme playing, or ``None`` when there is none."""
    if not phoneme:
        return None
    return SHAPES[viseme_for_phoneme(phoneme)]


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 below ``lo``, 1 above ``hi``, linear between."""
    return min(max((x - lo) / (hi - lo), 0.0), 1.0)


def shape_from_bands(bands: Sequence[float]) -> MouthShape:
    """The mouth shape that fits a chunk's band energy shares (see ``VISEME_BANDS_HZ``).

    Continuous rather than a hard class, so a vowel sliding into the next one moves the lips
    smoothly. Anything other than five shares (silence, another band layout) reads as neutral.
    """
    if len(bands) != 5:
        return NEUTRAL
    voicing, f1, f2, f3, hiss = (min(max(b, 0.0), 1.0) for b in bands)
    close_vowel = 1.0 - f1  # energy not in the open-vowel F1 band
    front = (f2 + f3) / max(voicing + f2 + f3, 1e-6)  # a strong F2/F3 over a low F1 spreads the lips
    sibilant = _ramp(f3 + hiss, 0.45, 0.75)
    wide = max(close_vowel * _ramp(front, 0.14, 0.32), sibilant)
    rounded = close_vowel * _ramp(0.2 - front, 0.0, 0.1) * _ramp(voicing, 0.55, 0.8) * (1.0 - sibilant)
    open_scale = 1.0 - 0.3 * wide * (1.0 - sibilant) - 0.15 * rounded - 0.6 * sibilant
    return MouthShape(open_scale, wide, rounded)

"""The look of a show, from the ``theme:`` section of its scene.yaml.

Every key is optional and every value is text (scene.yaml passes the section through as is):

* colours, ``"#rrggbb"`` or ``"#rrggbbaa"``: ``background``, ``accent``, ``highlight`` (flash-sale
  tag and coupon ticket), ``text``, ``card``, ``skin``, ``hair``, ``shirt``;
* ``background_image``: a picture behind everything (path relative to the scene folder); without
  one, a studio backdrop is generated from the ``background`` colour;
* ``presenter``: ``left`` or ``right``, the side of the frame the host stands on (the product
  card takes the other);
* ``hair_style`` (``bob`` or ``bun``) and ``glasses`` (``yes``/``no``): the host's look;
* ``coupon``: the coupon banner shown under the product card, e.g. ``"Code LIVE10: 10% off"``.

A bad value never stops a show: it is logged with what was expected and its default is used.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from avatar.render.character import BGR, HAIR_STYLES, SIDES, Look

log = logging.getLogger(__name__)

DEFAULT_THEME: Final[Mapping[str, str]] = {
    "background": "#232a56",
    "accent": "#ff4f7b",
    "highlight": "#ffc94d",
    "text": "#ffffff",
    "card": "#141832e8",
    "skin": "#f3c9a8",
    "hair": "#4a2f27",
    "shirt": "#3d6fd6",
}
"""Theme colours, "#rrggbb" or "#rrggbbaa" (alpha is used by the card; elsewhere ignored)."""

LOOK_KEYS: Final[tuple[str, ...]] = ("background_image", "presenter", "hair_style", "glasses", "coupon")
"""The theme keys that are not colours."""

MAX_COUPON_CHARS: Final[int] = 80
"""A coupon is a short line; longer text is cut (the ticket ellipsises what does not fit anyway)."""

_HEX_RE: Final[re.Pattern[str]] = re.compile(r"#([0-9a-fA-F]{6})([0-9a-fA-F]{2})?")
_YES: Final[frozenset[str]] = frozenset({"yes", "true", "on", "1"})
_NO: Final[frozenset[str]] = frozenset({"no", "false", "off", "0", ""})

MIN_CONTRAST: Final[float] = 3.0
"""WCAG contrast ratio for large text; below it, text over the card is recoloured."""
DARK_TEXT: Final[BGR] = (40, 30, 29)
LIGHT_TEXT: Final[BGR] = (255, 255, 255)


def _luminance(colour: BGR) -> float:
    def linear(channel: int) -> float:
        c = channel / 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    b, g, r = colour
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: BGR, b: BGR) -> float:
    """WCAG contrast ratio between two colours (1 = none, 21 = black on white)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(text: BGR, background: BGR) -> BGR:
    """``text`` if it reads well on ``background``, else dark or light text, whichever reads better."""
    if contrast(text, background) >= MIN_CONTRAST:
        return text
    return max((DARK_TEXT, LIGHT_TEXT), key=lambda candidate: contrast(candidate, background))


def parse_colour(value: object) -> tuple[BGR, float] | None:
    """``"#rrggbb"`` or ``"#rrggbbaa"`` to (BGR, alpha 0..1); ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    m = _HEX_RE.fullmatch(value.strip())
    if m is None:
        return None
    rgb = m.group(1)
    alpha = int(m.group(2), 16) / 255.0 if m.group(2) else 1.0
    return (int(rgb[4:6], 16), int(rgb[2:4], 16), int(rgb[0:2], 16)), alpha


def resolve_theme(theme: Mapping[str, str] | None) -> dict[str, tuple[BGR, float]]:
    """The theme's colours with defaults filled in; a bad colour is logged and replaced by its default."""
    out: dict[str, tuple[BGR, float]] = {}
    given = dict(theme or {})
    for key in sorted(set(given) - set(DEFAULT_THEME) - set(LOOK_KEYS)):
        log.warning("theme: unknown key %r ignored (known: %s)", key, ", ".join([*DEFAULT_THEME, *LOOK_KEYS]))
    for key, default in DEFAULT_THEME.items():
        parsed = parse_colour(given.get(key, default))
        if parsed is None:
            log.warning("theme: %s: %r is not a #rrggbb colour; using %s", key, given[key], default)
            parsed = parse_colour(default)
        assert parsed is not None  # the defaults are valid
        out[key] = parsed
    return out


@dataclass(frozen=True)
class Theme:
    """A resolved theme: every value valid, defaults filled in."""

    colours: Mapping[str, tuple[BGR, float]] = field(default_factory=lambda: resolve_theme(None))
    """Each ``DEFAULT_THEME`` key to (BGR, alpha)."""
    background_image: Path | None = None
    """The backdrop picture (absolute), or ``None`` for the generated one. Not yet checked to load."""
    look: Look = Look()
    """Hair style, glasses, the side the host stands on."""
    coupon: str = ""
    """The coupon banner text; ``""`` for none."""


def load_theme(theme: Mapping[str, str] | None, root: Path | None = None) -> Theme:
    """Resolve a scene's ``theme:`` mapping; ``root`` is the scene folder (relative paths start there)."""
    given = dict(theme or {})
    colours = resolve_theme(given)
    side = _choice(given, "presenter", SIDES)
    hair_style = _choice(given, "hair_style", HAIR_STYLES)
    glasses = False
    if "glasses" in given:
        value = str(given["glasses"]).strip().lower()
        if value in _YES:
            glasses = True
        elif value not in _NO:
            log.warning("theme: glasses: %r is not yes or no; using no", given["glasses"])
    image: Path | None = None
    raw_image = str(given.get("background_image", "")).strip()
    if raw_image:
        image = Path(raw_image).expanduser()
        if not image.is_absolute():
            image = (root or Path.cwd()) / image
    coupon = coupon_text(given)
    if len(" ".join(str(given.get("coupon", "")).split())) > MAX_COUPON_CHARS:
        log.warning("theme: coupon is longer than %d characters; cut short", MAX_COUPON_CHARS)
    return Theme(colours, image, Look(hair_style=hair_style, glasses=glasses, side=side), coupon)


def coupon_text(theme: Mapping[str, str] | None) -> str:
    """The theme's coupon banner text, whitespace tidied and cut to ``MAX_COUPON_CHARS``."""
    coupon = " ".join(str((theme or {}).get("coupon", "")).split())
    if len(coupon) > MAX_COUPON_CHARS:
        coupon = coupon[: MAX_COUPON_CHARS - 1].rstrip() + "…"
    return coupon


def _choice(given: Mapping[str, str], key: str, allowed: tuple[str, ...]) -> str:
    """``given[key]`` when it is one of ``allowed`` (case-insensitive), else the first (logged)."""
    if key not in given:
        return allowed[0]
    value = str(given[key]).strip().lower()
    if value in allowed:
        return value
    log.warning("theme: %s: %r is not one of %s; using %s", key, given[key], ", ".join(allowed), allowed[0])
    return allowed[0]

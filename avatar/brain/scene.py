"""A show as data: who hosts it, what it sells, in which order, and how it looks.

A scene is a folder with ``scene.yaml`` (persona, voice, run of show, idle talk, theme) next to
``products.yaml`` and the product images. ``load_scene`` validates all of it before the show
starts, every presenter line included, so an unattended stream never stops on a typo or speaks a
line whose facts cannot be filled in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from avatar.brain.catalog import Catalog, FieldReader, load_catalog, read_yaml, sub
from avatar.brain.language import SUPPORTED_LANGUAGES
from avatar.brain.promotions import Promotion, read_promotions
from avatar.brain.script import check_template
from avatar.config import BARGE_IN_MODES
from avatar.errors import DataError

__all__ = ["AVATAR_KINDS", "SCENE_FILE", "AvatarSpec", "Persona", "Scene", "Segment", "load_scene"]

SCENE_FILE = "scene.yaml"
_PRODUCTS_FILE = "products.yaml"


@dataclass(frozen=True)
class Persona:
    """The host's character: spoken greeting and sign-off per language, style for the LLM prompt."""

    name: str
    style: str
    greeting: dict[str, str]
    sign_off: dict[str, str]


@dataclass(frozen=True)
class Segment:
    """One stretch of the run of show: a product on screen for about ``duration_s`` seconds."""

    product_id: str
    duration_s: float
    lines: dict[str, tuple[str, ...]]  # language -> presenter line templates (see brain.script)


AVATAR_KINDS = ("drawn", "photo")
"""``drawn``: the OpenCV-drawn character (default). ``photo``: a portrait picture, animated."""


@dataclass(frozen=True)
class AvatarSpec:
    """Who presents: the drawn character, or a portrait picture brought to life."""

    kind: str = "drawn"  # one of AVATAR_KINDS
    image: Path | None = None  # the portrait (absolute) for kind "photo"

    @property
    def portrait(self) -> Path | None:
        """The picture to animate, or ``None`` for the drawn character."""
        return self.image if self.kind == "photo" else None


@dataclass(frozen=True)
class Scene:
    """A validated show, ready to run."""

    name: str
    root: Path  # the scene folder (absolute)
    language: str  # the language the host speaks when nobody asks in another one
    voice: str  # a voice name from voices/
    persona: Persona
    catalog: Catalog
    segments: tuple[Segment, ...]
    idle_lines: dict[str, tuple[str, ...]]
    theme: dict[str, str]  # passed through to the renderer untouched
    avatar: AvatarSpec = AvatarSpec()
    llm: str | None = None  # phrasing model (see avatar.engines.llm.engine_from_spec); None = default
    llm_budget_s: float | None = None  # seconds the model gets per answer before the template is said
    promotions: tuple[Promotion, ...] = ()  # timed coupon drops, flash sales, low-stock calls
    barge_in: str = "sentence"  # a co-host's voice stops the host: sentence (at its end), immediate, off
    platform: str = "default"  # where the show streams: picks its call to action
    # platform -> language -> how to buy there ("点击下方小黄车", "Tap the link below")
    call_to_action: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)

    def cta(self, lang: str) -> str:
        """How the host tells viewers to buy on this show's platform ("点击下方小黄车")."""
        for platform in (self.platform, "default"):
            said = self.call_to_action.get(platform, {}).get(lang)
            if said:
                return said
        return DEFAULT_CTA.get(lang, DEFAULT_CTA["en"])


DEFAULT_CTA: Final = {"en": "Tap the cart", "zh": "点击购物车"}


_REQUIRED = ("name", "language", "voice", "persona", "segments")
_OPTIONAL = (
    "currency",
    "products",
    "idle_lines",
    "theme",
    "avatar",
    "llm",
    "promotions",
    "listen",
    "chat",
    "platform",
    "call_to_action",
)


def load_scene(path: Path | str) -> Scene:
    """Load a scene folder (or its ``scene.yaml``) with its catalog, checking every field and line.

    Raises :class:`~avatar.errors.DataError` (``file: field: problem``) for a missing file,
    malformed YAML, a missing or mistyped field, a segment naming an unknown product, or a line
    with a placeholder its product cannot fill.
    """
    path = Path(path).absolute()
    if path.is_dir():
        file = path / SCENE_FILE
    elif path.exists() or path.suffix in {".yaml", ".yml"}:
        file = path
    else:
        raise DataError(path, "(file)", "scene folder not found")
    reader = FieldReader(file)
    raw = reader.mapping(read_yaml(file), "", required=_REQUIRED, optional=_OPTIONAL)

    name = reader.text(raw["name"], "name")
    language = reader.text(raw["language"], "language")
    if language not in SUPPORTED_LANGUAGES:
        reader.fail("language", f"must be one of {', '.join(SUPPORTED_LANGUAGES)}, got {language!r}")
    voice = reader.text(raw["voice"], "voice")

    code, symbol = "USD", "$"
    if raw.get("currency") is not None:
        currency = reader.mapping(raw["currency"], "currency", required=("code", "symbol"), optional=())
        code = reader.text(currency["code"], "currency.code")
        symbol = reader.text(currency["symbol"], "currency.symbol")

    products_name = (
        reader.text(raw["products"], "products") if raw.get("products") is not None else _PRODUCTS_FILE
    )
    catalog = load_catalog(file.parent / products_name, code, symbol)

    persona = _read_persona(reader, raw["persona"], language)
    platform = reader.text(raw["platform"], "platform") if raw.get("platform") is not None else "default"
    ctas = _read_cta(reader, raw.get("call_to_action"))
    cta_scene = Scene(  # only to resolve {cta} in lines below
        name, file.parent, language, "", persona, catalog, (), {}, {}, platform=platform, call_to_action=ctas
    )
    raw = _with_cta(raw, cta_scene)
    segments = tuple(
        _read_segment(reader, item, sub("segments", i), catalog, language)
        for i, item in enumerate(reader.sequence(raw["segments"], "segments"))
    )
    if not segments:
        reader.fail("segments", "the run of show needs at least one segment")

    idle: dict[str, tuple[str, ...]] = {}
    if raw.get("idle_lines") is not None:
        idle = reader.localized_lists(raw["idle_lines"], "idle_lines")
        # Idle talk may come while any product is on screen, so it must fill for all of them.
        for lang, lines in idle.items():
            for i, line in enumerate(lines):
                for product in catalog.products:
                    problem = check_template(line, product, lang, promo_optional=True)
                    if problem is not None:
                        reader.fail(
                            sub(sub("idle_lines", lang), i), f"{problem} (for product {product.id!r})"
                        )

    theme: dict[str, str] = {}
    if raw.get("theme") is not None:
        for key, value in reader.mapping(raw["theme"], "theme").items():
            if value is None:
                # An unquoted "#1d2333" is a YAML comment, which leaves the key empty.
                reader.fail(sub("theme", key), 'no value; quote colours, e.g. "#1d2333"')
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                reader.fail(sub("theme", key), "expected text such as a colour")
            theme[key] = str(value)

    avatar = (
        _read_avatar(reader, raw["avatar"], file.parent) if raw.get("avatar") is not None else AvatarSpec()
    )
    llm, llm_budget = _read_llm(reader, raw.get("llm"))
    promotions = read_promotions(reader, raw.get("promotions"), catalog)
    barge_in = _read_listen(reader, raw.get("listen"))

    return Scene(
        name=name,
        root=file.parent,
        language=language,
        voice=voice,
        persona=persona,
        catalog=catalog,
        segments=segments,
        idle_lines=idle,
        theme=theme,
        avatar=avatar,
        llm=llm,
        llm_budget_s=llm_budget,
        promotions=promotions,
        barge_in=barge_in,
        platform=platform,
        call_to_action=ctas,
    )


def _read_cta(reader: FieldReader, value: object) -> dict[str, dict[str, str]]:
    """``call_to_action: {default: {en: ..., zh: ...}, douyin: {zh: 点击下方小黄车}}``."""
    if value is None:
        return {}
    return {
        str(platform): reader.localized(said, sub("call_to_action", str(platform)))
        for platform, said in reader.mapping(value, "call_to_action").items()
    }


def _with_cta(raw: dict[str, Any], scene: Scene) -> dict[str, Any]:
    """``raw`` with ``{cta}`` in run-of-show and idle lines replaced by the platform's words."""

    def fill(value: Any, lang: str | None = None) -> Any:
        if isinstance(value, str):
            return value.replace("{cta}", scene.cta(lang or scene.language))
        if isinstance(value, list):
            return [fill(item, lang) for item in value]
        if isinstance(value, dict):
            return {k: fill(v, k if k in SUPPORTED_LANGUAGES else lang) for k, v in value.items()}
        return value

    return {**raw, "segments": fill(raw["segments"]), "idle_lines": fill(raw.get("idle_lines"))}


def _read_listen(reader: FieldReader, value: object) -> str:
    """``listen: {barge_in: sentence|immediate|off}``: how the host yields to a co-host's voice."""
    if value is None:
        return "sentence"
    raw = reader.mapping(value, "listen", optional=("barge_in",))
    if raw.get("barge_in") is None:
        return "sentence"
    if raw["barge_in"] is False:  # YAML reads a bare `off` as false
        return "off"
    mode = reader.text(raw["barge_in"], "listen.barge_in")
    if mode not in BARGE_IN_MODES:
        reader.fail("listen.barge_in", f"must be one of {', '.join(BARGE_IN_MODES)}, got {mode!r}")
    return mode


def _read_avatar(reader: FieldReader, value: object, root: Path) -> AvatarSpec:
    """``avatar: {kind: photo, image: portrait.jpg}``; the picture itself is checked by the renderer.

    A picture that is missing or shows no face does not stop the show: the renderer warns and
    draws the character instead, so only the shape of the section is an error here.
    """
    raw = reader.mapping(value, "avatar", required=("kind",), optional=("image",))
    kind = reader.text(raw["kind"], "avatar.kind")
    if kind not in AVATAR_KINDS:
        reader.fail("avatar.kind", f"must be one of {', '.join(AVATAR_KINDS)}, got {kind!r}")
    if kind == "drawn":
        return AvatarSpec()
    if raw.get("image") is None:
        reader.fail("avatar.image", "a photo avatar needs a portrait picture, e.g. image: portrait.jpg")
    image = Path(reader.text(raw["image"], "avatar.image"))
    return AvatarSpec(kind, image if image.is_absolute() else root / image)


def _read_llm(reader: FieldReader, value: object) -> tuple[str | None, float | None]:
    """``llm: smollm2`` or ``llm: {model: smollm2, budget_s: 0.7}``."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return reader.text(value, "llm"), None
    raw = reader.mapping(value, "llm", optional=("model", "budget_s"))
    model = reader.text(raw["model"], "llm.model") if raw.get("model") is not None else None
    budget = None
    if raw.get("budget_s") is not None:
        budget = reader.number(raw["budget_s"], "llm.budget_s")
        if not 0 < budget <= 10:
            reader.fail("llm.budget_s", f"must be more than 0 and at most 10 seconds, got {budget:g}")
    return model, budget


def _read_persona(reader: FieldReader, value: object, language: str) -> Persona:
    raw = reader.mapping(value, "persona", required=("name", "greeting", "sign_off"), optional=("style",))
    greeting = reader.localized(raw["greeting"], "persona.greeting", need=(language,))
    sign_off = reader.localized(raw["sign_off"], "persona.sign_off", need=(language,))
    # Greetings are spoken verbatim by the answerer, so a placeholder would be read out literally.
    for field, texts in (("persona.greeting", greeting), ("persona.sign_off", sign_off)):
        for lang, text in texts.items():
            if "{" in text or "}" in text:
                reader.fail(sub(field, lang), "spoken as written; placeholders are not filled here")
    return Persona(
        name=reader.text(raw["name"], "persona.name"),
        style=reader.text(raw["style"], "persona.style") if raw.get("style") is not None else "",
        greeting=greeting,
        sign_off=sign_off,
    )


def _read_segment(reader: FieldReader, value: object, field: str, catalog: Catalog, language: str) -> Segment:
    raw = reader.mapping(value, field, required=("product", "duration_s", "lines"), optional=())
    product_id = reader.text(raw["product"], sub(field, "product"))
    if product_id not in catalog:
        known = ", ".join(p.id for p in catalog.products)
        reader.fail(sub(field, "product"), f"unknown product {product_id!r} (products: {known})")
    product = catalog.get(product_id)
    duration = reader.number(raw["duration_s"], sub(field, "duration_s"))
    if duration <= 0:
        reader.fail(sub(field, "duration_s"), f"must be more than 0 seconds, got {duration:g}")
    lines = reader.localized_lists(raw["lines"], sub(field, "lines"))
    if not lines.get(language):
        reader.fail(
            sub(sub(field, "lines"), language), f"needs at least one line in the show's language {language!r}"
        )
    for lang, templates in lines.items():
        for i, line in enumerate(templates):
            problem = check_template(line, product, lang)
            if problem is not None:
                reader.fail(sub(sub(sub(field, "lines"), lang), i), problem)
    return Segment(product_id, duration, lines)

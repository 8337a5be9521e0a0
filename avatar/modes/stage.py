"""What the camera shows of a running show: each video frame's ``FrameState``, built on the render thread.

The show (on the event loop) tells the stage what is going on through a few plain attributes,
each replaced whole by one assignment, so the render thread always reads a complete value:
``thinking`` (an answer is being prepared), ``greeting_turn`` (the turn id of a greeting) and
``comments`` (the ticker). Everything else comes from the playhead (``NowPlaying``): the caption
is the sentence being heard, the mood follows the line being heard, the lips follow its sound.

Moods: a thinking look while a viewer waits for an answer, a nod for a greeting, a smile while a
line names the promotion of the product on screen; and a gesture toward the card whenever the
product changes or a promotion is announced.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from avatar.brain.catalog import Product
from avatar.brain.scene import Scene
from avatar.media.playout import NowPlaying
from avatar.render.animator import Animator, Mood
from avatar.render.frame import FrameState, ProductCard
from avatar.render.theme import coupon_text

CAPTION_HOLD_S: Final[float] = 1.5
"""Keep the last caption up this long after the voice stops."""
FLASH_SALE_WINDOW_S: Final[float] = 48 * 3600.0
"""A promotion ending within this long shows a flash-sale countdown on the card."""
TICKER_COMMENTS: Final[int] = 5
"""Recent comments kept for the ticker."""
TICKER_NAME_CHARS: Final[int] = 24
TICKER_TEXT_CHARS: Final[int] = 90


def cut_caption(heard: str) -> str:
    """The caption of a sentence stopped part-way: the words heard, trailing off."""
    return f"{heard}…" if heard else ""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Stage:
    """Builds the frame state of a live show from its playhead and what the host is doing."""

    def __init__(
        self, scene: Scene, animator: Animator, *, wall_clock: Callable[[], datetime] = _utc_now
    ) -> None:
        """``wall_clock`` gives the time of day (timezone-aware) for flash-sale countdowns."""
        self.scene = scene
        self.animator = animator
        self.wall_clock = wall_clock
        self.title = f"{scene.persona.name} · {scene.name}"
        self.coupon = coupon_text(scene.theme)
        # Written on the event loop, read on the render thread; always replaced whole.
        self.thinking = False
        """A viewer asked and the answer is not audible yet."""
        self.greeting_turn: int | None = None
        """The turn id of the greeting being said (the host nods while it plays)."""
        self.comments: tuple[str, ...] = ()
        """Recent viewer comments for the ticker, oldest first, ``"name: text"``."""
        self.flash_sale: tuple[str, datetime] | None = None
        """A scheduled flash sale: (product id, when it ends); counts down on that product's card."""
        self.cut: tuple[int, str, str] | None = None
        """The last sentence stopped part-way: (turn id, sentence, the words heard). Its caption,
        held after the voice stops, shows only what was heard."""
        # Render-thread state.
        # The last caption heard: turn id, text, programme seconds when it was last heard.
        self._last_caption: tuple[int | None, str, float] = (None, "", 0.0)
        self._ticker: tuple[str, ...] = ()
        self._ticker_since = 0.0
        self._product_id: str | None = None
        self._promo_turn: int | None = None
        self._focus = 0  # bumped for every gesture toward the card

    def comment(self, name: str, text: str) -> None:
        """A viewer's comment, for the ticker (call on the event loop)."""
        name = " ".join(name.split())[:TICKER_NAME_CHARS] or "viewer"
        text = " ".join(text.split())
        if len(text) > TICKER_TEXT_CHARS:
            text = text[: TICKER_TEXT_CHARS - 1].rstrip() + "…"
        self.comments = (*self.comments, f"{name}: {text}")[-TICKER_COMMENTS:]

    def frame(
        self, t: float, playing: NowPlaying, product: Product | None, card: ProductCard | None
    ) -> FrameState:
        """The frame state at programme time ``t`` (render thread)."""
        if playing.text:
            caption = playing.text
            self._last_caption = (playing.turn_id, caption, t)
        else:
            turn_id, text, since = self._last_caption
            cut = self.cut
            if cut is not None and cut[:2] == (turn_id, text):
                text = cut_caption(cut[2])
            caption = text if t - since < CAPTION_HOLD_S else ""
        now = self.wall_clock()
        mood = self._mood(playing, product, now)
        product_id = product.id if product is not None else None
        if product_id != self._product_id:
            self._product_id = product_id
            self._focus += 1
        if mood is Mood.SMILE and playing.turn_id != self._promo_turn:
            self._promo_turn = playing.turn_id
            self._focus += 1
        face = self.animator.face(
            t, playing.level, bands=playing.bands, phoneme=playing.phoneme, mood=mood, focus=self._focus
        )
        comments = self.comments
        if comments != self._ticker:
            self._ticker, self._ticker_since = comments, t
        return FrameState(
            t=t,
            mouth_open=face.mouth_open,
            eyes_closed=face.eyes_closed,
            caption=caption,
            product=card,
            title=self.title,
            mouth_wide=face.mouth_wide,
            mouth_round=face.mouth_round,
            expression=face.expression,
            countdown_s=self._countdown(product, now),
            coupon=self.coupon,
            ticker=comments,
            ticker_since=self._ticker_since,
        )

    def _countdown(self, product: Product | None, now: datetime) -> float | None:
        sale = self.flash_sale
        if sale is not None and product is not None and sale[0] == product.id:
            left = (sale[1] - now).total_seconds()
            if left > 0:
                return left
        return flash_sale_seconds(product, now)

    def _mood(self, playing: NowPlaying, product: Product | None, now: datetime) -> Mood:
        if self.thinking:
            return Mood.THINKING
        if playing.turn_id is not None and playing.turn_id == self.greeting_turn:
            return Mood.GREETING
        if product is not None and is_promo_line(playing.text, product, self.scene, now):
            return Mood.SMILE
        return Mood.NEUTRAL


def is_promo_line(text: str, product: Product, scene: Scene, now: datetime) -> bool:
    """Whether ``text`` announces the running promotion of ``product``: its price or its label."""
    promo = product.promo
    if not text or promo is None or not promo.active(now):
        return False
    if scene.catalog.format_price(promo.price) in text:
        return True
    folded = text.casefold()
    return any(label and label.casefold() in folded for label in promo.label.values())


def flash_sale_seconds(product: Product | None, now: datetime) -> float | None:
    """Seconds until the product's promotion ends, when that is within ``FLASH_SALE_WINDOW_S``."""
    if product is None or product.promo is None or product.promo.ends_at is None:
        return None
    left = (product.promo.ends_at - now).total_seconds()
    return left if 0.0 < left <= FLASH_SALE_WINDOW_S else None

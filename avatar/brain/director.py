"""The show's director: what the host says between scripted lines, and when.

Viewer questions always come first (the host loop answers waiting comments before asking here).
Between questions the director may put in, in this order:

1. a **promotion** that just started (coupon drop, flash sale, "only N left"), announced once;
2. a **Q&A checkpoint** at the end of each product segment: the host invites questions about the
   product before moving on (waiting questions are then answered by the host loop);
3. a **greeting** for viewers who just joined, by name, when chat is quiet, at most one every
   ``greet_every_s`` (names that arrive meanwhile are greeted together; stale ones are dropped);
4. an **idle line** when chat has been quiet for ``idle_after_s``, at most one every ``idle_every_s``.

It never queues speech itself: the host loop asks for one line at a time and speaks it, so extra
talk can neither pile up in the speech queue nor delay an answer. It also drives what the stage
shows for promotions (the coupon banner, the flash-sale countdown). Every line it returns has
passed the compliance checker. Times are the show clock's seconds (tests drive a ManualClock).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from avatar.brain.compliance import ComplianceChecker
from avatar.brain.promotions import Kind, PromotionSchedule
from avatar.brain.script import fill, idle_lines

if TYPE_CHECKING:
    from avatar.brain.scene import Scene
    from avatar.brain.show import RunOfShow
    from avatar.modes.stage import Stage

__all__ = ["Director", "Extra"]

log = logging.getLogger(__name__)

IDLE_AFTER_S: Final = 30.0
IDLE_EVERY_S: Final = 60.0
GREET_EVERY_S: Final = 20.0
GREET_QUIET_S: Final = 5.0  # no comment for this long before a greeting
GREET_TTL_S: Final = 60.0  # a name not greeted by then is dropped
MAX_NAMES_PER_GREETING: Final = 3
ANNOUNCE_TTL_S: Final = 60.0


@dataclass(frozen=True)
class Extra:
    """A line the host says between scripted lines; ``kind`` says why (for logs and tests)."""

    kind: str  # "promotion", "checkpoint", "greeting", "idle"
    text: str
    product_id: str | None


class Director:
    """Decides extra talk and promotion visuals for one show."""

    def __init__(
        self,
        scene: Scene,
        compliance: ComplianceChecker,
        *,
        started_at: float,
        stage: Stage | None = None,
        idle_after_s: float = IDLE_AFTER_S,
        idle_every_s: float = IDLE_EVERY_S,
        greet_every_s: float = GREET_EVERY_S,
    ) -> None:
        self.scene = scene
        self.compliance = compliance
        self.stage = stage
        self.started_at = started_at
        self.idle_after_s = idle_after_s
        self.idle_every_s = idle_every_s
        self.greet_every_s = greet_every_s
        self.schedule = PromotionSchedule(scene.promotions)
        self._announcements: deque[tuple[float, Extra]] = deque(maxlen=8)
        self._names: deque[tuple[float, str]] = deque(maxlen=50)
        self._last_comment = started_at
        self._last_idle = started_at
        self._last_greeting = -1e9
        self._idle_index = 0
        self._checkpoint_done: tuple[int, int] | None = None  # (segment, pass) already invited
        self._passes = 0
        self._default_coupon = stage.coupon if stage is not None else ""

    def start(self, now: float) -> None:
        """The show starts now: promotion times count from here, and chat counts as quiet since."""
        self.started_at = self._last_comment = self._last_idle = now

    def use_scene(self, scene: Scene, compliance: ComplianceChecker) -> None:
        """A reloaded scene: new facts and promotions (schedules restart only if they changed)."""
        if scene.promotions != self.scene.promotions:
            self.schedule = PromotionSchedule(scene.promotions)
        self.scene = scene
        self.compliance = compliance

    # -- inputs --------------------------------------------------------------------------------
    def comment_seen(self, now: float) -> None:
        """A viewer wrote in chat: chat is not quiet."""
        self._last_comment = now

    def viewer_joined(self, name: str, now: float) -> None:
        """A viewer connected; greeted later, when chat is quiet."""
        name = " ".join(name.split())[:24]
        if name and all(n != name for _, n in self._names):
            self._names.append((now, name))

    # -- promotions ----------------------------------------------------------------------------
    def tick(self, now: float, wall: datetime | None = None) -> None:
        """Start and end promotions due at ``now``: update the stage, queue their announcements."""
        elapsed = now - self.started_at
        for change in self.schedule.update(elapsed):
            promo = change.promotion
            if promo.kind is Kind.COUPON and self.stage is not None:
                self.stage.coupon = (promo.banner or "") if change.started else self._default_coupon
            if promo.kind is Kind.FLASH_SALE and self.stage is not None and promo.product_id:
                if change.started and wall is not None:
                    left = change.ends_at_s - elapsed
                    self.stage.flash_sale = (promo.product_id, wall + timedelta(seconds=left))
                elif not change.started:
                    self.stage.flash_sale = None
            if change.started:
                extra = self._announcement(promo.kind, promo.product_id, promo.code, promo.threshold)
                if extra is not None:
                    self._announcements.append((now, extra))

    def _announcement(
        self, kind: Kind, product_id: str | None, code: str | None, threshold: int
    ) -> Extra | None:
        lang = self.scene.language
        catalog = self.scene.catalog
        if kind is Kind.COUPON and code:
            template = (
                "优惠券来啦！结算时输入优惠码 CODE，屏幕上显示期间有效。"
                if lang == "zh"
                else "Coupon drop! Use code CODE at checkout while it's on screen."
            )
            # The code may contain digits that are not catalog facts: check the line without it.
            checked = self.compliance.check(template.replace("CODE", "the code"), lang)
            if checked.blocked:
                return None
            return Extra("promotion", template.replace("CODE", code), None)
        if product_id is None or product_id not in catalog:
            return None
        product = catalog.get(product_id)
        if kind is Kind.FLASH_SALE:
            if not product.promo_active():
                return None
            template = (
                "限时秒杀！{name}现在只要{promo_price}，原价{price}，倒计时结束就恢复原价！"
                if lang == "zh"
                else "Flash sale! The {name} is {promo_price} instead of {price} until the countdown ends!"
            )
        else:
            if product.stock > threshold or product.stock == 0:
                return None  # "only N left" only when it is true and there is something left
            template = (
                "{name}只剩{stock}件了，喜欢的抓紧！"
                if lang == "zh"
                else "Only {stock} left of the {name}, be quick!"
            )
        text = self._checked(fill(template, product, catalog, lang), product_id)
        return Extra("promotion", text, product_id) if text else None

    # -- what to say next ------------------------------------------------------------------------
    def next_extra(self, now: float, queue_empty: bool, run_of_show: RunOfShow) -> Extra | None:
        """The line to say before the next scripted one, or None (see the module docstring)."""
        if not queue_empty:
            return None  # questions first, always
        while self._announcements:
            queued_at, extra = self._announcements.popleft()
            if now - queued_at <= ANNOUNCE_TTL_S:
                return extra
        checkpoint = self._checkpoint(run_of_show)
        if checkpoint is not None:
            return checkpoint
        quiet = now - self._last_comment
        greeting = self._greeting(now, quiet)
        if greeting is not None:
            return greeting
        if quiet >= self.idle_after_s and now - self._last_idle >= self.idle_every_s:
            product_id = run_of_show.current_product_id
            lines = idle_lines(self.scene, self.scene.catalog.get(product_id), self.scene.language)
            if lines:
                self._last_idle = now
                text = self._checked(lines[self._idle_index % len(lines)], product_id)
                self._idle_index += 1
                if text:
                    return Extra("idle", text, product_id)
        return None

    def _checkpoint(self, run_of_show: RunOfShow) -> Extra | None:
        if not run_of_show.segment_done:
            return None
        key = (run_of_show.segment_index, run_of_show.passes)
        if self._checkpoint_done == key:
            return None
        self._checkpoint_done = key
        product_id = run_of_show.current_product_id
        name = self.scene.catalog.get(product_id).name(self.scene.language)
        text = (
            f"关于{name}还有什么问题吗？现在就在评论区问我！"
            if self.scene.language == "zh"
            else f"Any questions about the {name}? Ask me now in the chat!"
        )
        text = self._checked(text, product_id)
        return Extra("checkpoint", text, product_id) if text else None

    def _greeting(self, now: float, quiet: float) -> Extra | None:
        while self._names and now - self._names[0][0] > GREET_TTL_S:
            self._names.popleft()
        if not self._names or quiet < GREET_QUIET_S or now - self._last_greeting < self.greet_every_s:
            return None
        names = [self._names.popleft()[1] for _ in range(min(MAX_NAMES_PER_GREETING, len(self._names)))]
        self._names.clear()  # more than a few at once: greet them as a group next time, not by name
        self._last_greeting = now
        zh = self.scene.language == "zh"
        known = [n for n in names if n.lower() not in {"viewer", "guest"}]
        if known:
            listed = (
                "、".join(known)
                if zh
                else " and ".join([", ".join(known[:-1]), known[-1]] if len(known) > 1 else known)
            )
            text = f"欢迎{listed}来到直播间！" if zh else f"Welcome, {listed}! Great to have you here."
        else:
            text = "欢迎新来的朋友！" if zh else "Welcome to everyone who just joined!"
        text = self._checked(text, None)
        return Extra("greeting", text, None) if text else None

    def _checked(self, text: str, product_id: str | None) -> str:
        result = self.compliance.check(text, self.scene.language, product_id)
        return result.text

"""The live show: wires brain, speaker, playout, renderer and broadcaster into one running programme.

The host loop alternates scripted lines and answers. A viewer's comment interrupts a scripted line
at once (live-commerce hosts answer comments immediately); the line resumes from the interrupted
sentence afterwards. Answers themselves are never interrupted: later comments wait their turn.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from avatar.answer_cache import AnswerCache
from avatar.brain.answerer import Answer, Answerer
from avatar.brain.brain import Brain
from avatar.brain.catalog import Product
from avatar.brain.director import Director, Extra
from avatar.brain.phrasing import Phrased, Phraser, build_phraser
from avatar.brain.reload import SceneReloader
from avatar.brain.reply import reply
from avatar.brain.scene import SCENE_FILE, Scene
from avatar.brain.scriptgen import ScriptWriter, write_all
from avatar.brain.semantic import default_embedder
from avatar.brain.show import RunOfShow
from avatar.brain.triage import COHOST, Comment, CommentQueue, Verdict
from avatar.brain.wording import AnswerWriter, Sentence
from avatar.config import Settings
from avatar.engines.tts.voices import load_voice, voice_status
from avatar.errors import DataError
from avatar.events import Caption, ChatPosted, EventBus, Notice, ProductShown
from avatar.hygiene import NameRefused, clean, display_name
from avatar.media.broadcaster import Broadcaster
from avatar.media.clock import Clock, LoopClock
from avatar.media.playout import NowPlaying, Playout
from avatar.media.programme import Programme
from avatar.modes.prepare import AnswerPreparer, Subject
from avatar.modes.stage import Stage, cut_caption
from avatar.ops.control import OperatorLine
from avatar.ops.operations import Operations
from avatar.ops.store import Store
from avatar.render.animator import Animator
from avatar.render.compositor import Renderer
from avatar.render.frame import ProductCard
from avatar.sources.base import CommentSource
from avatar.sources.config import scene_sources
from avatar.sources.hub import SourceHub
from avatar.speaker import Speaker, SpeechResult, Voice

log = logging.getLogger(__name__)

BRAIN_DOWN_LINE = {
    "en": "Good question! Give me a moment and ask me again, please.",
    "zh": "好问题！请稍等，再问我一次。",
}
COHOST_FLOOR_MAX_S: Final = 20.0
"""The host waits at most this long for a co-host who started talking (a stuck mic cannot stall it)."""
HISTORY_LINES: Final = 200
DIRECTOR_TICK_S = 1.0  # how often promotions and scene edits are checked
BLOCKED_LINE_PAUSE_S = 0.5  # pause after skipping a scripted line that failed compliance
NOTICES = {
    Verdict.EMPTY: "Type a question first.",
    Verdict.TOO_LONG: "That message is too long; please keep it under 300 characters.",
    Verdict.RATE_LIMITED: "You're sending messages too fast; please wait a few seconds.",
    # Never says what was wrong with it: the notice must not repeat or hint at abuse.
    Verdict.MODERATED: "The host can't take that message; please keep chat friendly and on today's products.",
}


@dataclass(frozen=True)
class HeardLine:
    """One line of the host as the audience heard it (an interrupted line keeps only what went out)."""

    turn_id: int
    text: str  # what was heard
    full_text: str  # what the line would have said
    interrupted: bool


@dataclass(frozen=True)
class AnswerTiming:
    """When a comment arrived and when the audience first heard its answer (clock seconds)."""

    received_at: float
    first_audio_at: float


def product_card(product: Product, scene: Scene, language: str) -> ProductCard:
    """What the on-screen card shows for a product: catalog facts only."""
    catalog = scene.catalog
    stock = f"{product.stock} left" if language == "en" else f"仅剩 {product.stock} {product.unit_word('zh')}"
    return ProductCard(
        name=product.name(language),
        price_text=catalog.format_price(product.price),
        # An ended promo leaves the card with the regular price (the host stops quoting it too).
        promo_text=catalog.format_price(product.promo.price)
        if product.promo and product.promo_active()
        else None,
        stock_text=stock,
        image_path=product.image,
    )


DEFAULT_ZH_VOICE = "mandarin-neural"
"""Chinese answers in a scene of another language: the neural Mandarin voice when it is set up."""
ESPEAK_VOICES = {"en": "espeak-en", "zh": "mandarin"}
"""The espeak-ng voices that stand in, per language, when a voice fails."""


def build_speaker(scene: Scene, playout: Playout, settings: Settings) -> Speaker:
    """The scene's voice for its language, Mandarin for Chinese answers, espeak-ng as fallback."""
    voices = {scene.language: Voice(load_voice(scene.voice, settings.voices))}
    if "zh" not in voices:
        neural = load_voice(DEFAULT_ZH_VOICE, settings.voices)
        usable = voice_status(neural)[0]
        voices["zh"] = Voice(neural if usable else load_voice(ESPEAK_VOICES["zh"], settings.voices))
    fallbacks = {
        language: Voice(load_voice(name, settings.voices))
        for language, name in ESPEAK_VOICES.items()
        if language != "en" and voices.get(language) and voices[language].spec.engine != "espeak"
    }
    return Speaker(
        playout, voices, fallback=Voice(load_voice(ESPEAK_VOICES["en"], settings.voices)), fallbacks=fallbacks
    )


class LiveShow:
    """One running show: the programme pump plus the host loop, and the inputs viewers reach."""

    def __init__(
        self,
        scene: Scene,
        settings: Settings,
        *,
        clock: Clock | None = None,
        speaker: Speaker | None = None,
        store: Store | None = None,
        phraser: Phraser | None = None,
        sources: list[CommentSource] | None = None,
    ) -> None:
        """``phraser`` rewords answers with an LLM; default: the model ``settings.llm`` or the
        scene's ``llm:`` names (none -> templates only). ``sources``: the platforms whose chat the
        host reads besides the viewer page; default: the scene's ``chat:`` list."""
        self.scene = scene
        self.settings = settings
        self.clock: Clock = clock or LoopClock()
        self.bus = EventBus()
        self.comments = CommentQueue(scene.catalog)
        # Understanding, memory, answers, fact lock: one owner.
        self.brain = Brain(scene, embedder=default_embedder())
        self.phraser = phraser or build_phraser(scene, settings.llm, self.answerer.compliance)
        self.last_phrased: Phrased | None = None
        # A configured model writes whole answers, spoken sentence by sentence as they are checked.
        self.writer = AnswerWriter(self.phraser)
        self.script_writer = ScriptWriter(
            self.phraser, sleep=lambda seconds: self.clock.sleep_until(self.clock.now() + seconds)
        )
        self._lag_seen = 0  # dropped frames + resyncs when the script writer last looked
        self.run_of_show = RunOfShow(scene)
        self.playout = Playout(on_start=self._on_sentence_start)
        self.broadcaster = Broadcaster()
        self.speaker = speaker or build_speaker(scene, self.playout, settings)
        self.speaker.playout = self.playout
        self.renderer = Renderer(
            settings.width,
            settings.height,
            scene.theme,
            root=scene.root,
            language=scene.language,
            portrait=scene.avatar.portrait,
        )
        self.animator = Animator(settings.fps)
        self.stage = Stage(scene, self.animator)  # builds each frame; the host loop sets its mood
        self.programme = Programme(self.playout, self.render, self.broadcaster, self.clock, fps=settings.fps)
        self.product_id = self.run_of_show.current_product_id
        # Promotions, Q&A checkpoints, greetings and idle talk; hot reload of the scene's files.
        self.director = Director(scene, self.answerer.compliance, started_at=0.0, stage=self.stage)
        self.reloader = SceneReloader(scene)
        self.answer_timings: list[AnswerTiming] = []
        self.answering = False  # an answer is being spoken (comments wait; scripted lines yield)
        self._answering_comment: Comment | None = None  # the comment being answered now
        self.retracted = 0  # spoken questions taken back because the speaker went on
        # What the audience heard, newest last: the show's history (interrupted lines cut to what went out).
        self.history: collections.deque[HeardLine] = collections.deque(maxlen=HISTORY_LINES)
        self.barge_in = settings.barge_in or scene.barge_in  # sentence | immediate | off
        self.barge_ins = 0  # lines a co-host's voice stopped
        self._floor_free = asyncio.Event()  # cleared while the co-host has the floor
        self._floor_free.set()
        self._card_language = scene.language
        self._pending_first_audio: dict[int, float] = {}  # turn id -> comment received_at
        self._started_wall = time.time()
        self._warmed = False
        # Supervision, metrics, persistence and operator control (avatar/ops).
        self.ops = Operations(self, store)
        if sources is None:
            scene_file = scene.root / SCENE_FILE
            sources = scene_sources(scene_file) if scene_file.is_file() else []
        # Platform chat (Twitch, YouTube, ingest bridges): the same triage as the viewer page's.
        self.sources = SourceHub(sources, self._platform_comment)
        self._tasks: list[asyncio.Task[None]] = []
        self._reindex: asyncio.Task[None] | None = None
        # Answers to the common questions about the product on screen, synthesised ahead in the
        # voice's idle time; emptied by every scene swap (use_scene).
        self.answers = AnswerCache()
        self.speaker.answers = self.answers
        self.preparer = AnswerPreparer(
            self.answers,
            self.speaker,
            ask=lambda question, product_id: self.ops.brain.run(self.brain.respond, question, product_id),
            subject=self._prepare_subject,
            catalog=lambda: self.scene.catalog,
            # A viewer waits, an answer is being worked out (thinking) or spoken, or a model words one.
            busy=lambda: (
                bool(self.comments) or self.stage.thinking or self.answering or self.phraser.live > 0
            ),
            sleep=lambda seconds: self.clock.sleep_until(self.clock.now() + seconds),
        )

    def _prepare_subject(self) -> Subject | None:
        """What answers are prepared for: the product on screen in the show's language; nothing
        while a model words the answers (its words differ each time, so none would be found)."""
        if self.phraser.engine is not None or self.product_id not in self.scene.catalog:
            return None
        return Subject(self.scene.catalog.get(self.product_id), self.scene.language)

    @property
    def answerer(self) -> Answerer:
        """The brain's answerer (its ``compliance`` is the show's fact lock)."""
        return self.brain.answerer

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the programme at once (silence and idle motion) and the host after warm-up."""
        self.director.start(self.clock.now())
        await self.ops.start()  # the programme pump and the host loop run under the supervisor
        self.sources.start()  # each source retries on its own; none can stop the show
        self.reloader = SceneReloader(self.scene, start=self.clock.now())
        self._tasks.append(asyncio.create_task(self._direct(), name="director"))
        self._tasks.append(asyncio.create_task(self.preparer.run(), name="prepare-answers"))
        # The model loads in the background; answers are templates until it is ready.
        self._tasks.append(asyncio.create_task(self._load_llm(), name="llm-load"))
        self.brain.warm()  # the catalog's embeddings, in a thread: the first questions need not wait

    async def stop(self) -> None:
        """Stop everything the show started, and wait for it."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
        self._tasks.clear()
        await self.sources.stop()
        await self.ops.stop()
        self.programme.close()
        self.speaker.close()
        if self._reindex is not None:
            self._reindex.cancel()
        self.phraser.close()

    async def _load_llm(self) -> None:
        if await self.phraser.load() and self.phraser.rewrites_scripts:
            await self._write_scripts()

    async def _write_scripts(self) -> None:
        # The LLM rewords the scene's lines in the background; answers to viewers go first.
        await write_all(self.script_writer, self.scene, self.run_of_show, self._script_writer_waits)

    def _script_writer_waits(self) -> bool:
        """Script rewording waits while viewers wait, an answer is worded or spoken, or the
        renderer lags (frames dropped or a resync since the last look): the stream needs the CPU."""
        stats = self.programme.stats
        lag = stats.dropped_frames + stats.resyncs
        lagging, self._lag_seen = lag > self._lag_seen, lag
        return bool(self.comments) or self.answering or self.phraser.live > 0 or lagging

    async def _direct(self) -> None:
        """Once a second: start and end promotions, and pick up edits of the scene's files."""
        start = self.clock.now()
        tick = 0
        while True:
            now = self.clock.now()
            self.director.tick(now, self.stage.wall_clock())
            scene = self.reloader.poll(now)
            if scene is not None:
                self.use_scene(scene)
            tick += 1
            await self.clock.sleep_until(start + tick * DIRECTOR_TICK_S)

    def use_scene(self, scene: Scene) -> None:
        """Put a reloaded scene on air without stopping the stream: the one swap every reload
        (file watcher, SIGHUP, console) goes through, so catalog, fact lock, answerer, memory, run
        of show and director change together (a bad compliance file is refused)."""
        try:
            self.brain.swap_scene(scene)
        except DataError as error:
            log.error("scene edit refused, the show keeps the previous version: %s", error)
            return
        self.scene = scene
        # Catalog, stock or promos may have changed: nothing prepared from the old data is kept.
        self.answers.invalidate("scene reloaded")
        answerer = self.brain.answerer
        self.comments.catalog = scene.catalog
        self.run_of_show.use_scene(scene)
        self.stage.scene = scene
        self.phraser.use_compliance(answerer.compliance)
        if self._reindex is not None:
            self._reindex.cancel()
        if self.phraser.rewrites_scripts:
            self._reindex = asyncio.create_task(self._write_scripts(), name="rewrite-scripts")
        self.director.use_scene(scene, answerer.compliance)
        if self.product_id not in scene.catalog:
            self.product_id = self.run_of_show.current_product_id
            self.ops.product_shown(self.product_id)

    # -- inputs ----------------------------------------------------------------------------------
    def shown_name(self, name: str) -> str:
        """A viewer's name as it may be shown and spoken: cleaned and moderated, and never the
        host's, the co-host's or the operator's (``"viewer"`` instead; see :func:`display_name`)."""
        try:
            return display_name(name, (self.scene.persona.name,))
        except NameRefused:
            return "viewer"

    def submit_comment(self, viewer_id: str, name: str, text: str, platform: str = "") -> Verdict:
        """A viewer's chat message: queued for the host, or refused with a notice to that viewer.

        ``platform``: where it was written ("" the viewer page; "twitch", "youtube", an ingest
        source), shown with it on the ticker and in the console; ``viewer_id`` is then
        ``platform:user`` so limits apply per platform user. Every source (typed chat, a spoken
        question, a platform's chat) comes through here, so name and text are cleaned here
        (:mod:`avatar.hygiene`) before moderation, the queue, the console and the ticker see them.
        """
        name, text = self.shown_name(name), clean(text)
        merged, now = self.comments.merged, self.clock.now()
        verdict = self.comments.submit(viewer_id, name, text, now)
        if verdict is Verdict.ACCEPTED:
            self.ops.comment_accepted(viewer_id, name, text, now, merged=self.comments.merged > merged)
            shown = " ".join(text.split())
            self.bus.publish(ChatPosted(viewer_id, name[:40] or "viewer", shown, platform))
            self.stage.comment(f"[{platform}] {name}" if platform else name, text)
            self.director.comment_seen(self.clock.now())
        else:
            self.bus.publish(Notice(viewer_id, NOTICES[verdict]))
        return verdict

    def _platform_comment(self, viewer_id: str, name: str, text: str, platform: str) -> Verdict:
        return self.submit_comment(viewer_id, name, text, platform)

    def cohost_speech_started(self) -> None:
        """The co-host started talking (a quarter second of speech on the studio mic): the host
        yields the floor, stopping the line being spoken per :attr:`barge_in`."""
        if self.barge_in == "off":
            return  # the host talks on; the co-host's question still goes first in the queue
        self._floor_free.clear()
        if self.speaker.speaking:
            self.barge_ins += 1
            when = "at once" if self.barge_in == "immediate" else "at the end of the sentence"
            log.info("co-host barge-in: the host stops %s", when)
            self.speaker.interrupt(at_sentence_end=self.barge_in == "sentence")

    def cohost_said(self, name: str, text: str) -> Verdict:
        """The co-host's final transcript: to the brain as the co-host, ahead of viewer chat."""
        text = clean(text)
        merged, now = self.comments.merged, self.clock.now()
        verdict = self.comments.submit("studio", name, text, now, role=COHOST)
        if verdict is Verdict.ACCEPTED:
            self.ops.comment_accepted("studio", name, text, now, merged=self.comments.merged > merged)
            self.bus.publish(ChatPosted("studio", name[:40] or "co-host", " ".join(text.split())))
        self.cohost_done()
        return verdict

    def retract_spoken(self, viewer_id: str, text: str) -> bool:
        """A spoken question was only its first part: the listener took a pause for the end of the
        turn and the speaker went on (avatar.listen.endpoint). It leaves the queue if it waits
        there, and its answer stops at once if it is being spoken (the whole question follows as a
        new comment). ``viewer_id``: "studio" for the co-host. True if one was found."""
        text = " ".join(clean(text).split())
        for comment in self.comments.waiting():
            if comment.viewer_id == viewer_id and comment.text == text:
                self.comments.remove(comment)
                self.retracted += 1
                return True
        current = self._answering_comment
        if current is not None and current.viewer_id == viewer_id and current.text == text:
            log.info("the speaker went on: the answer to half a question stops")
            self.speaker.interrupt()
            self.retracted += 1
            return True
        return False

    def cohost_done(self) -> None:
        """The co-host's turn is over (said, or nothing understood): the host may speak again."""
        self._floor_free.set()

    async def _wait_for_floor(self) -> None:
        if self._floor_free.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._floor_free.wait(), COHOST_FLOOR_MAX_S)
        self._floor_free.set()

    def viewer_joined(self, name: str) -> None:
        """A viewer's page connected: greet them when chat is quiet (rate-limited)."""
        self.director.viewer_joined(self.shown_name(name), self.clock.now())

    def health(self) -> dict[str, Any]:
        """What /healthz reports."""
        stats = self.programme.stats
        health = {
            "status": "ok",
            **self.ops.health(),
            "uptime_s": round(time.time() - self._started_wall, 1),
            "viewers": self.broadcaster.viewers,
            "current_product": self.product_id,
            "queue_depth": len(self.comments),
            "programme_s": round(self.programme.seconds, 2),
            "frames": stats.frames,
            "dropped_frames": stats.dropped_frames,
            "voice_failures": self.speaker.failures,
            "llm": {"engine": self.phraser.engine_name, "ready": self.phraser.ready, **self.phraser.stats},
            "listen": {"barge_in": self.barge_in, "barge_ins": self.barge_ins, "retracted": self.retracted},
            "answer_cache": {
                **self.answers.stats(),
                "prepared_for": self.preparer.prepared_for[1] if self.preparer.prepared_for else None,
            },
            "scene_reloads": self.reloader.reloads,
            "scene_reload_error": self.reloader.last_error,
            "chat_sources": self.sources.health(),
        }
        if not self.sources.healthy:  # a platform's chat is down: the show runs, but say so
            health["status"] = "degraded"
        return health

    # -- the picture -------------------------------------------------------------------------------
    def render(self, t: float, playing: NowPlaying) -> npt.NDArray[np.uint8]:
        """The frame at programme time ``t``; runs on the render thread."""
        catalog = self.scene.catalog
        product = catalog.get(
            self.product_id if self.product_id in catalog else self.run_of_show.current_product_id
        )
        card = product_card(product, self.scene, self._card_language)
        return self.renderer.render_i420(self.stage.frame(t, playing, product, card))

    # -- the host ----------------------------------------------------------------------------------
    def _on_sentence_start(self, turn_id: int, text: str) -> None:
        self.bus.publish(Caption(text, turn_id))
        self.ops.said(turn_id, text)
        received = self._pending_first_audio.pop(turn_id, None)
        if received is not None:
            self.stage.thinking = False  # the answer is audible: stop looking pensive
            self.answer_timings.append(AnswerTiming(received, self.clock.now()))
            del self.answer_timings[:-1000]

    def _show_product(self, product_id: str, language: str) -> None:
        if product_id != self.product_id or language != self._card_language:
            if product_id != self.product_id:
                self.ops.product_shown(product_id)
            self.product_id = product_id
            self._card_language = language
            self.bus.publish(ProductShown(product_id))

    async def host_loop(self) -> None:
        if not self._warmed:  # once: the supervisor may restart this loop
            self._warmed = True
            try:
                await self.speaker.warm_up()
            except Exception:
                log.exception("voice warm-up failed; continuing with fallbacks")
            greeting = self._compliant(
                self.scene.persona.greeting.get(self.scene.language, ""), source="greeting"
            )
            if greeting and not self.ops.resumed:  # a show resumed after a restart does not greet again
                self.stage.greeting_turn = self.speaker.next_turn_id
                await self._say(greeting)
        control = self.ops.control
        while True:
            self.ops.beat()
            await self._wait_for_floor()  # the co-host is talking: listen, then answer them first
            await control.wait_live(self.ops.beat)  # paused or muted by the operator
            if (jump := control.take_jump()) is not None and self.run_of_show.jump_to(jump):
                self._show_product(jump, self.scene.language)
            if (line := control.take_line()) is not None:
                await self._say_operator_line(line)
                continue
            comment = control.take_pinned() or self.comments.pop(self.clock.now(), self.product_id)
            if comment is not None:
                self._answering_comment = comment
                try:
                    await self._answer(comment)
                finally:
                    self._answering_comment = None
                continue
            extra = self.director.next_extra(self.clock.now(), not self.comments, self.run_of_show)
            if extra is not None:
                await self._say_extra(extra)
                continue
            await self._say_script_line()

    async def _say_extra(self, extra: Extra) -> None:
        """A promotion, checkpoint, greeting or idle line: a comment cuts it short, it is not resumed."""
        log.info("%s: %s", extra.kind, extra.text)
        if extra.product_id is not None:
            self._show_product(extra.product_id, self.scene.language)
        await self._interruptible(extra.text)

    def _compliant(self, text: str, product_id: str | None = None, *, source: str = "script") -> str:
        """``text`` as the compliance checker lets it be spoken; "" when it must not be said."""
        if not text:
            return ""
        result = self.answerer.compliance.check(text, self.scene.language, product_id)
        self.ops.checked(source, product_id, text, result)
        return result.text

    async def _say_operator_line(self, line: OperatorLine) -> None:
        """A line injected from the console (or a promotion): checked like any other, then spoken."""
        text = self._compliant(line.text, line.product_id, source=line.source)
        if not text:
            return
        if line.product_id:
            self._show_product(line.product_id, self.scene.language)
        self.answering = True
        try:
            await self._say(text)
        finally:
            self.answering = False

    async def _say_script_line(self) -> None:
        line = self.run_of_show.next_line()
        self.ops.script_line(line.segment, line.line)
        text = self._compliant(line.text, line.product_id)
        if not text:
            # Blocked (the checker logged why): skip the line, but yield to chat for a moment so
            # a script whose every line is blocked cannot spin the loop.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.comments.wait(), BLOCKED_LINE_PAUSE_S)
            return
        line = replace(line, text=text)
        self._show_product(line.product_id, self.scene.language)
        result = await self._interruptible(line.text)
        if result.interrupted:
            self.run_of_show.resume(line, result.sentences_completed)

    async def _say(self, text: str, language: str | None = None) -> SpeechResult:
        """Speak a line and keep in the history what the audience heard of it."""
        result = await self.speaker.say(text, language=language or self.scene.language)
        self._heard(result, text)
        return result

    def _heard(self, result: SpeechResult, text: str) -> None:
        """Keep in the history what the audience heard of a line, and cut its caption back."""
        self.history.append(HeardLine(result.turn_id, result.heard_text, text, result.interrupted))
        cut = result.cut
        if cut is not None:
            # The transcript took the whole sentence when it started playing: cut it back.
            sentence, heard = cut
            self.ops.cut(result.turn_id, sentence, heard)
            # Captions too show only what was heard, on the picture and on viewers' pages.
            self.stage.cut = (result.turn_id, sentence, heard)
            self.bus.publish(Caption(cut_caption(heard), result.turn_id))

    async def _interruptible(self, text: str) -> SpeechResult:
        """Say ``text``, stopping at once when a comment arrives."""
        speaking = asyncio.create_task(self._say(text))
        waiting = asyncio.create_task(self.comments.wait())
        try:
            await asyncio.wait({speaking, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if not speaking.done():
                self.speaker.interrupt()
            result: SpeechResult = await speaking
        finally:
            waiting.cancel()
            speaking.cancel()
        return result

    async def _answer_streamed(self, comment: Comment) -> None:
        """Answer with whole answers from a configured model: the catalog answer is the plan, the
        model words it sentence by sentence, and each checked sentence is spoken as it comes."""
        try:
            answer: Answer = await self.ops.answer(
                comment.text, self.product_id, comment.viewer_id, comment.received_at, comment.reading
            )
        except Exception:  # the brain crashed or hung (the supervisor restarts it): say so briefly
            log.exception("no answer for %r", comment.text[:80])
            self.ops.unanswered(comment)
            self.stage.thinking = False
            await self._say(BRAIN_DOWN_LINE.get(self.scene.language, BRAIN_DOWN_LINE["en"]))
            return
        if answer.product_id:
            self._show_product(answer.product_id, answer.language)
        self._pending_first_audio[self.speaker.next_turn_id] = comment.received_at
        if answer.intent == "greeting":
            self.stage.greeting_turn = self.speaker.next_turn_id
        said: list[Sentence] = []

        async def sentences() -> AsyncGenerator[str, None]:
            # Closed explicitly: an interrupted answer must stop the model's stream at once.
            async with contextlib.aclosing(self.writer.sentences(answer, comment.text)) as written:
                async for sentence in written:
                    said.append(sentence)
                    yield sentence.text

        self.answering = True
        try:
            async with contextlib.aclosing(sentences()) as spoken:
                result = await self.speaker.say_stream(spoken, language=answer.language)
            text = ("" if answer.language == "zh" else " ").join(s.text for s in said)
            self._heard(result, text)
            self.writer.remember(comment.text, text)
            by_llm = any(s.by == "llm" for s in said)
            self.last_phrased = Phrased(
                replace(answer, text=text),
                "llm" if by_llm else "template",
                self.phraser.engine_name,
                next((s.reason for s in said if s.reason), None),
            )
            log.info("answer to %s (%s, %s): %s", comment.name, answer.intent, self.last_phrased.by, text)
            timing = self.answer_timings[-1] if self.answer_timings else None
            heard = (
                timing.first_audio_at - timing.received_at
                if timing and timing.received_at == comment.received_at
                else None
            )
            self.ops.answered(
                comment,
                self.last_phrased.answer,
                heard,
                spoken=result.heard_text if result.interrupted else None,
            )
        finally:
            self.answering = False
            self.stage.thinking = False
            self._pending_first_audio.clear()
        self._show_product(self.run_of_show.current_product_id, self.scene.language)

    async def _answer(self, comment: Comment) -> None:
        self.stage.thinking = True  # until the answer is heard (see _on_sentence_start)
        if self.phraser.whole_answers and self.phraser.ready:
            await self._answer_streamed(comment)
            return
        try:
            # Catalog answer (retrieval picks the product when no name does; the answerer runs on the
            # supervised brain worker), reworded by the LLM when it passes the fact lock in budget.
            self.last_phrased = await reply(
                self.phraser,
                comment.text,
                self.product_id,
                ask=lambda text, on_screen: self.ops.answer(
                    text, on_screen, comment.viewer_id, comment.received_at, comment.reading
                ),
            )
        except Exception:  # the brain crashed or hung (the supervisor restarts it): say so briefly
            log.exception("no answer for %r", comment.text[:80])
            self.ops.unanswered(comment)
            self.stage.thinking = False
            await self._say(BRAIN_DOWN_LINE.get(self.scene.language, BRAIN_DOWN_LINE["en"]))
            return
        answer: Answer = self.last_phrased.answer
        log.info("answer to %s (%s): %s", comment.name, answer.intent, answer.text)
        if answer.product_id:
            self._show_product(answer.product_id, answer.language)
        self._pending_first_audio[self.speaker.next_turn_id] = comment.received_at
        if answer.intent == "greeting":
            self.stage.greeting_turn = self.speaker.next_turn_id
        self.answering = True
        try:
            result = await self._say(answer.text, answer.language)
            timing = self.answer_timings[-1] if self.answer_timings else None
            heard = (
                timing.first_audio_at - timing.received_at
                if timing and timing.received_at == comment.received_at
                else None
            )
            self.ops.answered(
                comment, answer, heard, spoken=result.heard_text if result.interrupted else None
            )
        finally:
            self.answering = False
            self.stage.thinking = False
            self._pending_first_audio.clear()
        # Back to the segment on air, in the show's language.
        self._show_product(self.run_of_show.current_product_id, self.scene.language)

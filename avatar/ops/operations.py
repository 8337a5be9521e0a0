"""Operations of one live show: supervision, metrics, persistence and operator control, wired in.

``LiveShow`` owns one :class:`Operations` and calls a few hooks (comment accepted, line said, answer
given, compliance result); everything else about running 24/7 lives here, so the show's own code
stays about the show. Operations see the show only through :class:`~avatar.ops.show.Show`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

from avatar.brain.answerer import Answer, Answerer
from avatar.brain.compliance import ComplianceResult
from avatar.brain.scene import load_scene
from avatar.brain.triage import COMMENT_TTL_S, Comment
from avatar.brain.understanding import Reading
from avatar.engines.worker import ModelWorker, WorkerRestarted
from avatar.ops.control import Control, OperatorLine, comment_key
from avatar.ops.metrics import Registry
from avatar.ops.show import Show
from avatar.ops.store import Store
from avatar.ops.supervisor import Supervisor

log = logging.getLogger(__name__)

# Both well under a second, so a stall (hang + one check interval) stays under a second on screen.
PROGRAMME_HANG_S: Final = 0.5  # the pump ticks every 20 ms: half a second without a tick is a hang
RENDER_HANG_S: Final = 0.5  # one frame (normally < 10 ms) taking half a second: the thread is stuck
HOST_HANG_S: Final = 45.0  # no line started or finished for this long (sentences last seconds)
TTS_HANG_S: Final = 20.0  # one sentence; loading a model on first use is included
BRAIN_HANG_S: Final = 5.0  # one answer
HOUSEKEEPING_S: Final = 60.0  # viewer samples and state saves
RETENTION_EVERY_S: Final = 3600.0
STATE_KEY: Final = "show"


class Operations:
    """Supervisor, metrics, store and operator control of one show."""

    def __init__(self, show: Show, store: Store | None = None) -> None:
        self.show = show
        self.store = store
        self.supervisor = Supervisor(show.clock)
        self.control = Control(on_cut=show.speaker.interrupt)
        self.brain = ModelWorker("brain")  # answers run here: a hung answerer never blocks the loop
        self.metrics = Registry()
        self.resumed = False  # the show came back from saved state (no second greeting)
        self.started_wall = time.time()
        self.first_frame = False
        self.beats = 0
        self._qkeys: dict[tuple[str, float], str] = {}  # (viewer, received_at) -> question key
        self._last_prune = 0.0
        self.script_position: tuple[int, int] | None = None  # the scripted line on air (a restart repeats it)
        self._register_metrics()
        show.programme.on_render = self.metrics.histogram(
            "avatar_stage_latency_seconds", "Latency of one call of a stage", stage="render"
        ).observe
        show.speaker.on_synth = self._on_synth
        show.comments.on_drop = self.dropped

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Restore saved state, then start every stage under the supervisor."""
        self.restore()
        if self.store is not None:  # sessions a crash left open end here (audience analytics)
            self.store.viewer_event("", "start")
            self.store.on_air(self.show.product_id)  # time on air counts from here
        show = self.show
        supervisor = self.supervisor
        supervisor.task(
            "programme",
            show.programme.run,
            progress=lambda: show.programme.stats.ticks,
            hang_s=PROGRAMME_HANG_S,
        )
        supervisor.task(
            "host",
            show.host_loop,
            progress=self._host_progress,
            hang_s=HOST_HANG_S,
            on_restart=show.speaker.interrupt,
        )
        supervisor.task("housekeeping", self._housekeeping)
        supervisor.watch(
            "renderer",
            progress=lambda: show.programme.stats.frames,
            hang_s=RENDER_HANG_S,
            recover=show.programme.restart_renderer,
            active=lambda: show.programme.rendering,
        )
        voices = [*show.speaker.voices.values(), show.speaker.fallback]
        for voice in voices:
            if voice is not None and f"tts-{voice.spec.name}" not in supervisor.stages:
                supervisor.watch_worker(f"tts-{voice.spec.name}", voice.worker, hang_s=TTS_HANG_S)
        supervisor.watch_worker("brain", self.brain, hang_s=BRAIN_HANG_S)
        supervisor.watch(
            "broadcaster",
            progress=lambda: show.programme.stats.ticks,
            hang_s=PROGRAMME_HANG_S,
            recover=None,  # nothing to restart: it forwards what the pump makes (which is supervised)
        )
        await supervisor.start()

    async def stop(self) -> None:
        """Stop the stages, save where the show stands, close the database."""
        await self.supervisor.stop()
        self.save_state()
        if self.store is not None:
            self.store.on_air("")  # off air: no product's time runs on while the show is down
        self.brain.close()
        if self.store is not None:
            store, self.store = self.store, None
            await asyncio.get_running_loop().run_in_executor(None, store.close)

    def _host_progress(self) -> object:
        # Paused or muted the host waits on purpose: always "progressing".
        if not self.control.live:
            return ("waiting", self.show.clock.now())
        return self.beats

    def beat(self) -> None:
        """The host loop is alive (called each turn of it and whenever a sentence starts)."""
        self.beats += 1

    async def _housekeeping(self) -> None:
        clock = self.show.clock
        while True:
            if self.store is not None:
                self.store.viewers(self.show.broadcaster.viewers)
                if clock.now() - self._last_prune >= RETENTION_EVERY_S or self._last_prune == 0.0:
                    self._last_prune = clock.now()
                    await self.store.prune()
            self.save_state()
            await clock.sleep_until(clock.now() + HOUSEKEEPING_S)

    # -- health and metrics --------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The stages' health, for /healthz."""
        return {
            "status": "ok" if self.supervisor.healthy else "degraded",
            "stages": self.supervisor.health(),
            "paused": self.control.paused,
            "muted": self.control.muted,
        }

    def ready(self) -> tuple[bool, str]:
        """/readyz: a picture is on air and the pump is running."""
        if self.show.broadcaster.last_video is None:
            return False, "no video frame yet"
        programme = self.supervisor.stages.get("programme")
        if programme is None or programme.state != "ok":
            return False, "the programme pump is restarting"
        return True, "ready"

    def _on_synth(self, voice: str, seconds: float, error: BaseException | None) -> None:
        self.metrics.histogram("avatar_stage_latency_seconds", "", stage="tts").observe(seconds)
        if error is not None:
            self.supervisor.error(f"tts-{voice}", error)

    def _register_metrics(self) -> None:
        show, m = self.show, self.metrics
        stats = show.programme.stats

        def per_stage(attribute: str) -> list[tuple[dict[str, str], float]]:
            return [
                ({"stage": name}, float(getattr(s, attribute))) for name, s in self.supervisor.stages.items()
            ]

        m.gauge(
            "avatar_uptime_seconds", "Seconds since the show started", lambda: time.time() - self.started_wall
        )
        m.gauge("avatar_viewers", "Viewers watching now", lambda: show.broadcaster.viewers)
        m.counter(
            "avatar_stage_restarts_total", "Stage restarts by the supervisor", lambda: per_stage("restarts")
        )
        m.counter(
            "avatar_stage_errors_total",
            "Errors (crashes, hangs, failed calls) per stage",
            lambda: per_stage("errors"),
        )
        m.gauge(
            "avatar_stage_up",
            "1 when the stage is running normally",
            lambda: [
                ({"stage": n}, float(s.state in {"ok", "busy"})) for n, s in self.supervisor.stages.items()
            ],
        )
        m.gauge(
            "avatar_queue_depth",
            "Items waiting per queue",
            lambda: [
                ({"queue": "comments"}, float(len(show.comments))),
                ({"queue": "operator_lines"}, float(self.control.lines_waiting)),
                ({"queue": "db_writes"}, float(self.store.pending_writes if self.store else 0)),
            ],
        )
        m.gauge(
            "avatar_playout_buffered_seconds",
            "Speech audio queued on the playout",
            lambda: show.playout.buffered_seconds,
        )
        m.counter("avatar_audio_ticks_total", "20 ms audio chunks produced", lambda: stats.ticks)
        m.counter("avatar_video_frames_total", "Video frames produced", lambda: stats.frames)
        m.counter(
            "avatar_video_frames_dropped_total",
            "Frames skipped: the previous render was late",
            lambda: stats.dropped_frames,
        )
        m.counter("avatar_programme_resyncs_total", "Times the pump fell 0.5 s behind", lambda: stats.resyncs)
        m.counter("avatar_voice_failures_total", "Failed speech syntheses", lambda: show.speaker.failures)
        m.counter(
            "avatar_comments_moderated_total",
            "Comments refused by moderation",
            lambda: show.comments.moderated,
        )
        m.counter(
            "avatar_db_dropped_writes_total",
            "Records not stored (backlog full or write failed)",
            lambda: (self.store.dropped_writes + self.store.failed_writes) if self.store else 0,
        )
        m.gauge("avatar_paused", "1 while the operator paused the host", lambda: float(self.control.paused))
        m.gauge("avatar_muted", "1 while the operator muted the stream", lambda: float(self.control.muted))

    # -- hooks the show calls ------------------------------------------------------------------------
    def comment_accepted(
        self, viewer_id: str, name: str, text: str, received_at: float, merged: bool
    ) -> None:
        """A viewer's comment passed triage (``merged``: folded into a waiting near-duplicate)."""
        if self.store is None:
            return
        comment = next(
            (
                c
                for c in reversed(self.show.comments.waiting())
                if c.viewer_id == viewer_id and c.received_at == received_at
            ),
            None,
        )
        key = (
            comment_key(comment)
            if comment is not None
            else f"m{self.beats:x}{len(self._qkeys):x}{received_at!r}"[:40]
        )
        self.store.question(
            key,
            viewer_id,
            name,
            " ".join(text.split()),
            comment.product_id if comment else None,
            intent=comment.intent if comment else None,
            on_air=self.show.product_id,  # "how much is this?" is about the product on screen
        )
        if merged or comment is None:
            self.store.question_status(key, "merged")
            return
        self._qkeys[(viewer_id, received_at)] = key
        while len(self._qkeys) > 1000:
            del self._qkeys[next(iter(self._qkeys))]

    def product_shown(self, product_id: str) -> None:
        """The product on screen changed (analytics: time on air, questions about "this")."""
        if self.store is not None:
            self.store.on_air(product_id)

    def viewer_event(self, viewer_id: str, event: str) -> None:
        """A viewer's page connected (``join``) or went (``leave``): the audience's real shape."""
        if self.store is not None:
            self.store.viewer_event(viewer_id, event)

    def script_line(self, segment: int, line: int) -> None:
        """A scripted line is about to be spoken: remember where, for a restart."""
        self.script_position = (segment, line)
        self.save_state()

    def said(self, turn_id: int, text: str) -> None:
        """A sentence started playing."""
        self.beat()
        if self.store is not None:
            self.store.transcript(turn_id, self.show.product_id, text)

    def cut(self, turn_id: int, text: str, heard: str) -> None:
        """A sentence that started playing was cut: its transcript keeps only ``heard``."""
        if self.store is not None:
            self.store.transcript_cut(turn_id, text, heard)

    def answered(
        self, comment: Comment, answer: Answer, latency_s: float | None, *, spoken: str | None = None
    ) -> None:
        """The host answered ``comment`` (``latency_s``: from the comment to the first audio;
        ``spoken``: what was heard of an answer that was interrupted)."""
        if latency_s is not None:
            self.metrics.histogram("avatar_stage_latency_seconds", "", stage="answer_first_audio").observe(
                latency_s
            )
        if self.store is not None:
            key = self._qkeys.pop((comment.viewer_id, comment.received_at), None)
            text = answer.text if spoken is None else spoken
            self.store.answer(key, text, answer.intent, answer.product_id, latency_s)
            if answer.compliance:
                actions = [action.as_dict() for action in answer.compliance]
                blocked = any(action.fix.value == "block" for action in answer.compliance)
                self.store.compliance("answer", answer.product_id, answer.text, blocked, actions)

    def dropped(self, comment: Comment, why: str) -> None:
        """``comment`` leaves unanswered, recorded with ``why`` instead of waiting in the store for
        ever: "expired" (stale in the queue), "dropped" (from a full queue) or "failed"."""
        if self.store is not None:
            key = self._qkeys.pop((comment.viewer_id, comment.received_at), None)
            if key is not None:
                self.store.question_status(key, why)

    def unanswered(self, comment: Comment) -> None:
        """The brain could not answer ``comment`` (it crashed, or hung on this very question)."""
        self.dropped(comment, "failed")

    def checked(self, source: str, product_id: str | None, original: str, result: ComplianceResult) -> None:
        """A line went through compliance; interventions are recorded."""
        if result.changed and self.store is not None:
            actions = [action.as_dict() for action in result.actions]
            self.store.compliance(source, product_id, original, result.blocked, actions)

    async def answer(
        self,
        text: str,
        product_id: str | None,
        viewer: str = "",
        at: float = 0.0,
        reading: Reading | None = None,
    ) -> Answer:
        """The brain's reply to ``viewer`` (product on screen ``product_id``, clock second ``at``),
        computed on the brain worker (timed; errors counted, then raised)."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            try:
                return await self.brain.run(self.show.brain.respond, text, product_id, viewer, at, reading)
            except WorkerRestarted as error:
                if error.started:
                    raise  # this question is what hung: asked again, it may hang again
                # It waited in line behind one that hung: the fresh worker answers it.
                self.supervisor.error("brain", error)
                return await self.brain.run(self.show.brain.respond, text, product_id, viewer, at, reading)
        except Exception as error:
            self.supervisor.error("brain", error)
            raise
        finally:
            self.metrics.histogram("avatar_stage_latency_seconds", "", stage="brain").observe(
                loop.time() - began
            )

    # -- operator actions ----------------------------------------------------------------------------
    def record(self, action: str, detail: str = "") -> None:
        """Log and store an operator action."""
        log.info("operator: %s %s", action, detail)
        if self.store is not None:
            self.store.operator_action(action, detail)

    def queue(self) -> list[dict[str, Any]]:
        """The waiting comments as the console shows them."""
        now = self.show.clock.now()
        items = [self.control.pinned] if self.control.pinned else []
        items += self.show.comments.waiting()
        return [
            {
                "id": comment_key(c),
                "name": c.name,
                # Platform chat is keyed "platform:user" (avatar.sources); the viewer page's is not.
                "platform": c.viewer_id.partition(":")[0] if ":" in c.viewer_id else "",
                "text": c.text,
                "intent": c.intent,
                "product": c.product_id,
                "count": c.count,
                "age_s": round(now - c.received_at, 1),
                "pinned": c is self.control.pinned,
            }
            for c in items
            if c is not None
        ]

    def _find(self, key: str) -> Comment | None:
        return next((c for c in self.show.comments.waiting() if comment_key(c) == key), None)

    def skip(self, key: str) -> bool:
        """Drop a waiting question."""
        comment = self._find(key)
        if comment is None or not self.show.comments.remove(comment):
            return False
        if self.store is not None:
            self.store.question_status(
                self._qkeys.pop((comment.viewer_id, comment.received_at), key), "skipped"
            )
        self.record("skip", comment.text)
        return True

    def pin(self, key: str) -> bool:
        """Answer a waiting question next."""
        comment = self._find(key)
        if comment is None or not self.show.comments.remove(comment):
            return False
        if self.control.pinned is not None:  # the previously pinned one goes back to the queue
            self.show.comments.restore(self.control.pinned)
        self.control.pin(comment)
        self.record("pin", comment.text)
        return True

    def promotion(self, product_id: str | None) -> str:
        """Queue a promotion line for a product (the one on screen by default); returns the text."""
        show = self.show
        product = show.scene.catalog.get(product_id or show.product_id)
        catalog = show.scene.catalog
        name = product.name(show.scene.language)
        if product.promo and product.promo_active():
            text = (
                f"Deal alert! {name} is {catalog.format_price(product.promo.price)} right now, "
                f"down from {catalog.format_price(product.price)}."
            )
        else:
            price = catalog.format_price(product.price)
            text = f"Take a look at {name}, {price}, with {product.stock} in stock."
        if show.scene.language == "zh":
            text = f"{name}，现价 {catalog.format_price(product.current_price())}，库存 {product.stock} 件！"
        self.control.inject(OperatorLine(text, product.id, source="promotion"))
        self.record("promotion", product.id)
        return text

    async def reload(self) -> None:
        """Re-read the scene folder and swap it in; raises (DataError, ValueError) and changes nothing
        when the files are broken."""
        show = self.show
        loop = asyncio.get_running_loop()

        scene = await loop.run_in_executor(None, load_scene, show.scene.root)
        Answerer(scene)  # a broken compliance file raises here, before anything changes
        show.use_scene(scene)
        self.record("reload", str(scene.root))

    # -- persistence across restarts -----------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Where the show stands: product, script position, waiting questions."""
        show = self.show
        now = show.clock.now()
        queue = [self.control.pinned] if self.control.pinned else []
        queue += show.comments.waiting()
        return {
            "product_id": show.product_id,
            "position": list(self.script_position or show.run_of_show.position),
            "queue": [
                {
                    "viewer_id": c.viewer_id,
                    "name": c.name,
                    "text": c.text,
                    "age_s": now - c.received_at,
                    "intent": c.intent,
                    "product_id": c.product_id,
                    "count": c.count,
                    "role": c.role,
                }
                for c in queue
                if c is not None
            ],
            "paused": self.control.paused,
            "saved_at": time.time(),
        }

    def save_state(self) -> None:
        """Save :meth:`snapshot` (no-op without a store)."""
        if self.store is not None:
            self.store.save_state(STATE_KEY, self.snapshot())

    def restore(self) -> None:
        """Bring back the saved product, script position and queue (before the stages start)."""
        if self.store is None:
            return
        state = self.store.load_state_now(STATE_KEY)
        if not state:
            return
        show = self.show
        now = show.clock.now()
        try:
            segment, line = (int(v) for v in state.get("position", [0, 0]))
            show.run_of_show.seek(segment, line)
            product = state.get("product_id")
            if isinstance(product, str) and product in show.scene.catalog:
                show.product_id = product
            else:
                show.product_id = show.run_of_show.current_product_id
            # Time passed while the show was down counts against the questions' freshness.
            down_s = max(0.0, time.time() - float(state.get("saved_at", time.time())))
            for item in state.get("queue", [])[:50]:
                age = float(item["age_s"]) + down_s
                if age > COMMENT_TTL_S:
                    continue
                product_id = item.get("product_id")
                show.comments.restore(
                    Comment(
                        str(item["viewer_id"]),
                        str(item["name"]),
                        str(item["text"]),
                        now - age,
                        str(item.get("intent", "other")),
                        product_id if product_id in show.scene.catalog else None,
                        int(item.get("count", 1)),
                        str(item.get("role", "viewer")),
                    )
                )
            self.control.paused = bool(state.get("paused", False))
        except (KeyError, TypeError, ValueError) as error:
            log.warning("saved show state is unusable (%s); starting from the top", error)
            show.run_of_show.seek(0, 0)
            return
        self.resumed = True
        log.info(
            "resumed: product %s, segment %d line %d, %d questions waiting",
            show.product_id,
            segment,
            line,
            len(show.comments),
        )

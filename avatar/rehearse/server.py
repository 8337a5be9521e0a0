"""The ``/rehearse`` studio page and its API: live takes from the browser microphone.

The page captures the microphone at 16 kHz and posts raw int16 chunks about once a second; the
server keeps one :class:`~avatar.rehearse.session.Take` per host, cuts its audio at pauses and
transcribes each piece on the ASR worker (one model, one thread, requests in arrival order), and
answers each post with the live transcript, the meters and the audience question that is due.
Stopping a take (or leaving it: closing the page, or no audio for ``idle_timeout_s``) judges it,
saves it, and serves the report at ``/rehearse/report/<id>``.

Takes are keyed by a random id and each has its own lock, so two hosts rehearsing at once never see
each other's audio, transcript or report. A take belongs to the browser that started it (a random
``avatar_rehearser`` cookie): another browser that learns its id gets 404, for the take and its
report. The server listens on loopback by default; reached from another address it wants the
rehearsal token (bearer header, or a sign-in that makes a session cookie), throttled like the
operator console. Once a take's report is saved its audio is let go, and the avatar picture only
captions lines the server itself generated (the audience's questions).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import math
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from aiohttp import web

from avatar.brain.scene import Scene
from avatar.engines.worker import ModelWorker
from avatar.hygiene import clean, for_log
from avatar.media.clock import Clock, LoopClock
from avatar.rehearse.audience import AudienceSchedule
from avatar.rehearse.metrics import SILENT_DBFS, count_fillers, long_pauses, pace
from avatar.rehearse.presenter import Presenter
from avatar.rehearse.report import CSS as REPORT_CSS
from avatar.rehearse.report import render_html
from avatar.rehearse.session import Recognizer, Take
from avatar.rehearse.store import SessionStore
from avatar.rehearse.timed import words_of
from avatar.web.guard import (
    Handler,
    Sessions,
    TokenThrottle,
    add_security_headers,
    content_security_policy,
    origin_middleware,
    parse_json,
)

__all__ = ["STATIC_DIR", "RehearsalServer", "create_rehearsal_app"]

log = logging.getLogger(__name__)

STATIC_DIR: Final = Path(__file__).parent / "static"
MAX_CHUNK_BYTES: Final = 16_000 * 2 * 5  # five seconds of 16 kHz int16 per post
MAX_TAKE_S: Final = 15 * 60.0  # a segment rehearsal is minutes; this bounds memory per take
MAX_TAKES: Final = 16
MAX_CAPTION_CHARS: Final = 160
MAX_JSON_BYTES: Final = 16 * 1024
MAX_OWNERS: Final = 10_000  # finished takes whose owner is remembered (their reports stay private)
OWNER_COOKIE: Final = "avatar_rehearser"
SESSION_COOKIE: Final = "avatar_rehearse_session"
OWNER_KEY: Final = web.RequestKey("owner", str)
SILENT_AFTER_S: Final = 4.0  # this much audio without sound means the microphone is not working
_ID: Final = re.compile(r"^[0-9a-f]{12}$")
_PRODUCT_ID: Final = re.compile(r"^[a-z0-9-]{1,64}$")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@dataclass
class LiveTake:
    """A take in progress on the page, with what the server needs to run it."""

    take: Take
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_audio_at: float = 0.0
    report: dict[str, Any] | None = None
    questions: list[dict[str, Any]] = field(default_factory=list)
    peak: float = 0.0
    transcriber: asyncio.Task[None] | None = None
    owner: str = ""  # hash of the browser's owner cookie


class RehearsalServer:
    """Runs live takes for one scene (see the module docstring)."""

    def __init__(
        self,
        scene: Scene,
        store: SessionStore,
        asr_factory: Callable[[], Recognizer],
        *,
        presenter: Presenter | None = None,
        schedule: AudienceSchedule | None = None,
        clock: Clock | None = None,
        idle_timeout_s: float = 60.0,
        token: str | None = None,
    ) -> None:
        self.scene = scene
        self.store = store
        self.presenter = presenter
        self.schedule = schedule or AudienceSchedule()
        self.clock = clock or LoopClock()
        self.idle_timeout_s = idle_timeout_s
        self.takes: dict[str, LiveTake] = {}
        self.token = token or None  # needed from any address but loopback
        self.sessions = Sessions()
        self.throttle = TokenThrottle()
        self.owners: collections.OrderedDict[str, str] = collections.OrderedDict()  # take id -> owner
        self._asr_factory = asr_factory
        self._asr: Recognizer | None = None
        self._asr_error: str | None = None
        self.asr_worker = ModelWorker("rehearse-asr")

    # --- the ASR ----------------------------------------------------------------------------

    def _recognizer(self) -> Recognizer:
        """The ASR model, loaded on first use (on the ASR worker thread)."""
        if self._asr is None:
            self._asr = self._asr_factory()
        return self._asr

    def _recognise(self, take: Take, audio: npt.NDArray[np.float32]) -> Any:
        return take.recognise(self._recognizer(), audio)

    async def _transcribe_ready(self, live: LiveTake, final: bool) -> None:
        take = live.take
        while (piece := take.next_piece(final=final)) is not None:
            start, audio = piece
            try:
                transcript = await self.asr_worker.run(self._recognise, take, audio)
                self._asr_error = None
            except Exception as error:  # a broken model degrades the rehearsal, it does not end it
                log.warning("rehearse: transcription failed", exc_info=True)
                self._asr_error = f"speech recognition failed ({error}); the take's audio is kept"
                continue
            if transcript is not None:
                take.add_transcript(transcript, start)  # on the loop: state() reads the lines here

    def _kick(self, live: LiveTake) -> None:
        """Transcribe ready pieces in the background, so posting audio never waits for Whisper."""
        if live.transcriber is None or live.transcriber.done():
            live.transcriber = asyncio.create_task(self._transcribe_ready(live, final=False))

    # --- takes --------------------------------------------------------------------------------

    def start(self, host: str, product_id: str, owner: str = "") -> LiveTake:
        """Begin a take owned by ``owner``; raises ValueError for an unknown product or too many
        takes at once."""
        running = [t for t in self.takes.values() if t.report is None]
        if len(running) >= MAX_TAKES:
            raise ValueError(f"{MAX_TAKES} takes are running; try again when one has finished")
        take = Take(self.scene, product_id, host=clean(host)[:40], schedule=self.schedule)
        live = LiveTake(take, last_audio_at=self.clock.now(), owner=owner)
        self.takes[take.id] = live
        self.owners[take.id] = owner
        while len(self.owners) > MAX_OWNERS:
            self.owners.popitem(last=False)
        self.store.start(take.id, take.host, self.scene.name, product_id, take.started_at)
        return live

    async def add_audio(self, live: LiveTake, pcm: bytes) -> dict[str, Any]:
        """Add a chunk of int16 16 kHz audio and return the live state."""
        async with live.lock:
            if live.report is not None:
                return self.state(live)
            take = live.take
            samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float32) / 32768.0
            if take.seconds + samples.size / 16_000 > MAX_TAKE_S:
                await self._finish(live, "stopped early")
                return self.state(live)
            take.add_audio(samples)
            live.peak = max(live.peak, float(np.max(np.abs(samples), initial=0.0)))
            live.last_audio_at = self.clock.now()
            due = take.due_question(take.seconds)
            if due is not None:
                n, question = due
                live.questions.append({"n": n, "text": question.text, "at_s": take.asked_at[-1]})
            self._kick(live)
            return self.state(live)

    async def stop(self, live: LiveTake, status: str = "finished") -> dict[str, Any]:
        """Transcribe what is left, judge the take and save it (idempotent)."""
        async with live.lock:
            if live.report is None:
                await self._finish(live, status)
            assert live.report is not None
            return live.report

    async def _finish(self, live: LiveTake, status: str) -> None:
        if live.transcriber is not None:
            await live.transcriber  # never raises: failures become a message
        await self._transcribe_ready(live, final=True)
        result = live.take.result(status)
        report = result.as_dict()
        if self._asr_error:
            report["messages"].append(self._asr_error)
        await asyncio.get_running_loop().run_in_executor(None, self.store.finish, report)
        # Marked finished only once saved: a caller that waits on the lock then finds it stored.
        live.report = report
        # Saved: the audio (about 3.8 MB a minute) is no longer needed. Up to MAX_TAKES finished
        # takes stay in memory for their pages; without this each kept all of its audio.
        live.take.release_audio()

    async def reap(self) -> None:
        """Finish takes nobody has sent audio to for ``idle_timeout_s`` (the page was left)."""
        now = self.clock.now()
        for live in list(self.takes.values()):
            if live.report is None and now - live.last_audio_at > self.idle_timeout_s:
                log.info(
                    "rehearse: take %s abandoned after %.0f s idle", live.take.id, now - live.last_audio_at
                )
                await self.stop(live, "abandoned")
        # Finished takes live on in the store; keep only recent ones in memory.
        done = [k for k, v in self.takes.items() if v.report is not None]
        for key in done[:-MAX_TAKES]:
            del self.takes[key]

    def generated_lines(self, owner: str) -> set[str]:
        """Lines this server generated for ``owner``'s takes (the audience's questions): the only
        captions the avatar picture draws."""
        return {q["text"] for live in self.takes.values() if live.owner == owner for q in live.questions}

    def state(self, live: LiveTake) -> dict[str, Any]:
        """What the page shows while the take runs."""
        take = live.take
        words = words_of(take.lines)
        per_minute, _ = pace(words, take.language)
        audio = take.audio()
        recent = audio[-8000:]
        level = float(
            20 * np.log10(max(float(np.sqrt(np.mean(recent * recent))) if recent.size else 0.0, 1e-9))
        )
        messages: list[str] = []
        if take.seconds >= SILENT_AFTER_S and live.peak < 10 ** (SILENT_DBFS / 20):
            messages.append(
                "No sound from your microphone: check that it is connected, allowed and not muted."
            )
        if self._asr_error:
            messages.append(self._asr_error)
        return {
            "id": take.id,
            "product": take.product.id,
            "seconds": round(take.seconds, 2),
            "lines": [{"start": round(line.start, 2), "text": line.text} for line in take.lines],
            "meters": {
                "pace": round(per_minute, 1),
                "unit": "cpm" if take.language == "zh" else "wpm",
                "fillers": len(count_fillers(words, take.language)),
                "pauses": len(long_pauses(words)),
                "level_dbfs": round(level, 1),
            },
            "questions": live.questions,
            "messages": messages,
            "finished": live.report is not None,
            "report_url": f"/rehearse/report/{take.id}" if live.report is not None else None,
        }


# --- HTTP ---------------------------------------------------------------------------------------

SERVER_KEY: Final = web.AppKey("rehearsal", RehearsalServer)


def _owner(request: web.Request) -> str:
    """Who is asking: the hash of the browser's owner cookie (set by :func:`access_guard`)."""
    return request[OWNER_KEY]


def _live(request: web.Request) -> LiveTake | web.Response:
    take_id = request.match_info["take_id"]
    live = request.app[SERVER_KEY].takes.get(take_id) if _ID.match(take_id) else None
    if live is None or not hmac.compare_digest(live.owner, _owner(request)):
        # Another browser's take is "not found", not "forbidden": its id reveals nothing.
        return _error(404, "no such take (it may have ended when the server restarted)")
    return live


async def _json_body(request: web.Request) -> Any:
    """The request's JSON (ValueError for a bad, huge or too deeply nested body)."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise ValueError("body too large")
    raw = bytearray()  # read(n) returns what has arrived so far: read to the end
    while chunk := await request.content.read(MAX_JSON_BYTES + 1 - len(raw)):
        raw += chunk
        if len(raw) > MAX_JSON_BYTES:
            raise ValueError("body too large")
    return parse_json(raw) if raw else {}


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


_LOGIN_CSS: Final = "body{font-family:sans-serif;max-width:24em;margin:4em auto}.error{color:#b00}"


def _login_page(status: int, message: str = "") -> web.Response:
    note = f'<p class="error">{message}</p>' if message else ""
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>avatar rehearse: sign in</title>"
        f'<meta name=viewport content="width=device-width"><style>{_LOGIN_CSS}</style></head><body>'
        f"<h1>Rehearsal studio</h1>{note}<form method=post action=/rehearse/login><label>Token "
        "<input type=password name=token autocomplete=current-password autofocus required></label> "
        "<button>Sign in</button></form><p>The token is printed when <code>avatar rehearse</code> "
        "starts on an address other than loopback (or set with <code>--token</code>).</p></body></html>"
    )
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": content_security_policy(styles=[_LOGIN_CSS]),
    }
    return web.Response(text=body, status=status, content_type="text/html", headers=headers)


@web.middleware
async def access_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Loopback, or the rehearsal token from anywhere else; and an owner cookie for every browser."""
    server = request.app[SERVER_KEY]
    if not _is_loopback(request.remote) and request.path != "/rehearse/login":
        refused = await _refusal(request, server)
        if refused is not None:
            return refused
    cookie = request.cookies.get(OWNER_COOKIE, "")
    fresh = "" if len(cookie) >= 32 else secrets.token_urlsafe(32)
    request[OWNER_KEY] = _key(fresh or cookie)
    response = await handler(request)
    if fresh and not response.prepared:
        response.set_cookie(
            OWNER_COOKIE, fresh, path="/", httponly=True, samesite="Strict", secure=request.secure
        )
    return response


async def _refusal(request: web.Request, server: RehearsalServer) -> web.StreamResponse | None:
    """None when a request from another address may go on; else the answer to it."""
    api = request.path.startswith("/api/") or request.method != "GET"
    if server.token is None:
        return _error(403, "rehearsal is open on this machine only; start it with --token to share it")
    header = request.headers.get("Authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if header or cookie:
        address = request.remote or "?"
        wait = await server.throttle.admit(address)
        if wait > 0:
            response = _error(429, "too many wrong tokens from your address; wait")
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        given = header[7:].strip() if header.startswith("Bearer ") else ""
        if (given and hmac.compare_digest(given.encode(), server.token.encode())) or (
            not header and server.sessions.valid(cookie, asyncio.get_running_loop().time())
        ):
            server.throttle.succeeded(address)
            return None
        server.throttle.failed(address)
    log.warning("rehearse: refused %s %s from %s", request.method, for_log(request.path), request.remote)
    return _error(401, "rehearsal token required") if api else _login_page(401)


async def login(request: web.Request) -> web.StreamResponse:
    server = request.app[SERVER_KEY]
    if request.method == "GET":
        return _login_page(200)
    if server.token is None:
        return _error(403, "no token is set: rehearsal is open on this machine only")
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        return _login_page(413, "Too large.")
    form = await request.post()
    address = request.remote or "?"
    wait = await server.throttle.admit(address)
    if wait > 0:
        return _login_page(429, "Too many wrong tokens; wait a few seconds.")
    given = form.get("token")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), server.token.encode()):
        server.throttle.failed(address)
        log.warning("rehearse: failed sign-in from %s", address)
        return _login_page(401, "Wrong token.")
    server.throttle.succeeded(address)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        server.sessions.revoke(old)
    response = web.Response(status=303, headers={"Location": "/rehearse"})
    session_id = server.sessions.create(asyncio.get_running_loop().time())
    response.set_cookie(
        SESSION_COOKIE, session_id, path="/", max_age=int(server.sessions.ttl_s), httponly=True,
        samesite="Strict", secure=request.secure,
    )  # fmt: skip
    return response


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "rehearse.html")


async def info(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    scene = server.scene
    products = [{"id": p.id, "name": p.name(scene.language)} for p in scene.catalog]
    schedule = {"first_s": server.schedule.first_s, "every_s": server.schedule.every_s}
    return web.json_response({"scene": scene.name, "language": scene.language, "products": products,
                              "host": scene.persona.name, "schedule": schedule})  # fmt: skip


async def start_take(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    try:
        body = await _json_body(request)
    except ValueError:
        return _error(400, 'body must be JSON: {"host": "...", "product": "..."}')
    if not isinstance(body, dict) or not isinstance(body.get("product"), str):
        return _error(400, 'expected {"host": "...", "product": "<product id>"}')
    host = body.get("host") if isinstance(body.get("host"), str) else "host"
    try:
        live = server.start(str(host), body["product"], owner=_owner(request))
    except ValueError as error:
        return _error(400, str(error))
    return web.json_response(server.state(live))


async def post_audio(request: web.Request) -> web.Response:
    live = _live(request)
    if isinstance(live, web.Response):
        return live
    if request.content_length is not None and request.content_length > MAX_CHUNK_BYTES:
        return _error(413, "audio chunk too large: post at most 5 s of 16 kHz int16 at a time")
    data = await request.content.read(MAX_CHUNK_BYTES + 1)
    if len(data) > MAX_CHUNK_BYTES:
        return _error(413, "audio chunk too large: post at most 5 s of 16 kHz int16 at a time")
    return web.json_response(await request.app[SERVER_KEY].add_audio(live, data))


async def get_state(request: web.Request) -> web.Response:
    live = _live(request)
    if isinstance(live, web.Response):
        return live
    return web.json_response(request.app[SERVER_KEY].state(live))


async def stop_take(request: web.Request) -> web.Response:
    live = _live(request)
    if isinstance(live, web.Response):
        return live
    try:
        body = await _json_body(request)
    except ValueError:
        return _error(400, 'body must be JSON: {} or {"status": "abandoned"}')
    status = "abandoned" if isinstance(body, dict) and body.get("status") == "abandoned" else "finished"
    server = request.app[SERVER_KEY]
    report = await server.stop(live, status)
    return web.json_response({"report_url": f"/rehearse/report/{live.take.id}", "report": report})


async def report_page(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    take_id = request.match_info["take_id"]
    as_json = take_id.endswith(".json")
    take_id = take_id.removesuffix(".json")
    owner = server.owners.get(take_id) if _ID.match(take_id) else None
    # A report is its owner's; one from before a restart (no owner known) only for this machine
    # or the token's holder.
    allowed = hmac.compare_digest(owner, _owner(request)) if owner is not None else _privileged(request)
    report = server.store.report(take_id) if _ID.match(take_id) and allowed else None
    if report is None:
        return _error(404, "no report for this take (still running, or unknown)")
    if as_json:
        return web.json_response(report)
    history = [row.__dict__ for row in server.store.history(report["host"], report["scene"])]
    policy = content_security_policy(styles=[REPORT_CSS])  # the report's one inline style, by hash
    return web.Response(
        text=render_html(report, history),
        content_type="text/html",
        headers={"Content-Security-Policy": policy},
    )


def _privileged(request: web.Request) -> bool:
    """On this machine, or carrying the rehearsal token."""
    server = request.app[SERVER_KEY]
    if _is_loopback(request.remote):
        return True
    header = request.headers.get("Authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if server.token is not None and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), server.token.encode())
    return bool(cookie) and server.sessions.valid(cookie, asyncio.get_running_loop().time())


async def model_answer(request: web.Request) -> web.StreamResponse:
    server = request.app[SERVER_KEY]
    product_id = request.match_info["product_id"]
    if not _PRODUCT_ID.match(product_id) or product_id not in server.scene.catalog:
        return _error(404, "unknown product")
    if server.presenter is None:
        return _error(503, "no voice configured for model answers")
    path = await server.presenter.model_answer(product_id)
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


async def question_audio(request: web.Request) -> web.Response:
    live = _live(request)
    if isinstance(live, web.Response):
        return live
    server = request.app[SERVER_KEY]
    n = request.match_info["n"]
    if not n.isdigit() or int(n) >= len(live.take.asked_at):
        return _error(404, "that question has not been asked")
    if server.presenter is None:
        return _error(503, "no voice configured")
    data = await server.presenter.say(live.take.questions[int(n)].text)
    return web.Response(body=data, content_type="audio/wav")


async def avatar_picture(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    product_id = request.match_info["product_id"]
    if not _PRODUCT_ID.match(product_id) or product_id not in server.scene.catalog:
        return _error(404, "unknown product")
    caption = request.query.get("q", "")
    if caption and caption not in server.generated_lines(_owner(request)):
        return _error(400, "the avatar only captions the audience questions of your own takes")
    if server.presenter is None:
        return _error(503, "no avatar configured")
    data = await server.presenter.picture(product_id, caption[:MAX_CAPTION_CHARS])
    return web.Response(body=data, content_type="image/png", headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application, server: RehearsalServer) -> None:
    """Mount ``/rehearse`` and its API on ``app`` (the live app or a rehearsal-only one)."""
    app[SERVER_KEY] = server
    app.middlewares.append(access_guard)
    app.router.add_get("/rehearse", page)
    app.router.add_get("/rehearse/login", login)
    app.router.add_post("/rehearse/login", login)
    app.router.add_get("/rehearse/report/{take_id}", report_page)
    app.router.add_get("/api/rehearse", info)
    app.router.add_post("/api/rehearse/takes", start_take)
    app.router.add_get("/api/rehearse/takes/{take_id}", get_state)
    app.router.add_post("/api/rehearse/takes/{take_id}/audio", post_audio)
    app.router.add_post("/api/rehearse/takes/{take_id}/stop", stop_take)
    app.router.add_get("/api/rehearse/takes/{take_id}/questions/{n}.wav", question_audio)
    app.router.add_get("/api/rehearse/model-answer/{product_id}.wav", model_answer)
    app.router.add_get("/api/rehearse/avatar/{product_id}.png", avatar_picture)
    app.router.add_static("/rehearse/static/", STATIC_DIR, follow_symlinks=False)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async def reaper() -> None:
            while True:
                await server.clock.sleep_until(server.clock.now() + min(5.0, server.idle_timeout_s / 2))
                await server.reap()

        task = asyncio.create_task(reaper())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for live in list(server.takes.values()):
            if live.report is None:
                await server.stop(live, "abandoned")  # a server shut down mid-take keeps the take
        server.asr_worker.close()
        if server.presenter is not None:
            server.presenter.close()

    app.cleanup_ctx.append(lifecycle)


def create_rehearsal_app(server: RehearsalServer) -> web.Application:
    """An aiohttp app with only the rehearsal page (``avatar rehearse --port``)."""
    app = web.Application(client_max_size=MAX_CHUNK_BYTES + 1024, middlewares=[origin_middleware()])
    add_security_headers(app)

    async def root(request: web.Request) -> web.Response:
        raise web.HTTPFound("/rehearse")

    app.router.add_get("/", root)
    add_routes(app, server)
    return app

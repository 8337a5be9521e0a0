"""The operator console: ``/console`` pages, a JSON API and a websocket, behind an operator token.

Every path under ``/console`` goes through :func:`console_guard`: a request without the token
(``Authorization: Bearer <token>``, or the session cookie set by the login form) gets 401 and is
logged; viewers' routes never see this check and cannot reach these routes. Tokens are compared
with :func:`hmac.compare_digest`; every way of presenting one (header, cookie, sign-in) goes through
one token throttle. A sign-in makes a server-side session (a random cookie that expires, is replaced
at the next sign-in and dies at sign-out; see :mod:`avatar.web.guard`). State-changing calls are
POSTs with a JSON body from this site (the app's Origin check refuses other sites), bodies are
capped, and a websocket left open for days costs a bounded queue and a heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Middleware

from avatar.errors import DataError
from avatar.events import Caption, ChatPosted, ProductShown
from avatar.hygiene import for_log
from avatar.modes.live import LiveShow
from avatar.ops.charts import CHARTS
from avatar.ops.charts import FORMATS as CHART_FORMATS
from avatar.ops.charts import draw as draw_chart
from avatar.ops.control import OperatorLine
from avatar.ops.products import rates_csv, report_csv
from avatar.ops.store import SECONDS_PER_DAY, TABLES
from avatar.web.guard import (
    Sessions,
    TokenThrottle,
    client_address,
    content_security_policy,
    parse_json,
    parse_list,
)

log = logging.getLogger(__name__)

# Operator pages live apart from the viewer static folder: /static/ never serves them.
OPERATOR_DIR: Final = Path(__file__).parent / "operator"
COOKIE: Final = "avatar_console"
MAX_BODY_BYTES: Final = 16 * 1024
MAX_WS_MESSAGE_BYTES: Final = 4096
MAX_WS_BAD_MESSAGES: Final = 5  # then the socket is closed
MAX_CONSOLES: Final = 8  # open console websockets
REPORTS: Final = ("products", "comments")  # /console/api/report/<name>.csv
WS_HEARTBEAT_S: Final = 20.0
WS_STATE_EVERY_S: Final = 1.0
WS_MAX_WRITE_BUFFER: Final = 256 * 1024  # a console that stops reading skips updates, never grows memory
LOGIN_CSS: Final = "body{font-family:sans-serif;max-width:24em;margin:4em auto}.error{color:#b00}"
# Console files by name: looked up, never joined into a path.
CONSOLE_FILES: Final = {
    "console.js": "application/javascript",
    "console.css": "text/css",
    "analytics.js": "application/javascript",
}
# The pages a sign-in returns to (the form's ``next``); anything else returns to /console.
RETURN_PAGES: Final = frozenset({"/console", "/console/analytics", "/console/studio"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def generate_token() -> str:
    """A fresh random operator token."""
    return secrets.token_urlsafe(24)


def _is_console_path(path: str) -> bool:
    return path == "/console" or path.startswith("/console/")


def _json_error(status: int, message: str, retry_after_s: float | None = None) -> web.Response:
    headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))} if retry_after_s is not None else None
    return web.json_response({"error": message}, status=status, headers=headers)


def _return_page(requested: object) -> str:
    """Where a sign-in goes next: a known console page, never a path taken from the request."""
    return requested if isinstance(requested, str) and requested in RETURN_PAGES else "/console"


def _login_page(status: int = 401, message: str = "", after: object = "/console") -> web.Response:
    note = f'<p class="error">{message}</p>' if message else ""
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>avatar console: sign in</title>"
        f'<meta name=viewport content="width=device-width"><style>{LOGIN_CSS}</style></head><body>'
        "<h1>Operator console</h1>"
        f"{note}<form method=post action=/console/login>"
        f"<input type=hidden name=next value='{_return_page(after)}'>"
        "<label>Operator token "
        "<input type=password name=token autocomplete=current-password autofocus required></label> "
        "<button>Sign in</button></form><p>The token is printed once when <code>avatar live</code> "
        "starts (or set with <code>--operator-token</code> / <code>AVATAR_OPERATOR_TOKEN</code>).</p>"
        "</body></html>"
    )
    # The one inline style is allowed by its hash; no inline script is allowed at all.
    policy = content_security_policy(styles=[LOGIN_CSS])
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": policy}
    return web.Response(text=body, status=status, content_type="text/html", headers=headers)


async def _read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; raises HTTPException (413 too large, 415 not JSON, 400 malformed)."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text=json.dumps({"error": "send JSON (Content-Type: application/json)"}),
            content_type="application/json",
        )
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_BODY_BYTES, actual_size=request.content_length, text='{"error": "body too large"}'
        )
    raw = bytearray()
    while chunk := await request.content.read(MAX_BODY_BYTES + 1 - len(raw)):
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_BODY_BYTES, actual_size=len(raw), text='{"error": "body too large"}'
            )
    if not raw:
        return {}
    try:
        data = parse_json(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "body is not JSON"}', content_type="application/json"
        ) from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return data


def console_guard(console: Console) -> Middleware:
    """Middleware: every ``/console*`` request but the login form needs the operator token."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not _is_console_path(request.path) or request.path == "/console/login":
            return await handler(request)
        presented = "Authorization" in request.headers or COOKIE in request.cookies
        if presented:
            address = console.address(request)
            wait = await console.throttle.admit(address)
            if wait > 0:
                log.warning("console: throttled %s from %s", for_log(request.path), address)
                return _json_error(429, "too many wrong tokens from your address; wait", wait)
            if console.is_operator(request):
                console.throttle.succeeded(address)
                return await handler(request)
            console.throttle.failed(address)
        log.warning(
            "console: refused %s %s from %s (%s)",
            request.method,
            for_log(request.path),
            request.remote,
            "bad token" if presented else "no token",
        )
        if (
            request.path.startswith("/console/api/")
            or request.path == "/console/ws"
            or request.method != "GET"
        ):
            return _json_error(401, "operator token required")
        return _login_page(after=request.path)

    return guard


class Console:
    """The console's handlers for one show."""

    def __init__(self, show: LiveShow, token: str) -> None:
        self.show = show
        self.token = token
        self.sockets: set[web.WebSocketResponse] = set()
        self.sessions = Sessions()
        self.throttle = TokenThrottle()
        self._trusted_proxies = parse_list(show.settings.trusted_proxies)

    def address(self, request: web.Request) -> str:
        """Where the request came from (behind a trusted proxy, the address it names)."""
        return client_address(request, self._trusted_proxies)

    def is_operator(self, request: web.Request) -> bool:
        """The request carries the operator token (bearer header) or a live session cookie."""
        header = request.headers.get("Authorization", "")
        if header:
            given = header[7:].strip() if header.startswith("Bearer ") else ""
            return hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and self.sessions.valid(cookie, asyncio.get_running_loop().time())

    # -- pages -----------------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(OPERATOR_DIR / "console.html", headers={"Cache-Control": "no-store"})

    async def analytics_page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(OPERATOR_DIR / "analytics.html", headers={"Cache-Control": "no-store"})

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in CONSOLE_FILES:
            return _json_error(404, "no such file")
        return web.FileResponse(OPERATOR_DIR / name, headers={"Content-Type": CONSOLE_FILES[name]})

    async def login(self, request: web.Request) -> web.StreamResponse:
        address = self.address(request)
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _login_page(413, "Too large.")
        form = await request.post()
        wait = await self.throttle.admit(address)
        if wait > 0:
            log.warning("console: sign-in throttled for %s", address)
            response = _login_page(429, "Too many wrong tokens; wait a few seconds.", after=form.get("next"))
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        given = form.get("token")
        if not isinstance(given, str) or not hmac.compare_digest(
            given.encode("utf-8"), self.token.encode("utf-8")
        ):
            self.throttle.failed(address)
            log.warning("console: failed login from %s", address)
            return _login_page(401, "Wrong token.", after=form.get("next"))
        self.throttle.succeeded(address)
        # A new session for every sign-in; the one this browser had before (if any) ends now, so a
        # cookie planted before sign-in is worth nothing after it.
        old = request.cookies.get(COOKIE)
        if old:
            self.sessions.revoke(old)
        response = web.Response(status=303, headers={"Location": _return_page(form.get("next"))})
        response.set_cookie(
            COOKIE,
            self.sessions.create(asyncio.get_running_loop().time()),
            path="/console",
            max_age=int(self.sessions.ttl_s),
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )
        self.show.ops.record("login", address)
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session_id = request.cookies.get(COOKIE)
        if session_id:
            self.sessions.revoke(session_id)  # the cookie is dead here, wherever copies of it are
        response = web.Response(status=303, headers={"Location": "/console"})
        response.del_cookie(COOKIE, path="/console")
        return response

    # -- state -----------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        show = self.show
        ops = show.ops
        return {
            "health": show.health(),
            "queue": ops.queue(),
            "current_product": show.product_id,
            "products": [
                {"id": p.id, "name": p.name(show.scene.language)} for p in show.scene.catalog.products
            ],
            "paused": ops.control.paused,
            "muted": ops.control.muted,
            "lines_waiting": ops.control.lines_waiting,
            "persistence": ops.store is not None,
        }

    async def get_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state())

    # -- actions ---------------------------------------------------------------------------------
    async def pause(self, request: web.Request) -> web.Response:
        body = await _read_json(request)
        paused = body.get("paused", True)
        if not isinstance(paused, bool):
            return _json_error(400, '"paused" must be true or false')
        self.show.ops.control.set_paused(paused)
        self.show.ops.record("pause" if paused else "resume")
        self.show.ops.save_state()
        return web.json_response({"paused": paused})

    async def mute(self, request: web.Request) -> web.Response:
        body = await _read_json(request)
        muted = body.get("muted", True)
        if not isinstance(muted, bool):
            return _json_error(400, '"muted" must be true or false')
        self.show.ops.control.set_muted(muted)
        self.show.programme.muted = muted
        self.show.ops.record("mute" if muted else "unmute")
        return web.json_response({"muted": muted})

    async def say(self, request: web.Request) -> web.Response:
        body = await _read_json(request)
        text = body.get("text")
        if not isinstance(text, str):
            return _json_error(400, '"text" must be a string')
        result = self.show.answerer.compliance.check(text, self.show.scene.language, self.show.product_id)
        if result.blocked:
            self.show.ops.record("say-blocked", text[:200])
            return web.json_response(
                {"error": "compliance blocked this line", "actions": [a.as_dict() for a in result.actions]},
                status=422,
            )
        try:
            self.show.ops.control.inject(OperatorLine(" ".join(text.split()), self.show.product_id))
        except ValueError as error:
            return _json_error(400, str(error))
        self.show.ops.record("say", text[:200])
        return web.json_response({"queued": True, "text": result.text})

    async def product(self, request: web.Request) -> web.Response:
        body = await _read_json(request)
        product_id = body.get("id")
        if not isinstance(product_id, str) or product_id not in self.show.scene.catalog:
            return _json_error(400, "unknown product")
        if not any(s.product_id == product_id for s in self.show.scene.segments):
            return _json_error(400, "no segment of the run of show presents this product")
        self.show.ops.control.switch_product(product_id)
        self.show.ops.record("product", product_id)
        return web.json_response({"switching_to": product_id})

    async def promotion(self, request: web.Request) -> web.Response:
        body = await _read_json(request)
        product_id = body.get("id")
        if product_id is not None and (
            not isinstance(product_id, str) or product_id not in self.show.scene.catalog
        ):
            return _json_error(400, "unknown product")
        try:
            text = self.show.ops.promotion(product_id)
        except ValueError as error:
            return _json_error(400, str(error))
        return web.json_response({"queued": True, "text": text})

    async def queue_action(self, request: web.Request) -> web.Response:
        await _read_json(request)
        key, action = request.match_info["id"], request.match_info["action"]
        done = self.show.ops.skip(key) if action == "skip" else self.show.ops.pin(key)
        if not done:
            return _json_error(404, "no such question waiting (answered or expired?)")
        return web.json_response({action: key})

    async def reload(self, request: web.Request) -> web.Response:
        await _read_json(request)
        try:
            await self.show.ops.reload()
        except (DataError, ValueError, OSError) as error:
            log.warning("console: reload refused: %s", error)
            self.show.ops.record("reload-failed", str(error)[:300])
            return _json_error(400, f"scene not reloaded, the show goes on unchanged: {error}")
        return web.json_response({"reloaded": str(self.show.scene.root)})

    # -- analytics -------------------------------------------------------------------------------
    def _days(self, request: web.Request) -> float:
        try:
            days = float(request.query.get("days", "7"))
        except ValueError:
            raise web.HTTPBadRequest(
                text='{"error": "days must be a number"}', content_type="application/json"
            ) from None
        if not 0 < days <= 3650:
            raise web.HTTPBadRequest(text='{"error": "days out of range"}', content_type="application/json")
        return days

    async def analytics(self, request: web.Request) -> web.Response:
        data = await self._analytics_for(request)
        return data if isinstance(data, web.Response) else web.json_response(data)

    async def _analytics_for(self, request: web.Request) -> dict[str, Any] | web.Response:
        """The analytics dict for the request's ``days`` (400 for a bad one, 503 with no database)."""
        store = self.show.ops.store
        if store is None:
            return _json_error(503, "persistence is off (no database)")
        days = self._days(request)
        bucket = 3600.0 if days > 1 else 300.0
        data = await store.analytics(days * SECONDS_PER_DAY, bucket)
        scene = self.show.scene
        for item in data["products"]:  # ids are what is recorded; people read the catalog's names
            if item["product"] in scene.catalog:
                item["name"] = scene.catalog.get(item["product"]).name(scene.language)
        return data

    async def chart(self, request: web.Request) -> web.StreamResponse:
        """``/console/api/charts/<name>.<png|svg>?days=N``: one analytics chart, drawn by matplotlib."""
        name, fmt = request.match_info["name"], request.match_info["fmt"]
        if name not in CHARTS:
            return _json_error(404, f"unknown chart; one of {', '.join(CHARTS)}")
        if fmt not in CHART_FORMATS:
            return _json_error(404, f"unknown chart format; one of {', '.join(CHART_FORMATS)}")
        data = await self._analytics_for(request)
        if isinstance(data, web.Response):
            return data
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(None, draw_chart, name, data, fmt)  # tens of ms: off the loop
        return web.Response(body=body, content_type=CHART_FORMATS[fmt], headers={"Cache-Control": "no-store"})

    async def report(self, request: web.Request) -> web.StreamResponse:
        """``/console/api/report/products.csv`` (per-product numbers) or ``comments.csv`` (comments
        per minute by source), over ``days``."""
        report = request.match_info["report"]
        if report not in REPORTS:
            return _json_error(404, f"unknown report; one of {', '.join(REPORTS)}")
        data = await self._analytics_for(request)
        if isinstance(data, web.Response):
            return data
        text = (
            report_csv(data["products"]) if report == "products" else rates_csv(data["comments_per_minute"])
        )
        return web.Response(
            text=text,
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{report}.csv"'},
        )

    async def export(self, request: web.Request) -> web.StreamResponse:
        store = self.show.ops.store
        if store is None:
            return _json_error(503, "persistence is off (no database)")
        table = request.match_info["table"]
        if table not in TABLES:
            return _json_error(404, f"unknown table; one of {', '.join(TABLES)}")
        text = await store.export_csv(table, self._days(request) * SECONDS_PER_DAY)
        return web.Response(
            text=text,
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{table}.csv"'},
        )

    # -- websocket -------------------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if len(self.sockets) >= MAX_CONSOLES:
            return _json_error(503, "too many consoles open")
        ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT_S, max_msg_size=MAX_WS_MESSAGE_BYTES)
        await ws.prepare(request)
        self.sockets.add(ws)
        events = self.show.bus.subscribe()  # bounded: a slow console loses old events
        pusher = asyncio.create_task(self._push(ws, events))
        bad = 0
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    reply = self._ws_command(message.data)
                    if reply.get("type") == "error":
                        bad += 1
                        log.warning(
                            "console websocket: bad message from %s: %s", request.remote, reply["error"]
                        )
                        if bad >= MAX_WS_BAD_MESSAGES:
                            await ws.close(code=1008, message=b"too many bad messages")
                            break
                    await self._send(ws, reply)
                else:  # binary or anything else: not part of the protocol
                    log.warning(
                        "console websocket: %s message refused from %s", message.type.name, request.remote
                    )
                    await ws.close(code=1003, message=b"text JSON only")
                    break
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
            self.show.bus.unsubscribe(events)
            self.sockets.discard(ws)
        return ws

    def _ws_command(self, data: str) -> dict[str, Any]:
        try:
            message = parse_json(data)
        except ValueError:
            return {"type": "error", "error": "messages must be JSON"}
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return {"type": "error", "error": 'send {"type": "ping"} or {"type": "state"}'}
        if message["type"] == "ping":
            return {"type": "pong"}
        if message["type"] == "state":
            return {"type": "state", "state": self.state()}
        return {"type": "error", "error": f"unknown message type {message['type'][:40]!r}"}

    @staticmethod
    async def _send(ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        transport = ws._req.transport if ws._req is not None else None  # noqa: SLF001 - aiohttp has no public accessor
        if ws.closed or (transport is not None and transport.get_write_buffer_size() > WS_MAX_WRITE_BUFFER):
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(json.dumps(payload, ensure_ascii=False, default=str))

    async def _push(self, ws: web.WebSocketResponse, events: asyncio.Queue[Any]) -> None:
        loop = asyncio.get_running_loop()
        next_state = loop.time()
        while not ws.closed:
            timeout = max(0.0, next_state - loop.time())
            try:
                event = await asyncio.wait_for(events.get(), timeout)
            except TimeoutError:
                event = None
            if isinstance(event, Caption):
                await self._send(ws, {"type": "caption", "text": event.text})
            elif isinstance(event, ChatPosted):
                await self._send(
                    ws, {"type": "chat", "name": event.name, "text": event.text, "platform": event.platform}
                )
            elif isinstance(event, ProductShown):
                await self._send(ws, {"type": "product", "id": event.product_id})
            if loop.time() >= next_state:
                next_state = loop.time() + WS_STATE_EVERY_S
                await self._send(ws, {"type": "state", "state": self.state()})

    async def close_all(self) -> None:
        """Close every console websocket (server shutdown)."""
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"server shutting down")


CONSOLE_KEY: Final = web.AppKey("console", Console)


def add_console(app: web.Application, show: LiveShow, token: str) -> Console:
    """Register the console routes and their guard on ``app``."""
    if not token:
        raise ValueError("operator token must not be empty")
    console = Console(show, token)
    app[CONSOLE_KEY] = console
    app.middlewares.append(console_guard(console))
    router = app.router
    router.add_get("/console", console.page)
    router.add_get("/console/analytics", console.analytics_page)
    router.add_get("/console/static/{name}", console.static)
    router.add_post("/console/login", console.login)
    router.add_post("/console/logout", console.logout)
    router.add_get("/console/ws", console.websocket)
    router.add_get("/console/api/state", console.get_state)
    router.add_post("/console/api/pause", console.pause)
    router.add_post("/console/api/mute", console.mute)
    router.add_post("/console/api/say", console.say)
    router.add_post("/console/api/product", console.product)
    router.add_post("/console/api/promotion", console.promotion)
    router.add_post("/console/api/queue/{id}/{action:skip|pin}", console.queue_action)
    router.add_post("/console/api/reload", console.reload)
    router.add_get("/console/api/analytics", console.analytics)
    router.add_get("/console/api/export/{table}.csv", console.export)
    router.add_get("/console/api/charts/{name}.{fmt}", console.chart)
    router.add_get("/console/api/report/{report}.csv", console.report)
    return console

"""The generic ingest API: any bridge (Douyin, Taobao, Kuaishou, TikTok partners, a shop's own
tools) posts comments to ``POST /api/comments`` or streams them over ``/api/comments/ws``.

Every request names its source (``X-Avatar-Source``) and is signed with that source's secret:
``X-Avatar-Signature: sha256=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + BODY))`` with
``X-Avatar-Timestamp: TIMESTAMP`` (Unix seconds). A timestamp more than five minutes off, a
signature seen before (a replay), a body over 64 KB or an unknown source is refused with a 4xx;
comments beyond the source's rate are refused one by one (429 when none got in). Comments that
carry an ``id`` are taken once, so a bridge may safely retry a request whose answer it lost.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import WSMsgType, web

from avatar.sources.base import Emit, PlatformComment, SourceError
from avatar.sources.hub import SourceHub

log = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 64 * 1024
MAX_COMMENTS: Final = 100  # per request or WebSocket message
MAX_SKEW_S: Final = 300.0
SEEN_IDS: Final = 10_000
MAX_WS_BAD_MESSAGES: Final = 20
SECRET_ENV_PREFIX: Final = "AVATAR_INGEST_SECRET_"
NAME_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def secret_env(name: str) -> str:
    """The environment variable holding source ``name``'s secret (``AVATAR_INGEST_SECRET_DOUYIN``)."""
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", name.upper())


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Avatar-Signature`` value for a request (what a bridge computes)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True)
class IngestConfig:
    """One bridge allowed to post comments."""

    name: str  # lower-case, e.g. "douyin": the platform shown with its comments
    secret_env: str = ""  # default AVATAR_INGEST_SECRET_<NAME>
    rate_per_s: float = 50.0  # comments a second, sustained
    burst: int = 200


class IngestError(Exception):
    """A request the API refuses (``status`` is its HTTP status)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class IngestSource:
    """A :class:`~avatar.sources.base.CommentSource` fed by signed requests instead of a connection."""

    def __init__(self, config: IngestConfig) -> None:
        if not NAME_PATTERN.match(config.name):
            raise ValueError(
                f"ingest source name must be lower-case letters, digits, - or _: {config.name!r}"
            )
        self.config = config
        self.platform = config.name
        self.name = f"ingest:{config.name}"
        self.malformed = 0
        self.connected = False
        self.secret: str | None = None
        self._seen_signatures: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._seen_ids: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._tokens = float(config.burst)
        self._updated = time.monotonic()

    @property
    def env(self) -> str:
        """The environment variable its secret is read from."""
        return self.config.secret_env or secret_env(self.config.name)

    async def run(self, emit: Emit) -> None:
        """Accept requests while the show runs (needs the secret in the environment)."""
        secret = os.environ.get(self.env, "").strip()
        if len(secret) < 16:
            raise SourceError(f"set ${self.env} to a secret of at least 16 characters", retry_after_s=60)
        self.secret = secret
        self.connected = True
        try:
            await asyncio.Event().wait()  # requests arrive through the web routes
        finally:
            self.connected = False

    def verify(self, timestamp: str | None, signature: str | None, body: bytes, now: float) -> None:
        """Raise :class:`IngestError` unless the request is signed, fresh and not seen before."""
        if self.secret is None or not self.connected:
            raise IngestError(503, f"source {self.config.name!r} is not accepting comments")
        if not timestamp or not signature:
            raise IngestError(401, "X-Avatar-Timestamp and X-Avatar-Signature are required")
        try:
            sent = float(timestamp)
        except ValueError:
            raise IngestError(401, "X-Avatar-Timestamp must be Unix seconds") from None
        if not abs(now - sent) <= MAX_SKEW_S:
            raise IngestError(401, f"timestamp is more than {MAX_SKEW_S:.0f} s away from the server's clock")
        signature = signature.strip().lower()  # hex: one request, one spelling (a replay is a replay)
        if not hmac.compare_digest(sign(self.secret, timestamp, body), signature):
            raise IngestError(401, "bad signature")
        # A signature is only valid within the skew window: remember it that long, refuse it again
        # (oldest first out; a signature is stored only once it proved valid, so this cannot be flooded).
        seen = self._seen_signatures
        while seen and now - next(iter(seen.values())) > 2 * MAX_SKEW_S:
            seen.popitem(last=False)
        if signature in seen:
            raise IngestError(409, "this request was already received (replay)")
        self._seen_signatures[signature] = now

    def take(self) -> bool:
        """One comment's worth of the source's rate (token bucket)."""
        now = time.monotonic()
        rate, burst = self.config.rate_per_s, float(self.config.burst)
        self._tokens = min(burst, self._tokens + (now - self._updated) * rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def first_time(self, comment_id: str) -> bool:
        """False when a comment with this id was taken already."""
        if comment_id in self._seen_ids:
            return False
        self._seen_ids[comment_id] = None
        while len(self._seen_ids) > SEEN_IDS:
            self._seen_ids.popitem(last=False)
        return True


def parse_comments(body: bytes) -> list[object]:
    """The comments of a request body: ``{"comments": [...]}`` or one comment object."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: 64 KB of "[[[["
        raise IngestError(400, "body must be JSON") from None
    if isinstance(data, dict) and "comments" in data:
        data = data["comments"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise IngestError(400, "no comments")
    if len(items) > MAX_COMMENTS:
        raise IngestError(413, f"at most {MAX_COMMENTS} comments per request")
    return items


def read_comment(item: object) -> tuple[str | None, str, str, str]:
    """``(id, user_id, name, text)`` of one comment, or ValueError saying what is wrong."""
    if not isinstance(item, dict):
        raise ValueError("a comment must be an object")
    user_id, text = item.get("user_id"), item.get("text")
    if not isinstance(user_id, str | int) or isinstance(user_id, bool) or not str(user_id).strip():
        raise ValueError("user_id is required (text or number)")
    if not isinstance(text, str):
        raise ValueError("text is required")
    name = item.get("name")
    comment_id = item.get("id")
    if comment_id is not None and not isinstance(comment_id, str | int):
        raise ValueError("id must be text or a number")
    return (
        str(comment_id)[:200] if comment_id is not None else None,
        str(user_id).strip()[:100],
        " ".join(name.split())[:40] if isinstance(name, str) and name.strip() else str(user_id)[:40],
        text,
    )


class IngestApi:
    """The web routes of every ingest source of a show."""

    def __init__(
        self, sources: list[IngestSource], deliver: Callable[[IngestSource, PlatformComment], object]
    ) -> None:
        """``deliver(source, comment) -> verdict``: the hub's door to triage."""
        self.sources = {source.config.name: source for source in sources}
        self.deliver = deliver

    def routes(self, app: web.Application) -> None:
        """Add ``POST /api/comments`` and ``GET /api/comments/ws`` to ``app``."""
        app.router.add_post("/api/comments", self.post)
        app.router.add_get("/api/comments/ws", self.websocket)

    def _source(self, request: web.Request, body: bytes) -> IngestSource:
        source = self.sources.get(request.headers.get("X-Avatar-Source", ""))
        if source is None:
            raise IngestError(401, "unknown source (X-Avatar-Source)")
        source.verify(
            request.headers.get("X-Avatar-Timestamp"),
            request.headers.get("X-Avatar-Signature"),
            body,
            time.time(),
        )
        return source

    def _take(self, source: IngestSource, items: list[object]) -> tuple[int, dict[str, Any]]:
        delivered = time.perf_counter()
        results: list[dict[str, Any]] = []
        for item in items:
            try:
                comment_id, user_id, name, text = read_comment(item)
            except ValueError as error:
                source.malformed += 1
                results.append({"status": "invalid", "error": str(error)})
                continue
            if comment_id is not None and not source.first_time(comment_id):
                results.append({"status": "duplicate"})
                continue
            if not source.take():
                if comment_id is not None:
                    source._seen_ids.pop(comment_id, None)  # not taken: a retry later may get in
                results.append({"status": "rate_limited"})
                continue
            verdict = self.deliver(source, PlatformComment(source.platform, user_id, name, text, delivered))
            results.append({"status": str(verdict)})
        limited = all(r["status"] == "rate_limited" for r in results)
        accepted = sum(r["status"] == "accepted" for r in results)
        return (429 if limited else 200), {"accepted": accepted, "results": results}

    async def post(self, request: web.Request) -> web.Response:
        """``POST /api/comments``."""
        try:
            if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
                raise IngestError(413, f"body over {MAX_BODY_BYTES} bytes")
            body = bytearray()
            while chunk := await request.content.read(MAX_BODY_BYTES + 1 - len(body)):
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise IngestError(413, f"body over {MAX_BODY_BYTES} bytes")
            source = self._source(request, bytes(body))
            status, answer = self._take(source, parse_comments(bytes(body)))
        except IngestError as error:
            log.info("ingest request from %s refused: %s", request.remote, error)
            headers = {"Retry-After": "30"} if error.status == 503 else None
            return web.json_response({"error": str(error)}, status=error.status, headers=headers)
        headers = {"Retry-After": "1"} if status == 429 else None
        return web.json_response(answer, status=status, headers=headers)

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/comments/ws``: signed like a POST with an empty body, then one JSON body per
        message (answered with its results)."""
        try:
            source = self._source(request, b"")
        except IngestError as error:
            return web.json_response({"error": str(error)}, status=error.status)
        ws = web.WebSocketResponse(max_msg_size=MAX_BODY_BYTES, heartbeat=30)
        await ws.prepare(request)
        bad = 0
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                bad += 1
                await ws.send_json({"error": "send JSON text messages"})
            elif not source.connected:
                await ws.close(code=1013, message=b"source stopped")
                break
            else:
                try:
                    status, answer = self._take(source, parse_comments(message.data.encode()))
                    await ws.send_json({**answer, "status": status})
                    continue
                except IngestError as error:
                    bad += 1
                    await ws.send_json({"error": str(error), "status": error.status})
            if bad >= MAX_WS_BAD_MESSAGES:
                await ws.close(code=1008, message=b"too many bad messages")
                break
        return ws


def add_ingest(app: web.Application, hub: SourceHub) -> None:
    """Serve the ingest API of ``hub``'s ingest sources on ``app`` (unknown sources get 401)."""
    sources = [source for source in hub.sources if isinstance(source, IngestSource)]
    IngestApi(sources, hub.deliver).routes(app)

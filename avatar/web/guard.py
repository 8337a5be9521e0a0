"""Limits and checks every web route shares: who is asking, how often, from where, and what the
browser may do with the answer.

- :func:`client_address`: the viewer's address, from ``X-Forwarded-For`` only when the request
  came through a proxy the operator trusts (otherwise anyone could claim any address).
- :class:`RateLimiter`: token buckets per key (an address), bounded in memory.
- :func:`origin_middleware`: a state-changing request (POST, ...) or a WebSocket upgrade whose
  ``Origin`` is another site gets 403, so a page elsewhere cannot act with the operator's cookie.
- :func:`add_security_headers`: every response says what the browser may run (a Content Security
  Policy without inline scripts), who may frame it, not to sniff types, and to send referrers to
  this site only.
- :func:`parse_json`: a request body as JSON, where ``'[' * 30000`` is a ValueError like any bad
  body instead of a RecursionError.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import ipaddress
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Middleware
from yarl import URL

from avatar.hygiene import for_log

log = logging.getLogger(__name__)

__all__ = [
    "RateLimiter",
    "Sessions",
    "TokenThrottle",
    "add_security_headers",
    "client_address",
    "content_security_policy",
    "origin_allowed",
    "origin_middleware",
    "parse_json",
    "parse_list",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_TTL_S: Final = 12 * 3600.0  # a sign-in lasts a working day, then the operator signs in again
MAX_SESSIONS: Final = 64  # signed-in browsers at once; the oldest sign-in is dropped beyond
FREE_FAILURES: Final = 5  # wrong token presentations per address before attempts are spaced out
THROTTLE_INTERVAL_S: Final = 1.0  # then one attempt per address per second ...
THROTTLE_MAX_WAIT_S: Final = 5.0  # ... queued at most this long; beyond, 429 without a check
MAX_THROTTLED_ADDRESSES: Final = 10_000
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_LIMITER_KEYS: Final = 10_000  # addresses remembered per limiter; the least recent are forgotten


def parse_list(text: str) -> tuple[str, ...]:
    """A comma-separated setting (``"a, b"``) as its non-empty items."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def client_address(request: web.Request, trusted_proxies: Iterable[str] = ()) -> str:
    """The address a request came from.

    ``X-Forwarded-For`` is read only when the connection itself comes from one of
    ``trusted_proxies`` (a reverse proxy the operator runs); then the right-most address in it that
    is not a trusted proxy is the client. Anything else a client sends in that header is ignored.
    """
    remote = request.remote or "?"
    trusted = frozenset(trusted_proxies)
    if not trusted or remote not in trusted:
        return remote
    hops = [hop.strip() for hop in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
    for hop in reversed([h for h in hops if h]):
        if hop in trusted:
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            return remote  # a proxy that writes garbage: count it as the proxy itself
    return remote


class RateLimiter:
    """A token bucket per key: ``burst`` at once, then one more every ``refill_s`` seconds."""

    def __init__(self, burst: float, refill_s: float, max_keys: int = MAX_LIMITER_KEYS) -> None:
        self.burst = burst
        self.refill_s = refill_s
        self.max_keys = max_keys
        self._buckets: collections.OrderedDict[str, tuple[float, float]] = collections.OrderedDict()

    def take(self, key: str, now: float) -> float:
        """Spend one token for ``key``: 0.0 when allowed, else the seconds until the next one."""
        tokens, updated = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - updated) / self.refill_s)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) * self.refill_s
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:  # memory stays flat under a spray of addresses
            self._buckets.popitem(last=False)
        return wait


class Sessions:
    """Signed-in browsers, kept here: a random id per sign-in (the cookie), valid until it expires
    or its browser signs out (the operator console, the rehearsal page). Only a hash of each id is
    kept, so a memory dump holds no cookie."""

    def __init__(self, ttl_s: float = SESSION_TTL_S, max_sessions: int = MAX_SESSIONS) -> None:
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self._expiry: collections.OrderedDict[str, float] = collections.OrderedDict()

    @staticmethod
    def _key(session_id: str) -> str:
        return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()

    def create(self, now: float) -> str:
        """A new session id, valid for :attr:`ttl_s` from ``now``."""
        session_id = secrets.token_urlsafe(32)
        self._expiry[self._key(session_id)] = now + self.ttl_s
        while len(self._expiry) > self.max_sessions:  # the oldest sign-in goes first
            self._expiry.popitem(last=False)
        return session_id

    def valid(self, session_id: str, now: float) -> bool:
        """``session_id`` was issued here, has not expired and was not revoked."""
        key = self._key(session_id)
        expiry = self._expiry.get(key)
        if expiry is None:
            return False
        if now >= expiry:
            del self._expiry[key]
            return False
        return True

    def revoke(self, session_id: str) -> None:
        """Forget ``session_id`` (sign-out, or replaced by a new sign-in)."""
        self._expiry.pop(self._key(session_id), None)

    def __len__(self) -> int:
        return len(self._expiry)


@dataclass
class _Attempts:
    free: float  # wrong presentations this address may still make without waiting
    updated: float
    next_slot: float  # when the next throttled attempt may be checked


class TokenThrottle:
    """One throttle for every way of presenting the operator token: bearer header, session cookie,
    sign-in form.

    An address gets :data:`FREE_FAILURES` wrong presentations (refilled one per
    :data:`THROTTLE_INTERVAL_S`); after that each attempt from it waits its turn, one per
    :data:`THROTTLE_INTERVAL_S`, and attempts that would wait longer than :data:`THROTTLE_MAX_WAIT_S`
    get 429 unchecked. A guesser gets about one guess a second; the right token, even after a
    burst of wrong ones, is checked within :data:`THROTTLE_MAX_WAIT_S` and never locked out, and
    a success clears its address's record.
    """

    def __init__(
        self,
        free_failures: int = FREE_FAILURES,
        interval_s: float = THROTTLE_INTERVAL_S,
        max_wait_s: float = THROTTLE_MAX_WAIT_S,
    ) -> None:
        self.free_failures = free_failures
        self.interval_s = interval_s
        self.max_wait_s = max_wait_s
        self._by_address: collections.OrderedDict[str, _Attempts] = collections.OrderedDict()

    def _state(self, address: str, now: float) -> _Attempts:
        state = self._by_address.pop(address, None) or _Attempts(float(self.free_failures), now, now)
        state.free = min(float(self.free_failures), state.free + (now - state.updated) / self.interval_s)
        state.updated = now
        self._by_address[address] = state
        while len(self._by_address) > MAX_THROTTLED_ADDRESSES:
            self._by_address.popitem(last=False)
        return state

    async def admit(self, address: str) -> float:
        """Wait until an attempt from ``address`` may be checked: 0.0 then, or (without waiting)
        the seconds to come back after when its queue is already full."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        state = self._state(address, now)
        if state.free >= 1.0:
            return 0.0
        slot = max(now, state.next_slot)
        if slot - now > self.max_wait_s:
            return slot - now
        state.next_slot = slot + self.interval_s
        await asyncio.sleep(slot - now)
        return 0.0

    def failed(self, address: str) -> None:
        """A wrong token, cookie or password came from ``address``."""
        state = self._state(address, asyncio.get_running_loop().time())
        state.free = max(0.0, state.free - 1.0)

    def succeeded(self, address: str) -> None:
        """The right token came from ``address``: its wrong attempts are forgiven."""
        self._by_address.pop(address, None)


def parse_json(raw: bytes | bytearray | str) -> Any:
    """``raw`` as JSON; any bad body (deep nesting included) raises ValueError."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"body is not UTF-8: {error}") from None


def origin_allowed(origin: str, request: web.Request, allowed: Iterable[str] = ()) -> bool:
    """``origin`` is this server as the browser reached it (same host and port), or one of
    ``allowed`` (e.g. ``https://shop.example``, when a shop's own site calls this one)."""
    if origin in set(allowed):
        return True
    try:
        url = URL(origin)
    except ValueError:
        return False
    if url.scheme not in {"http", "https"} or not url.host:
        return False  # "null" (sandboxed frames, file: pages) and anything stranger
    # Scheme aside: behind a proxy that ends TLS the browser says https and the request is http.
    netloc = url.host if url.explicit_port is None else f"{url.host}:{url.port}"
    host = request.host
    default_ports = {"http": ":80", "https": ":443"}
    return netloc == host or netloc == host.removesuffix(default_ports[url.scheme])


def origin_middleware(allowed: Iterable[str] = ()) -> Middleware:
    """Middleware: refuse a state-changing request or WebSocket upgrade from another site's page.

    A request without ``Origin`` (curl, a script with a bearer token, an old browser on a GET)
    passes: the check is against browsers carrying cookies on another site's behalf, and browsers
    send ``Origin`` on every such request.
    """
    allowed_origins = tuple(allowed)

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        changes_state = request.method not in SAFE_METHODS
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        origin = request.headers.get("Origin")
        checked = (changes_state or upgrade) and origin is not None
        if checked and not origin_allowed(str(origin), request, allowed_origins):
            log.warning(
                "refused %s %s from %s: foreign origin %s",
                request.method,
                for_log(request.path),
                request.remote,
                for_log(origin),
            )
            return web.json_response({"error": "cross-site request refused"}, status=403)
        return await handler(request)

    return check


def style_hash(css: str) -> str:
    """The CSP source that allows exactly this inline ``<style>`` element's text."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(frame_ancestors: Iterable[str] = (), styles: Iterable[str] = ()) -> str:
    """The policy every page gets: scripts, styles and connections from this server only (no
    inline scripts at all; inline ``styles`` only by hash), framed only by this server or
    ``frame_ancestors``."""
    style_src = " ".join(["'self'", *(style_hash(css) for css in styles)])
    ancestors = " ".join(["'self'", *frame_ancestors])
    return (
        "default-src 'self'; script-src 'self'; "
        f"style-src {style_src}; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )


def add_security_headers(
    app: web.Application, frame_ancestors: Iterable[str] = (), private_prefix: str = "/console"
) -> None:
    """Put the security headers on every response of ``app`` (pages, files, errors); a handler
    that sets its own Content-Security-Policy (a page with a hashed inline style) keeps it.

    Only public pages may be framed by ``frame_ancestors``; paths under ``private_prefix`` (the
    operator's) only by this server, so no other site can overlay the console's buttons.
    """
    ancestors = tuple(frame_ancestors)
    policy, private_policy = content_security_policy(ancestors), content_security_policy()

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        private = request.path == private_prefix or request.path.startswith(private_prefix + "/")
        headers.setdefault("Content-Security-Policy", private_policy if private else policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # Not "no-referrer": with it browsers send "Origin: null" on the page's own form posts (the
        # sign-in), which the Origin check must refuse. "same-origin" keeps the real origin for this
        # site and sends nothing (Origin null) to others.
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if private or not ancestors:  # the older header for browsers without frame-ancestors
            headers.setdefault("X-Frame-Options", "SAMEORIGIN")

    app.on_response_prepare.append(on_prepare)

"""The web side of a live show: the viewer page, WebRTC signaling, product data, health and snapshots.

Every request that carries data is validated; a bad one gets HTTP 400 with a JSON error and touches
nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import math
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from avatar.hygiene import for_log
from avatar.modes.live import LiveShow, product_card
from avatar.render.snapshot import video_frame_png
from avatar.sources.ingest import add_ingest
from avatar.web.console import CONSOLE_KEY, add_console, generate_token
from avatar.web.guard import (
    RateLimiter,
    add_security_headers,
    client_address,
    origin_middleware,
    parse_json,
    parse_list,
)
from avatar.web.monitoring import add_monitoring
from avatar.web.shop import add_shop
from avatar.web.viewers import ROLES, RegistryFull, SignalingError, ViewerRegistry

log = logging.getLogger(__name__)

STATIC_DIR: Final = Path(__file__).parent / "static"
MAX_OFFER_BYTES: Final = 64 * 1024
SHOW_KEY: Final = web.AppKey("show", LiveShow)
VIEWERS_KEY: Final = web.AppKey("viewers", ViewerRegistry)
OFFER_LIMIT_KEY: Final = web.AppKey("offer_limit", RateLimiter)
FULL_RETRY_AFTER_S: Final = 30  # a dead offer holds its place for the connect timeout (20 s)
STUDIO_PAGE: Final = "/console/studio"
STUDIO_OFFER: Final = "/console/offer"


def json_error(status: int, message: str, retry_after_s: float | None = None) -> web.Response:
    """An error response browsers and scripts can read (with ``Retry-After`` when it is "later")."""
    headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))} if retry_after_s is not None else None
    return web.json_response({"error": message}, status=status, headers=headers)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def studio_moved(request: web.Request) -> web.Response:
    raise web.HTTPFound(STUDIO_PAGE)


async def healthz(request: web.Request) -> web.Response:
    health = request.app[SHOW_KEY].health()
    health["sessions"] = request.app[VIEWERS_KEY].counts()  # "viewers" counts connecting ones too
    asr = request.app[VIEWERS_KEY].asr
    health["listen"]["speech_model"] = asr.state if asr is not None else "idle"
    return web.json_response(health)


async def snapshot(request: web.Request) -> web.Response:
    """The programme's current picture as PNG, for operators and thumbnails."""
    frame = request.app[SHOW_KEY].broadcaster.last_video
    if frame is None:
        return json_error(503, "no video frame yet; the show is starting")
    # A 720p PNG takes milliseconds to encode: off the event loop, like all rendering.
    data = await asyncio.get_running_loop().run_in_executor(None, video_frame_png, frame)
    return web.Response(body=data, content_type="image/png", headers={"Cache-Control": "no-store"})


async def products(request: web.Request) -> web.Response:
    show = request.app[SHOW_KEY]
    items: list[dict[str, Any]] = []
    for product in show.scene.catalog.products:
        card = product_card(product, show.scene, show.scene.language)
        items.append(
            {
                "id": product.id,
                "name": product.names,
                "price": card.price_text,
                "promo_price": card.promo_text,
                "stock": product.stock,
                "image": f"/products/{product.id}/image" if product.image else None,
                "buy": f"/go/{product.id}" if product.url else None,  # counted, then the shop's page
            }
        )
    return web.json_response({"current": show.product_id, "products": items})


async def product_image(request: web.Request) -> web.StreamResponse:
    show = request.app[SHOW_KEY]
    # Looked up by id in the catalog, never joined into a path: no traversal possible.
    product_id = request.match_info["product_id"]
    if product_id not in show.scene.catalog:
        return json_error(404, "unknown product")
    image = show.scene.catalog.get(product_id).image
    if image is None or not image.is_file():
        return json_error(404, "this product has no image")
    return web.FileResponse(image)


async def offer(request: web.Request) -> web.Response:
    show = request.app[SHOW_KEY]
    address = client_address(request, parse_list(show.settings.trusted_proxies))
    wait = request.app[OFFER_LIMIT_KEY].take(address, asyncio.get_running_loop().time())
    if wait > 0:
        log.info("offer from %s refused: too many offers from this address", address)
        return json_error(429, "too many offers from your address; try again shortly", wait)
    if request.content_length is not None and request.content_length > MAX_OFFER_BYTES:
        return json_error(413, "offer too large")
    # read(n) returns what has arrived so far, not n bytes: a body split over several TCP segments
    # (any real network; an offer is ~4 KB) must be read to its end before it is parsed.
    raw = bytearray()
    while chunk := await request.content.read(MAX_OFFER_BYTES + 1 - len(raw)):
        raw += chunk
        if len(raw) > MAX_OFFER_BYTES:
            return json_error(413, "offer too large")
    try:
        body = parse_json(raw)
    except ValueError:
        return json_error(400, "body must be JSON: {sdp, type}")
    if not isinstance(body, dict) or not isinstance(body.get("sdp"), str) or body.get("type") != "offer":
        return json_error(400, 'expected {"sdp": "...", "type": "offer"}')
    if "m=" not in body["sdp"]:
        return json_error(400, "sdp has no media sections")
    role = body.get("role", "viewer")
    if role not in ROLES:
        return json_error(400, f"role must be one of {', '.join(ROLES)}")
    if role == "studio" and request.path != STUDIO_OFFER:
        # Only /console/offer, behind the operator's sign-in, admits a co-host.
        return json_error(403, "the studio role needs the operator's sign-in: open /console/studio")
    viewers = request.app[VIEWERS_KEY]
    try:
        session, answer = await viewers.join(body["sdp"], "offer", role=role, address=address)
    except RegistryFull as error:
        log.warning("offer from %s refused: %s", address, error)
        return json_error(503, f"the show is full ({error}); try again shortly", FULL_RETRY_AFTER_S)
    except SignalingError as error:
        log.info("bad offer from %s: %s", address, for_log(error))
        return json_error(400, str(error))
    return web.json_response({"sdp": answer.sdp, "type": answer.type, "viewer_id": session.id})


def create_app(show: LiveShow) -> web.Application:
    """The aiohttp application for a show (the show is started and stopped with the app)."""
    settings = show.settings
    allowed_origins = parse_list(settings.allowed_origins)
    # Cross-site checks first: a foreign page's request is refused before anything reads it.
    app = web.Application(client_max_size=MAX_OFFER_BYTES, middlewares=[origin_middleware(allowed_origins)])
    add_security_headers(app, frame_ancestors=allowed_origins)
    app[SHOW_KEY] = show
    app[VIEWERS_KEY] = ViewerRegistry(show, settings.connect_timeout_s, max_sessions=settings.max_viewers)
    app[OFFER_LIMIT_KEY] = RateLimiter(
        burst=max(1.0, settings.offers_per_minute / 3), refill_s=60.0 / settings.offers_per_minute
    )
    app.router.add_get("/", index)
    app.router.add_get("/studio", studio_moved)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/snapshot.png", snapshot)
    app.router.add_get("/api/products", products)
    app.router.add_get("/products/{product_id}/image", product_image)
    app.router.add_post("/offer", offer)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    add_monitoring(app, show)  # /readyz, /metrics
    add_shop(app, show)  # /go/<product> (buy links, counted), /program (OBS browser source)
    add_ingest(app, show.sources)  # POST /api/comments, /api/comments/ws: signed platform bridges
    # Operator-only routes under /console (their own auth guard); a token is made up if none is set.
    add_console(app, show, show.settings.operator_token or generate_token())
    # The co-host's page is the viewer page with the microphone open (viewer.js tells by the path).
    # It sits under /console, behind the operator's sign-in: a co-host's voice stops the host.
    app.router.add_get(STUDIO_PAGE, index)
    app.router.add_post(STUDIO_OFFER, offer)

    async def lifecycle(app: web.Application) -> Any:
        await show.start()
        yield
        await app[CONSOLE_KEY].close_all()
        await app[VIEWERS_KEY].close_all()
        await show.stop()

    app.cleanup_ctx.append(lifecycle)
    return app

"""Selling from the pages: buy links that count their clicks, and the programme page for OBS.

``/go/<product>`` redirects to the catalog's own ``url`` for that product and nothing else: the
destination never comes from the request, so the route cannot be used as an open redirect. Each
click is recorded (product, variant, where on the page) for the console's analytics.
``/program`` plays the programme full-window with no controls, for an OBS browser source.
"""

from __future__ import annotations

import collections
import re
import time
from pathlib import Path
from typing import Final

from aiohttp import web

from avatar.modes.live import LiveShow

STATIC_DIR: Final = Path(__file__).parent / "static"
PLACES: Final = frozenset({"card", "list", "program", "chat", "link"})
"""Where a click came from (``?from=``); anything else is recorded as ``link``."""
_SKU: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REPEAT_S: Final = 10.0  # the same address clicking the same product again this soon counts once
_REMEMBERED: Final = 10_000


def add_shop(app: web.Application, show: LiveShow) -> None:
    """``GET /go/{product_id}`` and ``GET /program`` on ``app``."""
    recent: collections.OrderedDict[tuple[str, str], float] = collections.OrderedDict()

    def first_click(remote: str, product_id: str) -> bool:
        """False for a repeat within :data:`REPEAT_S` (a double tap, a reload, a script hammering)."""
        now = time.monotonic()
        key = (remote, product_id)
        last = recent.pop(key, None)
        recent[key] = now if last is None or now - last >= REPEAT_S else last
        while len(recent) > _REMEMBERED:
            recent.popitem(last=False)
        return last is None or now - last >= REPEAT_S

    async def go(request: web.Request) -> web.Response:
        catalog = show.scene.catalog
        product_id = request.match_info["product_id"]
        if product_id not in catalog:
            return web.json_response({"error": "unknown product"}, status=404)
        product = catalog.get(product_id)
        if not product.url:
            return web.json_response({"error": "this product has no buy link"}, status=404)
        sku = request.query.get("sku")
        if sku is not None and (not _SKU.match(sku) or product.variant(sku) is None):
            sku = None  # a made-up variant is not recorded as one
        place = request.query.get("from", "link")
        if show.ops.store is not None and first_click(request.remote or "", product.id):
            show.ops.store.click(product.id, sku, place if place in PLACES else "link")
        # 302 to the catalog's URL (checked http(s) by the loader); never cached, so every click counts.
        raise web.HTTPFound(
            product.url, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        )

    async def program(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "program.html", headers={"Cache-Control": "no-store"})

    app.router.add_get("/go/{product_id}", go)
    app.router.add_get("/program", program)

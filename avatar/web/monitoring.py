"""Public monitoring endpoints: ``/readyz`` for load balancers and ``/metrics`` for Prometheus.

Both carry counts and timings only, no viewer data, and change nothing (``/healthz`` lives in
``avatar.web.app``).
"""

from __future__ import annotations

from aiohttp import web

from avatar.modes.live import LiveShow
from avatar.ops.metrics import CONTENT_TYPE


def add_monitoring(app: web.Application, show: LiveShow) -> None:
    """Register ``/readyz`` and ``/metrics`` for ``show``."""

    async def readyz(request: web.Request) -> web.Response:
        ready, why = show.ops.ready()
        return web.json_response({"ready": ready, "reason": why}, status=200 if ready else 503)

    async def metrics(request: web.Request) -> web.Response:
        body = show.ops.metrics.render()
        return web.Response(body=body.encode("utf-8"), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)

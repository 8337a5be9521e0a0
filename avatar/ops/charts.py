"""The console's analytics charts, drawn server-side with matplotlib (Agg) as PNG or SVG.

Each chart is drawn from the analytics dict :meth:`avatar.ops.store.Store.analytics` returns, so
what a chart shows is what the JSON and the CSV exports say. Drawing takes tens of milliseconds:
callers run :func:`draw` off the event loop. matplotlib's object API is used (a ``Figure`` per call,
no pyplot state), and one lock keeps its font cache and text layout to one thread at a time.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from matplotlib.axes import Axes

log = logging.getLogger(__name__)

FORMATS: Final[Mapping[str, str]] = {"png": "image/png", "svg": "image/svg+xml"}
"""Image formats a chart can be drawn in, and their content types."""
SIZE_IN: Final = (6.4, 3.2)
DPI: Final = 100
MAX_BARS: Final = 20
"""A catalog of hundreds: the chart shows the products with the most time on air."""
SECONDS_PER_DAY: Final = 86_400.0
COLOURS: Final = ("#4f9dff", "#c9a227", "#3fb950", "#ff7a2f", "#b57bff", "#ff5c5c", "#8b949e")

_lock = threading.Lock()


def _bars(ax: Axes, labels: Sequence[str], series: Mapping[str, Sequence[float]], unit: str) -> None:
    """Horizontal bars, one group per label (first label on top), one colour per series."""
    if not labels:
        _empty(ax)
        return
    n = len(series)
    height = 0.8 / max(n, 1)
    for index, (name, values) in enumerate(series.items()):
        offsets = [row + (index - (n - 1) / 2) * height for row in range(len(labels))]
        ax.barh(offsets, values, height=height, label=name, color=COLOURS[index % len(COLOURS)])
    ax.set_yticks(range(len(labels)), [label[:28] for label in labels])
    ax.invert_yaxis()
    top = max((max(values, default=0.0) for values in series.values()), default=0.0)
    ax.set_xlim(0.0, top * 1.05 if top > 0 else 1.0)  # all zero: an axis from 0, not around it
    ax.set_xlabel(unit)
    if n > 1:
        ax.legend(loc="lower right", fontsize="small")


def _lines(
    ax: Axes,
    series: Mapping[str, Sequence[tuple[float, float]]],
    unit: str,
    window: tuple[float, float] | None = None,
) -> None:
    """Lines over time (``(unix seconds, value)`` points), one colour per series, across ``window``
    (unix seconds; the analytics period, so one point is not stretched over years)."""
    if not any(series.values()):
        _empty(ax)
        return
    for index, (name, points) in enumerate(series.items()):
        if points:
            times = [t / SECONDS_PER_DAY for t, _ in points]  # matplotlib dates: days since 1970
            colour = COLOURS[index % len(COLOURS)]
            ax.plot(times, [v for _, v in points], marker="o", markersize=3, label=name, color=colour)
    ax.xaxis_date(UTC)
    if window is not None and window[1] > window[0]:
        margin = 0.02 * (window[1] - window[0])  # the newest point is not cut in half by the edge
        ax.set_xlim(window[0] / SECONDS_PER_DAY, (window[1] + margin) / SECONDS_PER_DAY)
    ax.set_xlabel("UTC")
    ax.set_ylabel(unit)
    ax.set_ylim(bottom=0)
    ax.figure.autofmt_xdate()
    ax.legend(loc="best", fontsize="small")


def _empty(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes, color="#8b949e")
    ax.set_axis_off()


def _window(data: Mapping[str, Any]) -> tuple[float, float] | None:
    """The analytics period, when the data says it."""
    since, until = data.get("since"), data.get("until")
    return (float(since), float(until)) if since is not None and until is not None else None


def _top_products(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(data.get("products", []))[:MAX_BARS]


def _labels(products: Sequence[Mapping[str, Any]]) -> list[str]:
    """The catalog's names where the caller filled them in, else the product ids."""
    return [str(p.get("name") or p["product"]) for p in products]


def _products(ax: Axes, data: Mapping[str, Any]) -> None:
    products = _top_products(data)
    _bars(
        ax,
        _labels(products),
        {k: [p[k] for p in products] for k in ("mentions", "questions", "clicks")},
        "count",
    )


def _on_air(ax: Axes, data: Mapping[str, Any]) -> None:
    products = _top_products(data)
    _bars(ax, _labels(products), {"on air": [p["on_air_s"] / 60 for p in products]}, "minutes")


def _click_rate(ax: Axes, data: Mapping[str, Any]) -> None:
    products = _top_products(data)
    _bars(
        ax,
        _labels(products),
        {"clicks per minute on air": [p["clicks_per_min"] or 0.0 for p in products]},
        "clicks / minute",
    )


def _viewers(ax: Axes, data: Mapping[str, Any]) -> None:
    points = data.get("viewers_series", [])
    _lines(
        ax,
        {k: [(p["t"], p.get(k) or 0) for p in points] for k in ("max", "avg", "unique")},
        "viewers",
        _window(data),
    )


def _comments(ax: Axes, data: Mapping[str, Any]) -> None:
    points = data.get("comments_per_minute", [])
    rates = {(p["t"], p["source"]): p["per_min"] for p in points}
    times = sorted({p["t"] for p in points})
    # A minute with no comments from a source is a zero on its line, not a gap.
    by_source = {
        source: [(t, rates.get((t, source), 0.0)) for t in times]
        for source in sorted({p["source"] for p in points})
    }
    _lines(ax, by_source, "comments / minute", _window(data))


def _latency(ax: Axes, data: Mapping[str, Any]) -> None:
    points = data.get("answer_latency", {}).get("series", [])
    _lines(ax, {"average": [(p["t"], p["avg_s"]) for p in points]}, "seconds to first audio", _window(data))


def _compliance(ax: Axes, data: Mapping[str, Any]) -> None:
    points = data.get("compliance_series", [])
    _lines(
        ax,
        {k: [(p["t"], p[k]) for p in points] for k in ("total", "blocked")},
        "interventions",
        _window(data),
    )


CHARTS: Final[Mapping[str, tuple[str, Callable[[Axes, Mapping[str, Any]], None]]]] = {
    "products": ("Mentions, questions and Buy clicks per product", _products),
    "on-air": ("Time on air per product", _on_air),
    "click-rate": ("Buy clicks per minute on air", _click_rate),
    "viewers": ("Viewers (peak, average, unique)", _viewers),
    "comments": ("Comments per minute by source", _comments),
    "latency": ("Answer latency (comment to first audio)", _latency),
    "compliance": ("Compliance interventions", _compliance),
}
"""Chart name -> (title, how it is drawn)."""


@functools.cache
def _font_families() -> list[str]:
    """The default sans font, then a CJK one for Chinese product names and viewer names."""
    from matplotlib import font_manager

    from avatar.render.text import find_font

    families = ["DejaVu Sans"]
    found = find_font()
    if found is not None:
        try:
            font_manager.fontManager.addfont(str(found[0]))
            families.append(font_manager.FontProperties(fname=str(found[0])).get_name())
        except (OSError, RuntimeError, ValueError) as error:
            log.warning("charts: CJK font %s not usable (%s); Chinese labels may show boxes", found[0], error)
    return families


def draw(name: str, data: Mapping[str, Any], fmt: str = "png") -> bytes:
    """Chart ``name`` (one of :data:`CHARTS`) of ``data`` as ``fmt`` (``png`` or ``svg``) bytes.

    Raises ``KeyError`` for an unknown chart and ``ValueError`` for an unknown format.
    """
    title, plot = CHARTS[name]
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}; one of {', '.join(FORMATS)}")
    import matplotlib

    matplotlib.use("Agg")  # no display on a server; must precede any backend use
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with (
        _lock,
        rc_context({"font.family": _font_families(), "svg.fonttype": "path", "svg.hashsalt": "avatar"}),
    ):
        figure = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
        ax = figure.add_subplot()
        ax.set_title(title, fontsize="medium")
        plot(ax, data)
        out = io.BytesIO()
        figure.savefig(out, format=fmt, metadata={"Software": None} if fmt == "png" else {"Date": None})
        return out.getvalue()

"""The rehearsal report: JSON for tools, and one self-contained HTML page for the host.

The page has no external resources (no CDN, no fonts, no scripts): charts are inline SVG drawn
here, so a report saved to disk or mailed still opens anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any, Final

from avatar.rehearse.metrics import PACE_RANGE

__all__ = ["CSS", "el", "progress_svg", "render_html", "write_report"]

_W: Final = 720
_SVG_NS: Final = "http://www.w3.org/2000/svg"
CSS: Final = (
    "body{font-family:system-ui,sans-serif;margin:24px auto;max-width:760px;color:#1d2333}"
    "h1{font-size:1.5em;margin-bottom:0} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #dde}"
    ".sub{color:#667} .scores{display:flex;flex-wrap:wrap;gap:8px}"
    ".score{background:#f2f4fa;border-radius:8px;padding:8px 12px} .score b{display:block;font-size:1.4em}"
    ".msg{background:#fff4d6;border-left:4px solid #e0a100;padding:6px 10px;margin:6px 0}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #eee;padding:5px;text-align:left;vertical-align:top}"
    ".ok{color:#1b7f3b} .bad{color:#b3261e} .sugg{color:#1b5e9f} small{color:#667}"
    "svg{background:#fafbfe;border:1px solid #e4e6ef;border-radius:6px}"
)


def el(tag: str, body: str = "", /, **attrs: object) -> str:
    """One HTML/SVG element; ``body`` is inserted as is, attribute values are escaped.

    Attribute names use ``_`` for ``-`` and a trailing ``_`` for Python keywords (``class_``).
    """
    parts = [tag]
    for name, value in attrs.items():
        if value is None:
            continue
        key = name.rstrip("_").replace("_", "-")
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        parts.append(f'{key}="{escape(shown)}"')
    return f"<{' '.join(parts)}>{body}</{tag}>"


def _title(text: str) -> str:
    return el("title", escape(text))


def _timeline_svg(report: dict[str, Any]) -> str:
    take = max(float(report["take_s"]), 1.0)
    h, pad = 124, 30
    scale = (_W - 2 * pad) / take

    def x(t: float) -> float:
        return pad + t * scale

    parts = [el("line", x1=pad, y1=90, x2=_W - pad, y2=90, stroke="#99a")]
    step = 10 if take <= 120 else 30
    for t in range(0, int(take) + 1, step):
        parts.append(el("text", f"{t}s", x=x(t), y=104, font_size=10, text_anchor="middle", fill="#667"))
    for line in report["transcript"]:
        width = max(1.0, (line["end"] - line["start"]) * scale)
        parts.append(
            el("rect", _title(line["text"]), x=x(line["start"]), y=40, width=width, height=14, fill="#9fb4e6")
        )
    for pause in report["delivery"]["pauses"]:
        body = _title(f"pause {pause['seconds']} s")
        parts.append(
            el(
                "rect",
                body,
                class_="pause",
                x=x(pause["start_s"]),
                y=58,
                width=pause["seconds"] * scale,
                height=8,
                fill="#e8a33d",
            )  # fmt: skip
        )
    for filler in report["delivery"]["fillers"]:
        at = x(filler["at_s"])
        parts.append(
            el(
                "line",
                _title(filler["text"]),
                class_="filler",
                x1=at,
                y1=70,
                x2=at,
                y2=84,
                stroke="#a05a00",
                stroke_width=2,
            )  # fmt: skip
        )
    for flag in report["flags"]:
        body = _title(f"{flag['rule']}: {flag['found']}")
        parts.append(el("circle", body, class_="flag", cx=x(flag["at_s"]), cy=28, r=5, fill="#b3261e"))
    for answer in report["audience"]:
        colour = "#1b7f3b" if answer["verdict"] == "correct" else "#b3261e"
        body = _title(f"{answer['question']} ({answer['verdict']})")
        parts.append(
            el(
                "path",
                body,
                class_="question",
                d=f"M{x(answer['asked_at_s']):.1f} 8 l-5 10 h10 z",
                fill=colour,
            )
        )
    legend = "▲ question · ● flagged line · blue: speech · orange: long pause · | filler"
    parts.append(el("text", legend, x=pad, y=119, font_size=10, fill="#667"))
    return el("svg", "".join(parts), id="timeline", xmlns=_SVG_NS, width=_W, height=h, role="img")


def _line_chart(
    points: Sequence[tuple[float, float]],
    *,
    chart_id: str,
    band: tuple[float, float] | None,
    x_label: str,
    y_label: str,
    labels: Sequence[str] = (),
) -> str:
    h, pad = 180, 40
    if not points:
        return el(
            "svg",
            el("text", "no data", x=10, y=25, font_size=12),
            id=chart_id,
            xmlns=_SVG_NS,
            width=_W,
            height=40,
        )
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    lo = float(min([*ys, *(band or ())])) - 5
    hi = float(max([*ys, *(band or ())])) + 5
    x0 = min(xs)
    x1 = max(xs) if max(xs) > x0 else x0 + 1

    def sx(v: float) -> float:
        return pad + (v - x0) / (x1 - x0) * (_W - 2 * pad)

    def sy(v: float) -> float:
        return h - 25 - (v - lo) / (hi - lo) * (h - 45)

    parts: list[str] = []
    if band is not None:
        parts.append(
            el(
                "rect",
                x=pad,
                y=sy(band[1]),
                width=_W - 2 * pad,
                height=sy(band[0]) - sy(band[1]),
                fill="#dff3e4",
            )
        )
    for v in (lo + 5, (lo + hi) / 2, hi - 5):
        parts.append(el("text", f"{v:.0f}", x=pad - 4, y=sy(v), font_size=10, text_anchor="end", fill="#667"))
    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(px):.1f} {sy(py):.1f}" for i, (px, py) in enumerate(points))
    parts.append(el("path", d=path, fill="none", stroke="#3557b7", stroke_width=2))
    for i, (px, py) in enumerate(points):
        tip = labels[i] if i < len(labels) else f"{px:g}: {py:g}"
        parts.append(el("circle", _title(tip), cx=sx(px), cy=sy(py), r=3, fill="#3557b7"))
    parts.append(
        el("text", escape(x_label), x=_W / 2, y=h - 5, font_size=11, text_anchor="middle", fill="#667")
    )
    parts.append(el("text", escape(y_label), x=12, y=14, font_size=11, fill="#667"))
    return el("svg", "".join(parts), id=chart_id, xmlns=_SVG_NS, width=_W, height=h, role="img")


def progress_svg(history: Sequence[dict[str, Any]]) -> str:
    """A host's overall score per take, oldest first (``history`` items have started_at, overall)."""
    points = [(float(i + 1), float(row["overall"])) for i, row in enumerate(history)]
    labels = [f"{row['started_at']} {row.get('product', '')}: {row['overall']}" for row in history]
    return _line_chart(
        points, chart_id="progress", band=None, x_label="take", y_label="overall score", labels=labels
    )


def _row(*cells: str, **attrs: object) -> str:
    return el("tr", "".join(el("td", c) for c in cells), **attrs)


def _head(*names: str) -> str:
    return el("tr", "".join(el("th", escape(n)) for n in names))


def render_html(report: dict[str, Any], history: Sequence[dict[str, Any]] = ()) -> str:
    """The report page: scores, messages, timeline, pace, checklist, flags, audience, progress."""
    d = report["delivery"]
    unit = d["unit"]
    name = escape(report["product"]["name"])
    sub = " · ".join(escape(str(report[k])) for k in ("host", "scene", "started_at"))
    out = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Rehearsal report: {name}</title><style>{CSS}</style></head><body>",
        el("h1", f"Rehearsal: {name}"),
        el(
            "p",
            f"{sub} · {report['take_s']:.0f} s · " + el("span", escape(report["status"]), id="status"),
            class_="sub",
        ),
    ]
    out += [el("div", escape(m), class_="msg") for m in report["messages"]]

    scores = "".join(
        el("div", el("b", f"{v:.0f}") + escape(k.replace("_", " ")), class_="score", data_score=k)
        for k, v in report["scores"].items()
    )
    out += [el("h2", "Scores"), el("div", scores, class_="scores", id="scores")]
    out += [el("h2", "Timeline"), _timeline_svg(report)]

    out.append(el("h2", f"Pace ({escape(unit)})"))
    out.append(
        el(
            "p",
            f"Overall <b>{d['pace']:.0f} {escape(unit)}</b> over {d['speaking_s']:.0f} s of speaking; "
            "the green band is a comfortable pace.",
        )  # fmt: skip
    )
    band = PACE_RANGE["en"] if unit == "wpm" else PACE_RANGE["zh"]
    series = [(float(a), float(b)) for a, b in d["pace_series"]]
    out.append(_line_chart(series, chart_id="pace", band=band, x_label="seconds into the take", y_label=unit))
    if d.get("loudness"):
        level = d["loudness"]
        out.append(
            el(
                "p",
                f"Loudness: {level['mean_dbfs']:.0f} dBFS average speech level, peak {level['peak']:.2f}.",
            )
        )
    if d["notes"]:
        out.append(el("ul", "".join(el("li", escape(n)) for n in d["notes"]), id="notes"))
    fillers = ", ".join(f"{escape(f['text'])} ({f['at_s']:.0f}s)" for f in d["fillers"]) or "none"
    out.append(el("p", f"Filler words: {fillers}", id="fillers"))

    rows = [_head("", "selling point", "where / what was missing")]
    for p in report["selling_points"]:
        if p["covered"]:
            mark, where = (
                el("span", "✔ covered", class_="ok"),
                f"{p['said_at_s']:.0f}s: “{escape(p['said'])}”",
            )
        else:
            mark, where = el("span", "✘ missed", class_="bad"), "missing: " + escape(", ".join(p["missing"]))
        rows.append(
            _row(mark, escape(p["point"]), el("small", where), class_="covered" if p["covered"] else "missed")
        )
    out += [el("h2", "Selling points"), el("table", "".join(rows), id="points")]

    rows = [_head("at", "line", "problem", "say instead")]
    for f in report["flags"]:
        problem = el(
            "span", f"{escape(f['rule'])}: “{escape(f['found'])}” — {escape(f['detail'])}", class_="bad"
        )
        suggestion = el("span", escape(f["suggestion"]), class_="sugg")
        rows.append(
            _row(
                f"{f['at_s']:.0f}s",
                escape(f["line"]),
                problem,
                suggestion,
                class_="flagged",
                data_rule=f["rule"],
            )
        )
    if not report["flags"]:
        rows.append(el("tr", el("td", "No wrong facts and no compliance problems.", class_="ok", colspan=4)))
    out += [el("h2", "Flagged lines"), el("table", "".join(rows), id="flags")]

    rows = [_head("at", "question", "you said", "verdict")]
    for a in report["audience"]:
        question = escape(a["question"]) + "<br>" + el("small", "catalog: " + escape(a["expected"]))
        verdict = el("span", escape(a["verdict"]), class_="ok" if a["verdict"] == "correct" else "bad")
        rows.append(
            _row(
                f"{a['asked_at_s']:.0f}s",
                question,
                escape(a["said"]) or "—",
                verdict + "<br>" + el("small", escape(a["why"])),
            )
        )
    if not report["audience"]:
        rows.append(el("tr", el("td", "The take ended before the audience asked anything.", colspan=4)))
    out += [el("h2", "Audience questions"), el("table", "".join(rows), id="audience")]

    lines = "".join(
        el("p", el("small", f"{line['start']:.1f}s") + " " + escape(line["text"]))
        for line in report["transcript"]
    )
    out += [el("h2", "Transcript"), el("div", lines or "(nothing was recognised)", id="transcript")]
    if history:
        out += [el("h2", "Progress"), progress_svg(history)]
    # "</script>" or "<!--" in what the host said would break out of the element; JSON's \u003c is "<".
    embedded = json.dumps(report, ensure_ascii=False).replace("<", "\\u003c")
    out.append(f'<script type="application/json" id="report-json">{embedded}</script>')
    out.append("</body></html>")
    return "\n".join(out)


def write_report(report: dict[str, Any], html_path: Path, history: Sequence[dict[str, Any]] = ()) -> Path:
    """Write ``<name>.html`` and ``<name>.json`` side by side; returns the JSON path."""
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(report, history), encoding="utf-8")
    json_path = html_path.with_suffix(".json")
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return json_path

"""The ``avatar`` command: run a live show, ask the host a question, score the answers on a question
set, or measure performance."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

from avatar.errors import DataError


def _add_video_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", type=Path, help="scene folder (default scenes/demo)")
    parser.add_argument("--width", type=int, help="video width, 640-1280 (default 640)")
    parser.add_argument("--height", type=int, help="video height, 360-720 (default 360)")
    parser.add_argument("--fps", type=int, help="frames per second (default 25)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avatar", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    live = commands.add_parser("live", help="run the live show with its viewer page")
    _add_video_options(live)
    live.add_argument("--host", help="address to bind (default 0.0.0.0)")
    live.add_argument("--port", type=int, help="HTTP port (default 8080)")
    live.add_argument("--ice-loopback", action="store_true", default=None, help="loopback-only WebRTC")

    ask = commands.add_parser("ask", help="print the answer the host would speak, as JSON")
    ask.add_argument("--scene", type=Path, default=Path("scenes/demo"))
    ask.add_argument("--product", help="product on screen (default: the first segment's)")
    ask.add_argument(
        "--json", action="store_true", help="JSON output, with facts and compliance actions (the default)"
    )
    ask.add_argument("question")

    evaluate = commands.add_parser(
        "eval", help="score the answers on a question set: accuracy, hallucinations, violations (JSON)"
    )
    evaluate.add_argument("--scene", type=Path, default=Path("scenes/demo"))
    evaluate.add_argument("--cases", type=Path, help="question set YAML (default: <scene>/eval.yaml)")

    bench = commands.add_parser("bench", help="measure latency, render/encode time, CPU and memory")
    _add_video_options(bench)
    bench.add_argument("--seconds", type=float, default=60.0, help="idle measurement window")
    bench.add_argument("--questions", type=int, default=20, help="chat questions to time")
    bench.add_argument("--tts-only", action="store_true", help="only the voices section (tts)")

    commands.add_parser("voices", help="list the voices in voices/ with a one-line status each")
    say = commands.add_parser("say", help="speak a line with a voice into a WAV file (48 kHz mono)")
    say.add_argument("--voice", default="joe", help="voice name from voices/ (default joe)")
    say.add_argument("-o", "--output", type=Path, default=Path("say.wav"), help="WAV file to write")
    say.add_argument("text")
    return parser


def _run_live(args: argparse.Namespace) -> int:
    from aiohttp import web

    from avatar.brain.scene import load_scene
    from avatar.config import load_settings
    from avatar.modes.live import LiveShow
    from avatar.web.app import create_app
    from avatar.web.ice import use_loopback_only

    settings = load_settings(
        scene=args.scene,
        host=args.host,
        port=args.port,
        width=args.width,
        height=args.height,
        fps=args.fps,
        ice_loopback=args.ice_loopback,
    )
    scene = load_scene(settings.scene)
    if settings.ice_loopback:
        use_loopback_only()

    async def serve() -> None:
        show = LiveShow(scene, settings)
        runner = web.AppRunner(create_app(show))
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        shown = "localhost" if settings.host in {"0.0.0.0", "::"} else settings.host
        print(f"avatar: {scene.name} is live at http://{shown}:{settings.port}/", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def _run_ask(args: argparse.Namespace) -> int:
    from avatar.brain.answerer import Answerer
    from avatar.brain.scene import load_scene

    scene = load_scene(args.scene)
    product = args.product or scene.segments[0].product_id
    if product not in scene.catalog:
        raise DataError(scene.root / "products.yaml", "id", f"no product {product!r}")
    answer = Answerer(scene).answer(args.question, product)
    out: dict[str, Any] = {
        "text": answer.text,
        "product": answer.product_id,
        "intent": answer.intent,
        "language": answer.language,
        "facts": answer.facts,  # the catalog fields the answer states, as said
        "compliance": [action.as_dict() for action in answer.compliance],  # rewrites and blocks
    }
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    from avatar.brain.evaluation import CASES_FILE, load_cases, run_eval
    from avatar.brain.scene import load_scene

    scene = load_scene(args.scene)
    cases = load_cases(args.cases or scene.root / CASES_FILE, scene.catalog)
    report = run_eval(scene, cases)
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    # Non-zero when the set fails, so CI can gate on it (2 stays "bad input").
    return 0 if report.passed else 1


def _run_voices(args: argparse.Namespace) -> int:
    from avatar.engines.tts.say import voices_report

    print("\n".join(voices_report()))
    return 0


def _run_say(args: argparse.Namespace) -> int:
    from avatar.engines.tts.say import say

    result = say(args.text, args.voice, args.output)
    spoken = f"{result.seconds:.1f} s, {result.sentences} sentences, voice {result.voice}"
    print(f"avatar: wrote {result.path} ({spoken})")
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from avatar.bench import run_bench
    from avatar.bench_tts import bench_tts

    if args.tts_only:
        print(json.dumps({"tts": bench_tts()}, indent=2))
        return 0

    report = run_bench(
        scene=args.scene or Path("scenes/demo"),
        width=args.width or 640,
        height=args.height or 360,
        fps=args.fps or 25,
        seconds=args.seconds,
        questions=args.questions,
    )
    print(json.dumps(report, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``avatar`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aioice", "aiortc", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handlers = {
        "live": _run_live,
        "ask": _run_ask,
        "eval": _run_eval,
        "bench": _run_bench,
        "voices": _run_voices,
        "say": _run_say,
    }
    try:
        return handlers[args.command](args)
    except DataError as error:
        print(f"avatar: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"avatar: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

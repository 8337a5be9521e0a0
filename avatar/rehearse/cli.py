"""``avatar rehearse``: the studio page (``--port``) or a report on a recording (``--audio``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import secrets
import sys
from pathlib import Path

from avatar.brain.scene import Scene, load_scene
from avatar.rehearse.audience import AudienceSchedule
from avatar.rehearse.session import Recognizer
from avatar.rehearse.store import SessionStore, default_data_dir

__all__ = ["run_rehearse"]


def _asr(model: str | None, language: str) -> Recognizer:
    from avatar.engines.asr import DEFAULT_MODEL, MULTILINGUAL_MODEL, load_asr

    # tiny.en only knows English; a Chinese scene needs the multilingual model.
    chosen = model or (DEFAULT_MODEL if language == "en" else MULTILINGUAL_MODEL)
    return load_asr(chosen)


def _schedule(args: argparse.Namespace) -> AudienceSchedule:
    if args.first_question < 0 or args.question_every <= 0:
        raise ValueError("--first-question must be >= 0 and --question-every > 0 seconds")
    return AudienceSchedule(first_s=args.first_question, every_s=args.question_every)


def run_rehearse(args: argparse.Namespace) -> int:
    """Run the command; returns the exit status (2 for bad input)."""
    scene = load_scene(args.scene)
    store = SessionStore(args.data_dir or default_data_dir(scene.root))
    if args.audio is not None:
        return _offline(args, scene, store)
    return _serve(args, scene, store)


def _offline(args: argparse.Namespace, scene: Scene, store: SessionStore) -> int:
    from avatar.engines.asr import MULTILINGUAL_MODEL, ASRError, load_asr, read_audio
    from avatar.rehearse.runner import rehearse_audio

    product = args.product or scene.segments[0].product_id
    if product not in scene.catalog:
        known = ", ".join(p.id for p in scene.catalog)
        raise ValueError(f"no product {product!r} in {scene.name} (products: {known})")
    audio = read_audio(args.audio)
    try:
        asr = _asr(args.asr, scene.language)
        language_asr = None if args.no_language_check else load_asr(MULTILINGUAL_MODEL)
    except ASRError as error:
        print(f"avatar: {error}", file=sys.stderr)
        return 2
    report = rehearse_audio(
        scene,
        product,
        audio,
        asr,
        host=args.name,
        store=store,
        schedule=_schedule(args),
        report_path=args.report,
        language_asr=language_asr,
    )
    print(json.dumps(report, ensure_ascii=False, indent=2))
    for message in report["messages"]:
        print(f"avatar: {message}", file=sys.stderr)
    if args.report is not None:
        print(f"avatar: report written to {args.report}", file=sys.stderr)
    return 0


def _loopback(host: str) -> bool:
    """``host`` is a loopback address or name: the page is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve(args: argparse.Namespace, scene: Scene, store: SessionStore) -> int:
    from aiohttp import web

    from avatar.paths import cache_dir
    from avatar.rehearse.presenter import Presenter
    from avatar.rehearse.server import RehearsalServer, create_rehearsal_app

    presenter = Presenter(scene, cache_dir("rehearse", Path(scene.root).name))
    token: str | None = args.token
    generated = token is None and not _loopback(args.host)
    if generated:  # reachable from other machines: never without a token
        token = secrets.token_urlsafe(24)
    server = RehearsalServer(
        scene,
        store,
        lambda: _asr(args.asr, scene.language),
        presenter=presenter,
        schedule=_schedule(args),
        token=token,
    )

    async def serve() -> None:
        runner = web.AppRunner(create_rehearsal_app(server))
        await runner.setup()
        await web.TCPSite(runner, args.host, args.port).start()
        shown = "localhost" if args.host in {"0.0.0.0", "::"} else args.host
        print(f"avatar: rehearse {scene.name} at http://{shown}:{args.port}/rehearse", flush=True)
        if generated:  # printed once, never logged
            print(f"avatar: rehearsal token {token} (other machines sign in at /rehearse/login)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0

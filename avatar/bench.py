"""``avatar bench``: the performance report, as JSON.

Speed is measured here, never asserted in tests. What it measures, on this machine:

- chat question -> first audio played (p50/p95): a comment submitted to a running show until the
  first chunk of its answer is pulled by the programme pump (what the audience hears first);
- render ms/frame and VP8 encode ms/frame (p50/p95) at the chosen size, and render ms/frame at
  640x360 and 1280x720;
- end of a spoken question -> the first audio of its answer, split into endpoint, ASR final,
  understanding, first TTS audio and playout (p50/p95), turns ended on silence alone and on words
  side by side, and the false cut-off rate on clips with mid-sentence pauses (avatar/listen/bench.py);
- process CPU (% of one core) and RSS over an idle window with one real WebRTC viewer attached
  (the viewer is a separate process, so its decoding is not counted);
- ``tts``: per voice, time to first audio of a sentence and real-time factor (avatar/bench_tts.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
import psutil

from avatar.bench_tts import bench_tts
from avatar.brain.scene import load_scene
from avatar.config import load_settings
from avatar.modes.live import LiveShow, product_card
from avatar.render.animator import Animator, Mood
from avatar.render.compositor import Renderer
from avatar.render.frame import FrameState
from avatar.render.theme import coupon_text
from avatar.speaker import line_pieces

RENDER_SIZES = ((640, 360), (1280, 720))
"""Render time is reported at both ends of the supported sizes, whatever size the show runs at."""
PHOTO_SCENE = Path(__file__).resolve().parent.parent / "scenes" / "photo-demo"
"""A scene whose host is a portrait picture (the photo presenter), for its render timing."""
QUESTIONS = [
    "How much is the {name}?",
    "Is the {name} in stock?",
    "Any discount on the {name}?",
    "What are the specs of the {name}?",
]


ON_SCREEN_QUESTIONS = [
    "how much is it?",
    "is it in stock?",
    "any deal on this?",
    "what does it cost?",
]
"""Asked about the product on screen, worded unlike the prepared questions (the brain matches them)."""


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/max of a sample, rounded for reading."""
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan"), "n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(p95, 2),
        "max": round(ordered[-1], 2),
        "n": len(ordered),
    }


async def poll_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.01) -> bool:
    """Check ``predicate`` every ``interval_s`` until it holds or ``timeout_s`` passes."""
    for _ in range(int(timeout_s / interval_s)):
        if predicate():
            return True
        await asyncio.sleep(interval_s)
    return predicate()


def answered(show: LiveShow, count: int) -> Callable[[], bool]:
    """A check that ``count`` answers have started playing."""
    return lambda: len(show.answer_timings) >= count


def bench_render(
    scene_path: Path, width: int, height: int, frames: int = 300, *, encode: bool = True
) -> dict[str, Any]:
    """Render a talking host over the scene's look, with everything that can be on screen.

    Moods change every few seconds (smile, thinking, greeting nod), the product and the hand
    gesture every four seconds, captions every 1.6 s, a comment joins the ticker every 3.2 s,
    and the flash-sale tag ticks: the frames a real show draws, cache misses included.
    """
    scene = load_scene(scene_path)
    renderer = Renderer(
        width, height, scene.theme, root=scene.root, language=scene.language, portrait=scene.avatar.portrait
    )
    animator = Animator()
    products = list(scene.catalog.products)
    captions = [line for seg in scene.segments for line in seg.lines.get("en", ())][:20] or ["Hello!"]
    moods = [Mood.NEUTRAL, Mood.SMILE, Mood.NEUTRAL, Mood.THINKING, Mood.GREETING]
    coupon = coupon_text(scene.theme) or "Code LIVE10: 10% off"
    times: list[float] = []
    encode_input: list[np.ndarray] = []
    for i in range(frames + 10):
        t = i / 25
        product = products[(i // 100) % len(products)]
        face = animator.face(
            t,
            0.5 + 0.5 * np.sin(i / 2.0),
            bands=(0.6, 0.2, 0.1, 0.1, 0.0) if i % 7 else (0.1, 0.8, 0.1, 0.0, 0.0),
            mood=moods[(i // 60) % len(moods)],
            focus=product.id,
        )
        state = FrameState(
            t=t,
            mouth_open=face.mouth_open,
            eyes_closed=face.eyes_closed,
            caption=captions[(i // 40) % len(captions)],
            product=product_card(product, scene, "en"),
            title="Mia · bench",
            mouth_wide=face.mouth_wide,
            mouth_round=face.mouth_round,
            expression=face.expression,
            countdown_s=9000.0 - t,
            coupon=coupon,
            ticker=tuple(
                f"viewer{k}: is the {product.name('en')} in stock?" for k in range(i // 80, i // 80 + 4)
            ),
            ticker_since=(i // 80) * 80 / 25,
        )
        began = time.perf_counter()
        image = renderer.render_i420(state)
        if i >= 10:  # the first frames fill the caches
            times.append((time.perf_counter() - began) * 1000)
        if encode and i % 2 == 0:
            encode_input.append(image)
    report: dict[str, Any] = {"render_ms_per_frame": percentiles(times)}
    if encode:
        report["encode_ms_per_frame"] = bench_encode(encode_input)
    return report


def bench_encode(images: list[np.ndarray]) -> dict[str, float]:
    """Encode frames with aiortc's own VP8 encoder, as a viewer's sender does."""
    from aiortc.codecs import get_encoder
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    encoder = get_encoder(RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96))
    times: list[float] = []
    for index, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts = index * 3600
        frame.time_base = fractions.Fraction(1, 90000)
        began = time.perf_counter()
        encoder.encode(frame, False)
        if index >= 5:
            times.append((time.perf_counter() - began) * 1000)
    return percentiles(times)


async def bench_live(
    scene_path: Path,
    width: int,
    height: int,
    fps: int,
    seconds: float,
    questions: int,
    llm: str | None = None,
    on_screen_questions: int = 0,
) -> dict[str, Any]:
    """Run a real show with one real viewer: idle CPU/RSS, then timed chat questions, then
    ``on_screen_questions`` pairs about the product on screen, answered from the answer cache and
    synthesised afresh, in turn (``chat_on_screen``)."""
    from aiohttp import web

    from avatar.web.app import create_app
    from avatar.web.ice import use_loopback_only

    use_loopback_only()
    settings = load_settings(
        scene=scene_path, width=width, height=height, fps=fps, host="127.0.0.1", port=0, llm=llm
    )
    scene = load_scene(scene_path)
    show = LiveShow(scene, settings)
    runner = web.AppRunner(create_app(show))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    process = psutil.Process()
    viewer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "avatar.web.probe",
        f"http://127.0.0.1:{port}",
        str(seconds + 5),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not await poll_until(
            lambda: show.broadcaster.viewers > 0 and show.programme.stats.frames > 50, 60
        ):
            raise RuntimeError("the bench viewer did not connect")
        await asyncio.sleep(3)  # let the voice warm up and the viewer's encoder settle
        rss_start = process.memory_info().rss
        cpu_start = process.cpu_times()
        wall_start = time.monotonic()
        dropped_start = show.programme.stats.dropped_frames
        rss_samples: list[float] = []
        for _ in range(10):  # RSS over the window: warm-up growth vs a steady creep
            await asyncio.sleep(seconds / 10)
            rss_samples.append(round(process.memory_info().rss / 2**20, 1))
        cpu_end = process.cpu_times()
        wall = time.monotonic() - wall_start
        idle = {
            "seconds": round(wall, 1),
            "cpu_percent_of_one_core": round(
                100 * ((cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system)) / wall, 1
            ),
            "rss_mb_start": round(rss_start / 2**20, 1),
            "rss_mb_end": rss_samples[-1],
            "rss_mb_every_tenth": rss_samples,
            "viewers": show.broadcaster.viewers,
            "dropped_frames": show.programme.stats.dropped_frames - dropped_start,
        }
        out, _ = await viewer.communicate()
        with contextlib.suppress(json.JSONDecodeError):
            idle["viewer_received"] = json.loads(out.decode() or "{}")

        # Chat latency is measured with the phrasing model loaded (or failed): what viewers get.
        await poll_until(
            lambda: show.phraser.engine is None or show.phraser.ready or bool(show.phraser.failed), 180
        )
        timings_before = len(show.answer_timings)
        products = list(scene.catalog.products)
        for index in range(questions):
            product = products[index % len(products)]
            text = QUESTIONS[index % len(QUESTIONS)].format(name=product.name("en"))
            show.submit_comment(f"bench-{index}", "bench", text)
            await poll_until(answered(show, timings_before + index + 1), 15)
            # Like a real comment, the next one lands while the host is back on the script, at a
            # varying point of a sentence (not while the previous answer is still being spoken).
            await poll_until(lambda: not show.answering, 30)
            await asyncio.sleep(0.4 + 0.37 * (index % 5))
        latencies = [(t.first_audio_at - t.received_at) * 1000 for t in show.answer_timings[timings_before:]]
        on_screen = await time_on_screen_answers(show, on_screen_questions) if on_screen_questions else None
        return {
            **({"chat_on_screen": on_screen} if on_screen is not None else {}),
            "chat_to_first_audio_ms": percentiles(latencies),
            "chat_llm": {
                "engine": show.phraser.engine_name,
                "ready": show.phraser.ready,
                **show.phraser.stats,
            },
            "idle_one_viewer": idle,
        }
    finally:
        if viewer.returncode is None:
            viewer.kill()
            await viewer.wait()
        await runner.cleanup()


async def time_on_screen_answers(show: LiveShow, pairs: int) -> dict[str, Any]:
    """Chat question about the product on screen -> first audio, with its answer prepared ahead
    (answer cache) and synthesised afresh, asked in turn (A B A B) so that both see the same load.

    Each question waits until the preparer is done with the product on screen (none of its work in
    flight); an uncached answer is also dropped from the voice's own render cache first.
    """
    load_before = os.getloadavg()
    answers = show.speaker.answers
    latencies: dict[str, list[float]] = {"cached": [], "uncached": []}
    hits = 0
    for index in range(2 * pairs):
        cached = index % 2 == 0
        text = ON_SCREEN_QUESTIONS[(index // 2) % len(ON_SCREEN_QUESTIONS)]
        await poll_until(lambda: show.preparer.ready(show.product_id) and not show.answering, 60)
        if cached:
            show.speaker.answers = answers
        else:
            show.speaker.answers = None
            answer = await show.ops.brain.run(show.brain.respond, text, show.product_id)
            voice = show.speaker.voice_for(answer.language)
            voice.forget(line_pieces(answer.text))
        hits_before = answers.hits if answers is not None else 0
        count = len(show.answer_timings)
        show.submit_comment(f"bench-screen-{index}", "bench", text)
        if await poll_until(answered(show, count + 1), 15):
            timing = show.answer_timings[count]
            latencies["cached" if cached else "uncached"].append(
                (timing.first_audio_at - timing.received_at) * 1000
            )
        await poll_until(lambda: not show.answering, 30)
        if cached and answers is not None and answers.hits > hits_before:
            hits += 1
        show.speaker.answers = answers
        await asyncio.sleep(0.4 + 0.37 * (index % 5))  # lands at a varying point of a script sentence
    return {
        "cached_ms": percentiles(latencies["cached"]),
        "uncached_ms": percentiles(latencies["uncached"]),
        "cached_answers_played_from_cache": hits,
        "answer_cache": answers.stats() if answers is not None else None,
        "load_average_1_5_15": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
    }


def run_bench(
    *,
    scene: Path,
    width: int,
    height: int,
    fps: int,
    seconds: float,
    questions: int,
    llm: str | None = None,
    asr_model: str = "tiny.en",
    asr_engine: str = "whisper",
) -> dict[str, Any]:
    """The whole report."""
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.machine(),
        },
        "video": {"width": width, "height": height, "fps": fps},
    }
    report.update(bench_render(scene, width, height))
    # The render targets are per size: measure both ends of the supported range as well.
    report["render_ms_per_frame_by_size"] = {
        f"{w}x{h}": bench_render(scene, w, h, encode=False)["render_ms_per_frame"] for w, h in RENDER_SIZES
    }
    # The photo presenter (scenes/photo-demo), at the default size: a bounded 150 frames.
    report["photo_render_ms_per_frame"] = bench_render(PHOTO_SCENE, 640, 360, frames=150, encode=False)[
        "render_ms_per_frame"
    ]
    report.update(
        asyncio.run(
            bench_live(scene, width, height, fps, seconds, questions, llm, on_screen_questions=questions // 2)
        )
    )
    if llm and llm != "none":
        from avatar.brain.answer_bench import bench_answers

        report["answers_with_llm"] = asyncio.run(bench_answers(load_scene(scene), llm, questions))
    report["tts"] = bench_tts()
    report["listen"] = bench_listen_section(scene, asr_model, asr_engine)
    report["targets"] = {
        "chat_to_first_audio_p50_ms": 1000,
        "chat_on_screen_cached_p50_ms": 100,
        "render_p50_ms_at_640x360": 4,
        "photo_render_p50_ms_at_640x360": 4,
        "render_p50_ms_at_1280x720": 8,
        "idle_cpu_percent_of_one_core": 50,
        "speech_end_to_final_transcript_p50_ms": 1000,
        "speech_end_to_first_answer_audio_p50_ms": 500,
        "speech_end_to_first_answer_audio_p95_ms": 800,
    }
    return report


VIEWER_MODES: Final = {
    "direct": "shared encoder, each viewer's packets sent directly (header + SRTP + socket)",
    "aiortc": "shared encoder, each viewer's packets sent by aiortc's own RTP loop",
    "per-viewer": "aiortc encodes for each viewer (no sharing)",
}
SATURATED_LATE_PERCENT: Final = 50.0  # a mode this late at a count is not measured at higher ones


async def bench_viewers(
    scene_path: Path,
    width: int,
    height: int,
    fps: int,
    counts: list[int],
    seconds: float,
    *,
    modes: tuple[str, ...] = ("direct",),
    decode: int = 2,
) -> list[dict[str, Any]]:
    """CPU, late frames and delivery latency of a real show per viewer count and sending mode.

    The viewers are a load generator in a separate process (``avatar.web.load``), so their own
    decoding and RTP handling is not counted in the server's CPU (it is reported apart). Count 0 is
    always measured first: the show alone, the baseline for the added CPU per viewer. The shared
    modes ("direct", "aiortc") run on one show, taking turns at each count so that the machine's
    drift hits both alike; "per-viewer" needs a show without sharing and runs after them. A mode
    more than half late at a count (saturated) is skipped at the higher ones.
    """
    rows: list[dict[str, Any]] = []
    shared = tuple(m for m in modes if m != "per-viewer")
    for group in (shared, ("per-viewer",) if "per-viewer" in modes else ()):
        if group:
            rows += await _bench_viewer_show(scene_path, width, height, fps, counts, seconds, group, decode)
    return rows


async def _bench_viewer_show(
    scene_path: Path,
    width: int,
    height: int,
    fps: int,
    counts: list[int],
    seconds: float,
    modes: tuple[str, ...],
    decode: int,
) -> list[dict[str, Any]]:
    from aiohttp import web

    from avatar.web.app import VIEWERS_KEY, create_app
    from avatar.web.ice import use_loopback_only

    use_loopback_only()
    settings = load_settings(
        scene=scene_path,
        width=width,
        height=height,
        fps=fps,
        host="127.0.0.1",
        port=0,
        fanout=modes != ("per-viewer",),
        # Every load viewer comes from this machine's one address: the per-address limits would
        # measure the limiter, not the show.
        max_viewers=100_000,
        offers_per_minute=1_000_000,
    )
    show = LiveShow(load_scene(scene_path), settings)
    app = create_app(show)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    process = psutil.Process()
    rows: list[dict[str, Any]] = []
    saturated: dict[str, int] = {}
    try:
        await asyncio.sleep(3)  # the show warms up (first sentences, caches)
        baseline: float | None = None
        for count in [0, *[c for c in counts if c > 0]]:
            for mode in modes if count else ("show alone",):
                row: dict[str, Any] = {"viewers": count, "mode": mode}
                if mode in saturated:
                    rows.append({**row, "skipped": f"saturated at {saturated[mode]} viewers"})
                    continue
                hub = app[VIEWERS_KEY].fanout
                if hub is not None:
                    hub.direct = mode == "direct"
                load: asyncio.subprocess.Process | None = None
                load_proc: psutil.Process | None = None
                if count:
                    load = await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "avatar.web.load",
                        f"http://127.0.0.1:{port}",
                        "--viewers",
                        str(count),
                        "--seconds",
                        str(seconds),
                        "--decode",
                        str(min(decode, count)),
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                    )
                    load_proc = psutil.Process(load.pid)
                    await poll_until(lambda n=count: show.broadcaster.viewers >= n, 120, 0.1)  # type: ignore[misc]
                    await asyncio.sleep(3.5)  # the load generator's warm-up: first keyframes, ICE settled
                cpu_start, load_start = process.cpu_times(), load_proc.cpu_times() if load_proc else None
                dropped_start = show.programme.stats.dropped_frames
                began = time.monotonic()
                await asyncio.sleep(seconds - 1 if count else seconds)
                wall = time.monotonic() - began
                cpu_end = process.cpu_times()
                cpu = 100 * ((cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system)) / wall
                row["server_cpu_percent_of_one_core"] = round(cpu, 1)
                row["programme_dropped_frames"] = show.programme.stats.dropped_frames - dropped_start
                row["load_average_1min"] = round(os.getloadavg()[0], 2)
                if baseline is None:
                    baseline = cpu
                elif count:
                    row["added_cpu_percent_per_viewer"] = round((cpu - baseline) / count, 2)
                if load is not None and load_proc is not None and load_start is not None:
                    with contextlib.suppress(psutil.Error):
                        load_end = load_proc.cpu_times()
                        row["load_generator_cpu_percent"] = round(
                            100
                            * ((load_end.user - load_start.user) + (load_end.system - load_start.system))
                            / wall,
                            1,
                        )
                    if hub is not None:
                        row["encoders"] = hub.stats()["video_encoders"]
                        row["direct_tracks"] = hub.stats()["direct_tracks"]
                    out, _ = await asyncio.wait_for(load.communicate(), seconds + 120)
                    with contextlib.suppress(json.JSONDecodeError):
                        report = json.loads(out.decode() or "{}")
                        row.update({f"clients_{k}": v for k, v in report.items() if k != "viewers"})
                    if row.get("clients_late_percent", 0) > SATURATED_LATE_PERCENT:
                        saturated[mode] = count
                    await poll_until(lambda: show.broadcaster.viewers == 0, 30, 0.1)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)  # progress: the curve takes minutes
    finally:
        await runner.cleanup()
    return rows


def run_viewer_bench(
    *,
    scene: Path,
    width: int,
    height: int,
    fps: int,
    seconds: float,
    counts: list[int],
    modes: tuple[str, ...],
) -> dict[str, Any]:
    """The viewer-count curve of each sending mode (see :data:`VIEWER_MODES`) as a report."""
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.machine(),
        },
        "video": {"width": width, "height": height, "fps": fps},
        "modes": {mode: VIEWER_MODES[mode] for mode in modes},
        "viewers": asyncio.run(bench_viewers(scene, width, height, fps, counts, seconds, modes=modes)),
        "targets": {"viewers_at_2_cores": 150, "late_percent": 1, "added_cpu_percent_per_viewer": 0.4},
    }


ZH_LISTEN_CLIPS: Final = ("zh_fryer_price", "zh_tea_price", "zh_quilt_stock")
"""Spoken Chinese questions about scenes/demo-zh's products (scripts/make_speech_clips.py)."""
ZH_TARGET_FIRST_ANSWER_AUDIO_MS: Final = {"p50": 1500}  # issue 18: Chinese voice question -> answer


def bench_listen_section(
    scene: Path, asr_model: str = "tiny.en", asr_engine: str = "whisper"
) -> dict[str, Any]:
    """Voice questions: end of speech -> first answer audio split into endpoint, ASR final,
    understanding, first TTS audio and playout, turns ended on silence alone and on words side by
    side, and false cut-offs on the clips with pauses (needs the spoken clips of a source checkout).

    A Chinese scene is asked the Chinese clips by the multilingual model (tiny.en knows no Chinese;
    the clips with pauses are English, so no cut-offs there) and answers in its Mandarin voice."""
    from avatar.engines.asr import DEFAULT_MODEL, MULTILINGUAL_MODEL
    from avatar.listen.bench import bench_listen

    clips = Path(__file__).resolve().parents[1] / "tests" / "data"
    if not clips.is_dir():
        return {"skipped": f"no spoken clips at {clips}"}
    loaded = load_scene(scene)
    if loaded.language != "zh":
        return asyncio.run(bench_listen(loaded, clips, model=asr_model, engine=asr_engine))
    model = MULTILINGUAL_MODEL if asr_model == DEFAULT_MODEL else asr_model
    report = asyncio.run(
        bench_listen(loaded, clips, model=model, engine=asr_engine, clips=ZH_LISTEN_CLIPS, cutoffs=False)
    )
    report["target_first_answer_audio_ms"] = dict(ZH_TARGET_FIRST_ANSWER_AUDIO_MS)
    return report

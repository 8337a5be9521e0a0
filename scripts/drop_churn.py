"""Dead offers and dropped viewers, against a real ``avatar live`` on loopback: what they leave.

``python scripts/drop_churn.py [--offers 1000] [--dropped 1000] [--phases dead,dropped]`` starts
``avatar live --ice-loopback`` (as ``scripts/dead_offers.py`` does) and runs, in turn:

- **dead**: offers that never complete ICE (``dead_offers.py``'s patterns mixed: no candidates, a
  candidate nobody answers, the candidate of a client that has gone), 50 at a time, kept under the
  viewer cap; each is closed by the server's connect timeout.
- **dropped**: real viewers (the load client's :class:`~avatar.web.load.LoadViewer`: ICE, DTLS,
  SRTP, RTP, RTCP; half with the viewer page's chat data channel, ``--decode`` of each round
  decoding video) that connect, receive video, and then vanish without a goodbye: each round runs in
  a child process that is killed (``SIGKILL``: its sockets are gone, no DTLS close or SCTP ABORT,
  no RTCP BYE) or frozen (``SIGSTOP``: the network went silent; nothing answers, not even the
  kernel) and killed once the server has given up on it. The server notices only by ICE consent
  freshness (RFC 7675, ~30 s of unanswered checks).

One JSON line per step goes to stdout with the server's threads, open files and RSS (from /proc)
and its session counts (``/healthz``): ``idle`` (before anything), ``after first 50`` and then every
``--every`` of each phase, and the phase's ``end`` once the server has closed every session. The
last line is the summary against issue 20's targets: threads and open files back to the idle count
± 5, RSS within 50 MB of where it stood after the first 50.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))  # dead_offers, run as a script too
from dead_offers import free_port, offer_sdp, post, sample, start_show, variants  # noqa: E402

from avatar.web.load import LoadViewer  # noqa: E402

DEAD_BATCH = 50  # offers posted at once
FRAMES_BEFORE_DROP = 5  # complete video frames each viewer receives before it vanishes
FROZEN_KILL_AFTER_S = 60.0  # a frozen round is killed after this (the server gave up well before)


# --- a round of viewers (the child process) ------------------------------------------------------


async def viewers_round(url: str, count: int, decode: int) -> None:
    """Connect ``count`` viewers, say so on stdout once video arrives, then wait to be killed."""
    from avatar.web.ice import use_loopback_only

    use_loopback_only()
    viewers = [LoadViewer(url, decode=i < decode, chat=f"drop{i}" if i % 2 else None) for i in range(count)]
    # force_close: the offer's HTTP connection is not kept open to the server while we watch.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        results = await asyncio.gather(
            *(asyncio.wait_for(v.connect(http), 60) for v in viewers), return_exceptions=True
        )
    connected = [v for v, r in zip(viewers, results, strict=True) if not isinstance(r, BaseException)]
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        if all(v.stats.frames >= FRAMES_BEFORE_DROP for v in connected):
            break
        await asyncio.sleep(0.1)
    print(json.dumps({
        "connected": len(connected),
        "receiving": sum(1 for v in connected if v.stats.frames >= FRAMES_BEFORE_DROP),
        "decoded": sum(v.stats.decoded for v in connected),
        "errors": sorted({str(r)[:80] for r in results if isinstance(r, BaseException)}),
    }), flush=True)  # fmt: skip
    await asyncio.Event().wait()  # until killed: no close(), no goodbye


# --- the driver ----------------------------------------------------------------------------------


class Probe:
    """The server's process and HTTP endpoint, and the JSON lines written about them."""

    def __init__(self, process: psutil.Process, base: str, http: aiohttp.ClientSession) -> None:
        self.process = process
        self.base = base
        self.http = http
        self.began = time.monotonic()
        self.lines: list[dict[str, Any]] = []

    async def sessions(self) -> dict[str, int]:
        async with self.http.get(self.base + "/healthz") as response:
            counts: dict[str, int] = (await response.json())["sessions"]
            return counts

    async def report(self, step: str, **extra: Any) -> dict[str, Any]:
        line = {
            "step": step,
            "t_s": round(time.monotonic() - self.began, 1),
            **sample(self.process),
            "sessions": await self.sessions(),
            **extra,
        }
        self.lines.append(line)
        print(json.dumps(line), flush=True)
        return line

    async def open_sessions(self) -> int:
        counts = await self.sessions()
        return counts["connected"] + counts["connecting"]

    async def wait_closed(self, timeout_s: float) -> None:
        """Until the server holds no session (or ``timeout_s``), then a moment for transports."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not await self.open_sessions():
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(3.0)

    async def room_for(self, count: int, cap: int) -> None:
        """Wait until ``count`` more sessions fit under the server's cap."""
        while True:
            if await self.open_sessions() + count <= cap:
                return
            await asyncio.sleep(0.5)


async def dead_phase(probe: Probe, total: int, every: int, cap: int, connect_timeout_s: float) -> None:
    sdp, _ = await offer_sdp()
    offers = variants(sdp)
    mix = [offers["bare"], offers["candidates"], offers["closed"]]
    statuses: list[int] = []
    next_report = DEAD_BATCH
    while len(statuses) < total:
        batch = min(DEAD_BATCH, total - len(statuses))
        await probe.room_for(batch, cap)
        statuses += await asyncio.gather(
            *(post(probe.http, probe.base, mix[(len(statuses) + i) % len(mix)]) for i in range(batch))
        )
        if len(statuses) >= next_report:
            if next_report == DEAD_BATCH:  # the reference: the first 50, closed
                await probe.wait_closed(connect_timeout_s + 30)
                await probe.report("dead: after first 50", offers=len(statuses))
                next_report = max(every, 2 * DEAD_BATCH)
            else:
                await probe.report(f"dead: {len(statuses)} posted", offers=len(statuses))
                next_report += every
    await probe.wait_closed(connect_timeout_s + 60)
    await probe.report(
        "dead: end", offers=len(statuses), accepted=statuses.count(200), refused=statuses.count(503),
        other=len(statuses) - statuses.count(200) - statuses.count(503),
    )  # fmt: skip


class Rounds:
    """Child processes each holding a round of viewers, and how they are made to vanish."""

    def __init__(self, base: str, per_round: int, decode: int) -> None:
        self.base = base
        self.per_round = per_round
        self.decode = decode
        self.frozen: list[tuple[float, asyncio.subprocess.Process]] = []
        self.connected = self.receiving = self.failed = self.decoded = 0
        self.errors: set[str] = set()

    async def run(self, count: int, freeze: bool) -> None:
        """One round: connect, receive video, vanish."""
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "viewers", self.base,
            "--count", str(count), "--decode", str(self.decode), stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert child.stdout is not None
        try:
            line = await child.stdout.readline()
        except BaseException:  # interrupted while the round connects: it goes too
            child.kill()
            raise
        result = json.loads(line) if line.strip() else {"connected": 0, "receiving": 0, "decoded": 0}
        self.connected += result["connected"]
        self.receiving += result["receiving"]
        self.decoded += result["decoded"]
        self.failed += count - result["connected"]
        self.errors.update(result.get("errors", []))
        if freeze:
            child.send_signal(signal.SIGSTOP)
            self.frozen.append((time.monotonic() + FROZEN_KILL_AFTER_S, child))
        else:
            child.kill()
            await child.wait()
        await self.reap()

    async def reap(self, everyone: bool = False) -> None:
        """Kill the frozen rounds whose time has come."""
        keep: list[tuple[float, asyncio.subprocess.Process]] = []
        for when, child in self.frozen:
            if everyone or time.monotonic() >= when:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()
            else:
                keep.append((when, child))
        self.frozen = keep


async def dropped_phase(probe: Probe, total: int, every: int, cap: int, rounds: Rounds) -> None:
    done = 0
    next_report = 50
    round_no = 0
    try:
        while done < total:
            count = min(rounds.per_round, total - done)
            await probe.room_for(count, cap)
            await rounds.run(count, freeze=round_no % 2 == 1)
            round_no += 1
            done += count
            if done >= next_report:
                if next_report == 50:  # the reference: the first 50 dropped and closed
                    await rounds.reap(everyone=True)
                    await probe.wait_closed(120)
                    await probe.report("dropped: after first 50", viewers=done)
                    next_report = max(every, 100)
                else:
                    await probe.report(f"dropped: {done} gone", viewers=done)
                    next_report += every
        began = time.monotonic()
        await probe.wait_closed(120)
        closed_in = round(time.monotonic() - began, 1)
    finally:
        await rounds.reap(everyone=True)
    await probe.report(
        "dropped: end", viewers=done, connected=rounds.connected, receiving=rounds.receiving,
        failed=rounds.failed, decoded_frames=rounds.decoded, errors=sorted(rounds.errors),
        last_closed_after_s=closed_in,
    )  # fmt: skip


def verdict(lines: list[dict[str, Any]], phase: str, idle: dict[str, Any]) -> dict[str, Any]:
    first = next(x for x in lines if x["step"] == f"{phase}: after first 50")
    end = next(x for x in lines if x["step"] == f"{phase}: end")
    return {
        "phase": phase,
        "threads": [idle["threads"], first["threads"], end["threads"]],
        "open_files": [idle["open_files"], first["open_files"], end["open_files"]],
        "rss_mb": [idle["rss_mb"], first["rss_mb"], end["rss_mb"]],
        "rss_growth_after_first_50_mb": round(end["rss_mb"] - first["rss_mb"], 1),
        "threads_ok": abs(end["threads"] - idle["threads"]) <= 5,
        "open_files_ok": abs(end["open_files"] - idle["open_files"]) <= 5,
        "rss_ok": end["rss_mb"] - first["rss_mb"] <= 50.0,
    }


async def drive(args: argparse.Namespace) -> int:
    port = free_port()
    server = start_show(args.scene, port, args.connect_timeout)
    base = f"http://127.0.0.1:{port}"
    phases = args.phases.split(",")
    try:
        assert server.stdout is not None
        while "is live" not in server.stdout.readline():
            if server.poll() is not None:
                raise SystemExit("avatar live did not start")
        # Connections closed after each request: the server's open files are then its own.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            probe = Probe(psutil.Process(server.pid), base, http)
            await asyncio.sleep(args.settle)  # the show settles (speech model loaded, voices warm)
            idle = await probe.report("idle")
            cap = (await probe.sessions())["max"]
            for phase in phases:
                if phase == "dead":
                    await dead_phase(probe, args.offers, args.every, cap, args.connect_timeout)
                elif phase == "dropped":
                    rounds = Rounds(base, args.per_round, args.decode)
                    await dropped_phase(probe, args.dropped, args.every, cap, rounds)
                else:
                    raise SystemExit(f"unknown phase {phase!r} (dead, dropped)")
            summary = [verdict(probe.lines, phase, idle) for phase in phases]
            print(json.dumps({"step": "summary", "phases": summary}), flush=True)
    finally:
        server.terminate()  # a graceful stop: it closes what sessions are left first
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(60)
        if server.poll() is None:
            server.kill()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")
    child = commands.add_parser("viewers", help="(internal) one round of viewers, until killed")
    child.add_argument("url")
    child.add_argument("--count", type=int, required=True)
    child.add_argument("--decode", type=int, default=1)
    parser.add_argument("--offers", type=int, default=1000, help="never-connecting offers")
    parser.add_argument("--dropped", type=int, default=1000, help="connected-then-dropped viewers")
    parser.add_argument("--phases", default="dead,dropped")
    parser.add_argument("--per-round", type=int, default=25, help="viewers in one child process")
    parser.add_argument("--decode", type=int, default=2, help="viewers of each round that decode video")
    parser.add_argument("--every", type=int, default=200, help="a sample every so many offers/viewers")
    parser.add_argument("--connect-timeout", type=float, default=20.0)
    parser.add_argument("--scene", default="scenes/demo")
    parser.add_argument(
        "--settle",
        type=float,
        default=300.0,
        help="seconds of show before the first offer (its own caches fill for ~4 minutes)",
    )
    args = parser.parse_args()
    if args.command == "viewers":
        asyncio.run(viewers_round(args.url, args.count, args.decode))
        return 0
    return asyncio.run(drive(args))


if __name__ == "__main__":
    raise SystemExit(main())

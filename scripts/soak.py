"""Run the accelerated soak for longer than the test does and print its report as JSON.

    PYTHONPATH=. .venv/bin/python scripts/soak.py --minutes 60 > soak.json
    PYTHONPATH=. .venv/bin/python scripts/soak.py --live --minutes 240 --out soak/ > soak.json

Minutes are show minutes on a driven clock (see tests/soak.py); the report gives the real seconds
it took, RSS/objects/threads per show minute and the RSS slope in MB per show hour.

``--live`` is the wall-clock soak instead (tests/soak_live.py): ``avatar live``'s real show in its
own process for ``--minutes`` of real time, with churning WebRTC viewers, hostile chat and a fault
every two minutes; ``soak.csv`` (a row a minute) and ``soak.png`` go to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from avatar.brain.scene import load_scene
from tests.fakes import DEMO_SCENE
from tests.soak import MinuteSample, soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0, help="show minutes to run")
    parser.add_argument("--scene", type=Path, default=DEMO_SCENE)
    parser.add_argument("--live", action="store_true", help="the wall-clock soak of the real show")
    parser.add_argument("--out", type=Path, help="--live: folder for soak.csv and soak.png")
    parser.add_argument("--warmup-minutes", type=int, default=30, help="--live: minutes before the RSS fit")
    args = parser.parse_args()
    if args.live:
        from tests.soak_live import Minute, soak_live

        out = args.out or Path(tempfile.mkdtemp(prefix="avatar-soak-"))
        out.mkdir(parents=True, exist_ok=True)

        def row(minute: Minute) -> None:
            print(f"minute {minute.minute}: rss {minute.rss_mb} MB, threads {minute.threads}, "
                  f"files {minute.open_files}, stalls {minute.stalls}", file=sys.stderr)  # fmt: skip

        live = asyncio.run(soak_live(args.scene, out, args.minutes, on_minute=row))
        print(json.dumps({"out": str(out), **live.as_dict(args.warmup_minutes)}, indent=2))
        return 0

    def progress(sample: MinuteSample) -> None:
        print(
            f"minute {sample.minute}: rss {sample.rss_mb:.1f} MB, objects {sample.objects}", file=sys.stderr
        )

    with tempfile.TemporaryDirectory() as folder:
        report = asyncio.run(
            soak(
                load_scene(args.scene),
                Path(folder) / "soak.sqlite3",
                minutes=args.minutes,
                on_minute=progress,
            )
        )
    print(json.dumps(report.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

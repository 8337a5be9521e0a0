"""Run the accelerated soak for longer than the test does and print its report as JSON.

    PYTHONPATH=. .venv/bin/python scripts/soak.py --minutes 60 > soak.json

Minutes are show minutes on a driven clock (see tests/soak.py); the report gives the real seconds
it took, RSS/objects/threads per show minute and the RSS slope in MB per show hour.
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
    args = parser.parse_args()

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

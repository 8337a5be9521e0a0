"""Flood a running show's ingest API and report what the programme did (issue 19's target).

    AVATAR_INGEST_SECRET_FLOOD=... avatar live --scene scenes/demo --port 8099 --chat ingest:flood &
    AVATAR_INGEST_SECRET_FLOOD=... python scripts/chat_flood.py --port 8099 --rate 500 --seconds 60

Posts ``--rate`` comments a second (batches of 100, signed as the README shows) for ``--seconds``,
sampling ``/healthz`` each second, and prints JSON: programme fps over the flood (frames per second
of wall time), dropped frames, the largest queue depth seen, and how the ingest answered.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any


def _post(port: int, secret: str, body: bytes) -> dict[str, Any]:
    stamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/comments",
        data=body,
        headers={
            "X-Avatar-Source": "flood",
            "X-Avatar-Timestamp": stamp,
            "X-Avatar-Signature": f"sha256={signature}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as error:
        return {"http": error.code}


def _health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rate", type=int, default=500, help="comments per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    secret = os.environ["AVATAR_INGEST_SECRET_FLOOD"]
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + args.seconds
    batches = max(1, args.rate // 100)

    def sender(worker: int) -> None:
        sent = 0
        while time.monotonic() < stop:
            started = time.monotonic()
            comments = [
                {
                    "id": f"w{worker}-{sent}-{i}",
                    "user_id": f"u{worker}-{i % 50}",
                    "text": f"how much is the lamp {i}?",
                }
                for i in range(min(100, args.rate))
            ]
            sent += 1
            result = _post(args.port, secret, json.dumps({"comments": comments}).encode())
            with lock:
                if "http" in result:
                    statuses[f"http {result['http']}"] += len(comments)
                for item in result.get("results", []):
                    statuses[str(item.get("status"))] += 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    before, at = _health(args.port), time.monotonic()
    threads = [threading.Thread(target=sender, args=(w,)) for w in range(batches)]
    for thread in threads:
        thread.start()
    deepest = 0
    while time.monotonic() < stop:
        deepest = max(deepest, int(_health(args.port).get("queue_depth", 0)))
        time.sleep(1.0)
    for thread in threads:
        thread.join()
    after, took = _health(args.port), time.monotonic() - at
    report = {
        "seconds": round(took, 1),
        "comments_per_s_offered": args.rate,
        "programme_fps": round((after["frames"] - before["frames"]) / took, 2),
        "dropped_frames": after["dropped_frames"] - before["dropped_frames"],
        "max_queue_depth": deepest,
        "ingest": dict(statuses),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""End-to-end fixtures: a real `avatar live` process and a real headless Chromium viewer."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    # Real host addresses in ICE candidates instead of mDNS names aiortc cannot resolve.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--window-size=1280,900",
]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
            data: dict[str, Any] = json.load(response)
            return data

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def printed_token(self) -> str:
        """The operator token ``avatar live`` made up and printed (none was given)."""
        found = re.search(r"operator console \S+ token (\S+)", self.log())
        assert found, f"no operator token printed:\n{self.log()}"
        return found.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_live(*extra: str) -> LiveServer:
    port = free_port()
    log_path = Path(tempfile.mkstemp(prefix="avatar-live-", suffix=".log")[1])
    command = [sys.executable, "-m", "avatar.cli", "live", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--ice-loopback", *extra]
    if "--llm" not in extra:
        # These tests watch the viewer path; SmolLM2 loading and rewording the script would take one
        # of the machine's two cores next to Chromium. The model's own tests are in tests/engines.
        command += ["--llm", "none"]
    if "--database" not in extra:  # a fresh show each time: nothing resumed from an earlier run
        command += ["--database", str(Path(tempfile.mkdtemp(prefix="avatar-db-")) / "show.sqlite3")]
    process = subprocess.Popen(command, cwd=REPO, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"avatar live exited early:\n{server.log()}")
        try:
            # Ready once the speech model has loaded: its load takes a core for seconds, and the
            # tests measure the stream next to Chromium after that.
            if server.health()["listen"]["speech_model"] in {"ready", "off"}:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"avatar live did not come up:\n{server.log()}")


def stop_live(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    server = start_live()
    yield server
    stop_live(server)


def chromium_paths() -> tuple[str | None, str | None]:
    return shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def browser() -> Iterator[Any]:
    chromium, chromedriver = chromium_paths()
    require(chromium is not None and chromedriver is not None, "Debian chromium + chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium or ""
    profile = tempfile.mkdtemp(prefix="avatar-chromium-")
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something truthy, or fail saying ``what`` never happened."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


os.environ.setdefault("PYTHONUNBUFFERED", "1")

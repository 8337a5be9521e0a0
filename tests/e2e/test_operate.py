"""A real `avatar live` process: graceful stop on SIGTERM, restart from SQLite, SIGHUP reload, the
console token printed once, and the console API behind it.

Prints the restart recovery time (process start to /readyz with the saved product on air); it is
a number for the report, not an assertion (tests never check wall-clock speed).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, start_live, stop_live, wait_for

TOKEN = "e2e-operator-token"


def call(server: LiveServer, path: str, body: object | None = None, token: str = TOKEN) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{server.url}{path}", data=data, method="POST" if data else "GET")
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def ready(server: LiveServer) -> bool:
    try:
        with urllib.request.urlopen(f"{server.url}/readyz", timeout=5) as response:
            return response.status == 200
    except (urllib.error.HTTPError, OSError):
        return False


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigterm_saves_the_show_and_a_restart_resumes_it(tmp_path: Path) -> None:
    database = tmp_path / "show.sqlite3"
    server = start_live("--database", str(database), "--operator-token", TOKEN)
    try:
        wait_for(lambda: ready(server), 60, "the show to be ready")
        assert call(server, "/console/api/state", token="forged")[0] == 401
        status, state = call(server, "/console/api/state")
        assert status == 200
        target = state["products"][-1]["id"]
        assert target != state["current_product"]
        assert call(server, "/console/api/product", {"id": target})[0] == 200
        wait_for(lambda: server.health()["current_product"] == target, 30, "the product switch")
        server.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "scene reloaded" in server.log(), 20, "the SIGHUP reload")
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(20) == 0, server.log()
        assert "saving the show state" in server.log()
    finally:
        if server.process.poll() is None:
            stop_live(server)

    began = time.monotonic()
    again = start_live("--database", str(database))  # no token given: one is generated and printed
    try:
        wait_for(lambda: ready(again) and again.health()["current_product"] == target, 60, "the resumed show")
        recovery_s = time.monotonic() - began
        print(f"\nrestart recovery: {recovery_s:.1f} s from process start to /readyz with the saved product")
        log = again.log()
        assert "resumed: product " + target in log
        printed = re.findall(r"operator console \S+ token (\S+)", log)
        assert len(printed) == 1, "the generated token is printed once"
        assert call(again, "/console/api/state", token=printed[0])[0] == 200
        assert call(again, "/console/api/state", token=TOKEN)[0] == 401
        assert log.count(printed[0]) == 1, "and never logged again"
    finally:
        stop_live(again)
    assert again.process.returncode == 0 or again.process.returncode == -signal.SIGTERM


def test_live_refuses_a_bad_retention_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "avatar.cli", "live", "--retention-days", "0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "retention_days" in result.stderr


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_operator_signs_in_sees_the_show_and_pauses_it_in_chromium(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    server = start_live("--operator-token", TOKEN)
    try:
        wait_for(lambda: ready(server), 60, "the show to be ready")
        browser.get(server.url + "/console")
        assert "Operator console" in browser.page_source and "Question queue" not in browser.page_source
        browser.find_element(By.NAME, "token").send_keys("wrong")
        browser.find_element(By.TAG_NAME, "form").submit()
        wait_for(lambda: "Wrong token" in browser.page_source, 10, "the wrong token to be refused")
        browser.find_element(By.NAME, "token").send_keys(TOKEN)
        browser.find_element(By.TAG_NAME, "form").submit()
        wait_for(lambda: "Question queue" in browser.page_source, 10, "the console")
        wait_for(
            lambda: "programme" in browser.find_element(By.ID, "stages").text, 15, "stage health over the ws"
        )
        wait_for(
            lambda: browser.execute_script("return document.getElementById('preview').naturalWidth") == 640,
            15,
            "the live preview",
        )
        browser.find_element(By.ID, "pause").click()
        wait_for(lambda: server.health()["paused"], 10, "the host to pause")
        wait_for(lambda: "Resume host" in browser.find_element(By.ID, "pause").text, 10, "the button to flip")
        browser.find_element(By.ID, "pause").click()
        wait_for(lambda: not server.health()["paused"], 10, "the host to resume")
        browser.get(server.url + "/console/analytics")
        wait_for(lambda: "questions ·" in browser.find_element(By.ID, "totals").text, 15, "analytics totals")
        # The charts are pictures drawn on the server (matplotlib): each one loads and has a size.
        charts = "return [...document.querySelectorAll('img[data-chart]')]"
        assert browser.execute_script(charts + ".length") >= 5
        wait_for(
            lambda: browser.execute_script(charts + ".every((i) => i.complete && i.naturalWidth > 300)"),
            30,
            "the analytics charts",
        )
        assert browser.find_elements(By.CSS_SELECTOR, "#products tbody")
        # A viewer page in the same browser has no access: the cookie is scoped to /console.
        browser.get(server.url + "/")
        status = browser.execute_script(
            "const r = new XMLHttpRequest(); r.open('GET', '/console/api/state', false);"
            " r.setRequestHeader('Authorization', 'Bearer forged'); r.send(); return r.status;"
        )
        assert status == 401
    finally:
        stop_live(server)

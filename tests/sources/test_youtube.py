"""YouTube Live chat against a local HTTP server serving recorded API responses in the documented
format: paging, missing fields, a quota error, a chat that ends, missing credentials."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from avatar.sources import youtube
from avatar.sources.hub import SourceHub
from avatar.sources.youtube import YouTubeChat, YouTubeConfig
from tests.fakes import wait_until
from tests.sources.test_twitch import Submitted

RECORDED = Path(__file__).parents[1] / "data" / "youtube"


def recorded(name: str) -> object:
    return json.loads((RECORDED / name).read_text())


@dataclass
class FakeApi:
    """Serves recorded responses in order (the last one again once they run out)."""

    replies: list[tuple[int, object]]
    requests: list[dict[str, str]] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    videos: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def messages(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.query))
        self.auth.append(request.headers.get("Authorization"))
        status, body = self.replies[min(len(self.requests) - 1, len(self.replies) - 1)]
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, content_type="application/json")
        return web.json_response(body, status=status)

    async def video(self, request: web.Request) -> web.Response:
        self.videos.append(dict(request.query))
        return web.json_response(recorded("video_live.json"))


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeApi]:
    monkeypatch.setenv("YOUTUBE_API_KEY", "test-key")
    monkeypatch.delenv("YOUTUBE_OAUTH_TOKEN", raising=False)
    fake = FakeApi([])
    app = web.Application()
    app.router.add_get("/youtube/v3/liveChat/messages", fake.messages)
    app.router.add_get("/youtube/v3/videos", fake.video)
    server = TestServer(app)
    await server.start_server()
    fake.url = str(server.make_url("/youtube/v3"))
    yield fake
    await server.close()


def chat(api: FakeApi, **kwargs: object) -> YouTubeChat:
    return YouTubeChat(
        YouTubeConfig(**{"live_chat_id": "CHAT-1", "api_base": api.url, "min_poll_s": 0.0, **kwargs})
    )  # type: ignore[arg-type]


async def test_pages_are_followed_history_skipped_and_bad_items_counted(api: FakeApi) -> None:
    api.replies = [
        (200, recorded("history.json")),
        (200, recorded("page1.json")),
        (200, recorded("page2_no_items.json")),
        (200, recorded("page3_offline.json")),
    ]
    source, submitted = chat(api), Submitted()
    hub = SourceHub([source], submitted)
    hub.start()
    try:
        state = hub.states["youtube:CHAT-1"]
        await wait_until(lambda: state.state == "ended", 5, "the chat to end")
    finally:
        await hub.stop()
    assert submitted.items == [
        ("youtube:UC-ann", "Ann", "how much is the lamp?", "youtube"),
        ("youtube:UC-bo", "Bo", "does the bag come in black?", "youtube"),
        ("youtube:UC-dee", "UC-dee", "no author details, still a question?", "youtube"),
        ("youtube:UC-ann", "Ann", "bye!", "youtube"),
    ]
    assert [r.get("pageToken") for r in api.requests] == [None, "PAGE-1", "PAGE-2", "PAGE-3"]
    assert all(r["key"] == "test-key" and r["liveChatId"] == "CHAT-1" for r in api.requests)
    assert source.malformed == 2  # the item without an author and the item that is not an object
    assert state.failures == 0 and "offline" in (state.last_error or "")
    assert hub.health()["sources"]["youtube:CHAT-1"]["state"] == "ended"


async def test_a_quota_error_waits_long_then_resumes_where_it_stopped(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.replies = [
        (200, recorded("history.json")),
        (403, recorded("quota_exceeded.json")),
        (200, recorded("page1.json")),
        (403, recorded("chat_ended.json")),
    ]
    monkeypatch.setattr(youtube, "QUOTA_RETRY_S", 0.3)  # 15 minutes in a real show
    source, submitted = chat(api), Submitted()
    hub = SourceHub([source], submitted)
    hub.start()
    try:
        state = hub.states["youtube:CHAT-1"]
        await wait_until(lambda: state.state == "retrying", 5, "the quota error")
        assert "quotaExceeded" in (state.last_error or "") and (state.retry_in_s or 0) >= 0.3
        await wait_until(lambda: state.state == "ended", 5, "the chat to end")
    finally:
        await hub.stop()
    # The page after the quota error was asked for with the token from before it: nothing lost.
    assert [r.get("pageToken") for r in api.requests] == [None, "PAGE-1", "PAGE-1", "PAGE-2"]
    assert [item[2] for item in submitted.items][:2] == [
        "how much is the lamp?",
        "does the bag come in black?",
    ]
    assert state.failures == 1


async def test_a_video_id_is_resolved_to_its_chat(api: FakeApi) -> None:
    api.replies = [(200, recorded("history.json")), (403, recorded("chat_ended.json"))]
    source = chat(api, live_chat_id=None, video_id="VIDEO-1")
    hub = SourceHub([source], Submitted())
    hub.start()
    try:
        await wait_until(lambda: hub.states[source.name].state == "ended", 5, "the chat to end")
    finally:
        await hub.stop()
    assert api.videos[0]["id"] == "VIDEO-1" and api.videos[0]["part"] == "liveStreamingDetails"
    assert api.requests[0]["liveChatId"] == "CHAT-1"


async def test_garbage_and_missing_credentials_are_retried_with_a_clear_error(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.replies = [(200, b"<html>gateway</html>")]
    source = chat(api)
    hub = SourceHub([source], Submitted())
    hub.start()
    try:
        state = hub.states[source.name]
        await wait_until(lambda: state.state == "retrying", 5, "the bad response")
        assert "not JSON" in (state.last_error or "") and source.malformed == 1
    finally:
        await hub.stop()
    monkeypatch.delenv("YOUTUBE_API_KEY")
    source = chat(api)
    hub = SourceHub([source], Submitted())
    hub.start()
    try:
        state = hub.states[source.name]
        await wait_until(lambda: state.state == "retrying", 5, "the credentials error")
        assert "YOUTUBE_API_KEY" in (state.last_error or "") and (state.retry_in_s or 0) >= 60
    finally:
        await hub.stop()


async def test_an_oauth_token_is_sent_as_a_bearer_token(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YOUTUBE_OAUTH_TOKEN", "ya29.test-token")
    api.replies = [(200, recorded("history.json")), (403, recorded("chat_ended.json"))]
    source = chat(api)
    hub = SourceHub([source], Submitted())
    hub.start()
    try:
        await wait_until(lambda: hub.states[source.name].state == "ended", 5, "the chat to end")
    finally:
        await hub.stop()
    assert api.auth == ["Bearer ya29.test-token"] * 2
    assert all("key" not in r for r in api.requests)  # the token wins over the key

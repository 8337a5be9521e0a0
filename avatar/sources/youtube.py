"""YouTube Live chat: polling the Data API's ``liveChatMessages.list``.

The first request returns recent history; each response says when to ask again
(``pollingIntervalMillis``) and from where (``nextPageToken``). The first page is history from
before the show started and is skipped; the page token survives a reconnect, so comments posted
while a request failed are read afterwards, not lost. A quota error waits long before retrying
(each request costs quota); ``offlineAt`` or ``liveChatEnded`` end the source for good.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

from avatar.sources.base import ChatEnded, Emit, PlatformComment, SourceError

log = logging.getLogger(__name__)

API_BASE: Final = "https://www.googleapis.com/youtube/v3"
KEY_ENV: Final = "YOUTUBE_API_KEY"
TOKEN_ENV: Final = "YOUTUBE_OAUTH_TOKEN"
DEFAULT_POLL_MS: Final = 5000
QUOTA_RETRY_S: Final = 900.0  # the daily quota is spent: asking again soon only spends nothing twice
RATE_RETRY_S: Final = 30.0
AUTH_RETRY_S: Final = 300.0
REQUEST_TIMEOUT_S: Final = 15.0
SEEN_IDS: Final = 5000
CHAT_TYPES: Final = ("textMessageEvent", "superChatEvent", "superStickerEvent")


@dataclass(frozen=True)
class YouTubeConfig:
    """Which chat to read (its live chat id, or the live video's id) and how to reach the API."""

    live_chat_id: str | None = None
    video_id: str | None = None
    api_base: str = API_BASE
    key_env: str = KEY_ENV  # environment variable with an API key (public chats)
    token_env: str = TOKEN_ENV  # or with an OAuth 2.0 access token
    min_poll_s: float = 1.0  # never poll faster than this, whatever the API says


def _reason(body: object) -> str:
    """The first ``error.errors[].reason`` of a Google API error body ("" when absent)."""
    if isinstance(body, dict) and isinstance(error := body.get("error"), dict):
        errors = error.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("reason", ""))
        return str(error.get("status", ""))
    return ""


def read_message(item: object) -> tuple[str, str, str, str] | None:
    """``(id, author_id, name, text)`` of a chat item; None for items that are not chat text.

    Raises ValueError for an item missing what a chat message must have.
    """
    if not isinstance(item, dict):
        raise ValueError("item is not an object")
    snippet = item.get("snippet")
    if not isinstance(snippet, dict):
        raise ValueError("item has no snippet")
    kind = snippet.get("type")
    if kind == "chatEndedEvent":
        raise ChatEnded("YouTube ended the live chat")
    if kind not in CHAT_TYPES:
        return None  # memberships, polls, deletions...: not questions for the host
    details = snippet.get("textMessageDetails")
    text = details.get("messageText") if isinstance(details, dict) else None
    if not isinstance(text, str):
        super_chat = snippet.get("superChatDetails")
        text = super_chat.get("userComment") if isinstance(super_chat, dict) else None
    if not isinstance(text, str):
        text = snippet.get("displayMessage")
    author = item.get("authorDetails")
    author = author if isinstance(author, dict) else {}
    author_id = author.get("channelId") or snippet.get("authorChannelId")
    if not isinstance(author_id, str) or not author_id:
        raise ValueError("message has no author channel id")
    if not isinstance(text, str) or not text.strip():
        if kind == "textMessageEvent":
            raise ValueError("text message has no text")
        return None  # a super sticker or a super chat without words
    name = author.get("displayName")
    message_id = item.get("id")
    return (
        message_id if isinstance(message_id, str) else f"{author_id}:{snippet.get('publishedAt')}:{text}",
        author_id,
        name if isinstance(name, str) and name.strip() else author_id,
        text,
    )


class YouTubeChat:
    """A :class:`~avatar.sources.base.CommentSource` polling one YouTube live chat."""

    platform = "youtube"

    def __init__(self, config: YouTubeConfig) -> None:
        if not config.live_chat_id and not config.video_id:
            raise ValueError("a YouTube chat needs live_chat_id or video_id")
        self.config = config
        self.name = f"youtube:{config.live_chat_id or config.video_id}"
        self.malformed = 0
        self.connected = False
        self.live_chat_id = config.live_chat_id
        self.page_token: str | None = None  # kept across reconnects: nothing posted meanwhile is lost
        self.polls = 0
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()

    def _auth(self) -> tuple[dict[str, str], dict[str, str]]:
        key = os.environ.get(self.config.key_env, "").strip()
        token = os.environ.get(self.config.token_env, "").strip()
        if token:
            return {"Authorization": f"Bearer {token}"}, {}
        if key:
            return {}, {"key": key}
        raise SourceError(
            f"no credentials: set ${self.config.key_env} (API key) or ${self.config.token_env}",
            retry_after_s=AUTH_RETRY_S,
        )

    async def run(self, emit: Emit) -> None:
        """Poll until the chat ends (raises :class:`ChatEnded`) or a request fails (raises)."""
        headers, params = self._auth()
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        try:
            async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
                if self.live_chat_id is None:
                    self.live_chat_id = await self._resolve(session, params)
                while True:
                    wait_s = await self._poll(session, params, emit)
                    await asyncio.sleep(max(self.config.min_poll_s, wait_s))
        finally:
            self.connected = False

    async def _get(self, session: aiohttp.ClientSession, path: str, params: dict[str, str]) -> Any:
        url = f"{self.config.api_base.rstrip('/')}/{path}"
        try:
            async with session.get(url, params=params) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise SourceError(f"cannot reach the YouTube API: {error or type(error).__name__}") from error
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
            if status == 200:
                self.malformed += 1
                raise SourceError("the YouTube API answered with something that is not JSON") from None
        if status == 200:
            return body
        reason = _reason(body)
        message = f"YouTube API {status} {reason or 'error'}"
        if reason in {"liveChatEnded"}:
            raise ChatEnded("YouTube says the live chat has ended")
        if reason in {"quotaExceeded", "dailyLimitExceeded"}:
            raise SourceError(f"{message}: the API quota is spent", retry_after_s=QUOTA_RETRY_S)
        if reason in {"rateLimitExceeded", "userRateLimitExceeded"} or status == 429:
            raise SourceError(message, retry_after_s=RATE_RETRY_S)
        if reason in {"liveChatNotFound", "liveChatDisabled"}:
            raise SourceError(f"{message}: check the chat id", fatal=True)
        if status in {400, 401, 403}:
            raise SourceError(f"{message}: check the credentials", retry_after_s=AUTH_RETRY_S)
        raise SourceError(message)

    async def _resolve(self, session: aiohttp.ClientSession, params: dict[str, str]) -> str:
        """The live chat id of ``video_id`` (videos.list, liveStreamingDetails)."""
        body = await self._get(
            session, "videos", {**params, "part": "liveStreamingDetails", "id": str(self.config.video_id)}
        )
        items = body.get("items") if isinstance(body, dict) else None
        video = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else None
        if video is None:
            raise SourceError(f"no video {self.config.video_id!r}", fatal=True)
        details = video.get("liveStreamingDetails")
        details = details if isinstance(details, dict) else {}
        chat = details.get("activeLiveChatId")
        if isinstance(chat, str) and chat:
            return chat
        if details.get("actualEndTime"):
            raise ChatEnded("the live video has ended")
        raise SourceError(
            f"video {self.config.video_id!r} has no live chat (not live yet?)", retry_after_s=60.0
        )

    async def _poll(self, session: aiohttp.ClientSession, params: dict[str, str], emit: Emit) -> float:
        """One request; emits its new comments; returns the seconds to wait before the next."""
        query = {**params, "liveChatId": str(self.live_chat_id), "part": "snippet,authorDetails"}
        if self.page_token:
            query["pageToken"] = self.page_token
        body = await self._get(session, "liveChat/messages", query)
        delivered = time.perf_counter()
        self.connected = True
        if not isinstance(body, dict):
            self.malformed += 1
            raise SourceError("the YouTube API answered with a non-object")
        first_page = self.page_token is None and self.polls == 0
        self.polls += 1
        items = body.get("items")
        if not isinstance(items, list):
            items = []  # a page with no messages may leave the list out
        ended: ChatEnded | None = None
        for item in items:
            try:
                message = read_message(item)
            except ChatEnded as end:
                ended = end
                continue
            except ValueError as error:
                self.malformed += 1
                log.warning("%s: skipped a chat item (%s)", self.name, error)
                continue
            if message is None:
                continue
            message_id, author_id, name, text = message
            if message_id in self._seen:
                continue
            self._seen[message_id] = None
            while len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
            if not first_page:  # the first page is history from before the show
                emit(PlatformComment(self.platform, author_id, name, text, delivered))
        token = body.get("nextPageToken")
        if isinstance(token, str) and token:
            self.page_token = token
        if ended is not None:
            raise ended
        if body.get("offlineAt"):
            raise ChatEnded(f"the stream went offline at {body['offlineAt']}")
        interval = body.get("pollingIntervalMillis")
        if not isinstance(interval, int | float) or isinstance(interval, bool) or interval < 0:
            interval = DEFAULT_POLL_MS
        return float(interval) / 1000

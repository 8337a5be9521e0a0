"""Twitch chat over IRC (IRCv3 tags, optional TLS, PING/PONG, the server's RECONNECT).

Twitch's chat is IRC: log in (anonymously as ``justinfanNNNN`` when no token is set; reading public
chat needs none), ask for the ``twitch.tv/tags`` capability so each message carries the author's
``user-id`` and ``display-name``, join ``#channel`` and read PRIVMSGs. Lines are parsed with
``irctokens``; a line that cannot be parsed or is longer than IRC allows (8 KB with tags) is
skipped and counted, never the end of the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from irctokens.line import Line, build, tokenise

from avatar.sources.base import Emit, PlatformComment, SourceError

log = logging.getLogger(__name__)

TWITCH_HOST: Final = "irc.chat.twitch.tv"
MAX_LINE_BYTES: Final = 8192 + 512  # IRCv3: 8191 bytes of tags + the 512-byte message
CONNECT_TIMEOUT_S: Final = 10.0
IDLE_S: Final = 360.0  # Twitch pings about every 5 minutes: this long silent, we ping it
PONG_WAIT_S: Final = 15.0
TOKEN_ENV: Final = "TWITCH_OAUTH_TOKEN"
NICK_ENV: Final = "TWITCH_NICK"


@dataclass(frozen=True)
class TwitchConfig:
    """Where and as whom to read a channel's chat."""

    channel: str  # without '#'
    host: str = TWITCH_HOST
    port: int | None = None  # default 6697 with TLS, 6667 without
    tls: bool = True
    ca_file: str | None = None  # trust this CA too (a self-hosted IRC server's certificate)
    token_env: str = TOKEN_ENV  # environment variable holding "oauth:..." (unset: anonymous)
    nick_env: str = NICK_ENV


def parse_privmsg(line: Line, channel: str) -> tuple[str, str, str] | None:
    """``(user_id, name, text)`` of a chat message to ``#channel``, or None for anything else.

    Without tags (a plain IRC server) the author's nick stands in for both id and name.
    """
    if line.command != "PRIVMSG" or len(line.params) < 2 or line.params[0].lower() != f"#{channel}":
        return None
    nick = line.hostmask.nickname if line.source else ""
    tags = line.tags or {}
    user_id = tags.get("user-id") or nick
    name = tags.get("display-name") or nick
    text = line.params[1]
    if text.startswith("\x01ACTION ") and text.endswith("\x01"):  # "/me waves": the action is the text
        text = text[8:-1]
    elif text.startswith("\x01"):  # other CTCP requests are not chat
        return None
    if not user_id:
        return None
    return user_id, name, text


async def read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next line without its CR LF; None for a line over the reader's limit (skipped whole).

    Raises :class:`SourceError` when the server closes the connection.
    """
    try:
        return (await reader.readuntil(b"\n")).rstrip(b"\r\n")
    except asyncio.IncompleteReadError as error:
        raise SourceError("the IRC server closed the connection") from error
    except asyncio.LimitOverrunError as error:
        # The overlong line stays in the buffer: drop it up to and including its newline.
        consumed = error.consumed
        while True:
            try:
                await reader.readexactly(consumed)
                await reader.readuntil(b"\n")
                return None
            except asyncio.LimitOverrunError as more:
                consumed = more.consumed
            except asyncio.IncompleteReadError as closed:
                raise SourceError("the IRC server closed the connection") from closed


class TwitchChat:
    """A :class:`~avatar.sources.base.CommentSource` reading one Twitch channel's chat."""

    platform = "twitch"

    def __init__(self, config: TwitchConfig) -> None:
        self.config = config
        self.channel = config.channel.lstrip("#").lower()
        self.name = f"twitch:#{self.channel}"
        self.malformed = 0
        self.connected = False

    async def run(self, emit: Emit) -> None:
        """Connect, log in, join and read until the connection fails (raises)."""
        config = self.config
        port = config.port or (6697 if config.tls else 6667)
        context = ssl.create_default_context(cafile=config.ca_file) if config.tls else None
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                reader, writer = await asyncio.open_connection(
                    config.host, port, ssl=context, limit=MAX_LINE_BYTES
                )
        except (OSError, TimeoutError) as error:  # ssl.SSLError (a certificate refused) is an OSError
            raise SourceError(f"cannot connect to {config.host}:{port}: {error or 'timed out'}") from error
        try:
            await self._session(reader, writer, emit)
        finally:
            self.connected = False
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await writer.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, emit: Emit) -> None:
        token = os.environ.get(self.config.token_env, "").strip()
        nick = os.environ.get(self.config.nick_env, "").strip().lower() if token else ""
        nick = nick or f"justinfan{random.randint(10_000, 99_999)}"  # Twitch's anonymous read-only login

        def send(*parts: str) -> None:
            writer.write(build(parts[0], list(parts[1:])).format().encode() + b"\r\n")

        send("CAP", "REQ", "twitch.tv/tags twitch.tv/commands")
        if token:
            send("PASS", token if token.startswith("oauth:") else f"oauth:{token}")
        send("NICK", nick)
        send("USER", nick, "0", "*", nick)  # Twitch ignores it; a plain IRC server needs it
        await writer.drain()
        pinged = False
        while True:
            try:
                async with asyncio.timeout(PONG_WAIT_S if pinged else IDLE_S):
                    raw = await read_line(reader)
            except TimeoutError as error:
                if pinged:
                    raise SourceError("the IRC server stopped answering") from error
                send("PING", "avatar")
                await writer.drain()
                pinged = True
                continue
            delivered = time.perf_counter()
            pinged = False
            if raw is None:
                self.malformed += 1
                log.warning("%s: skipped a line longer than %d bytes", self.name, MAX_LINE_BYTES)
                continue
            if not raw.strip():
                continue
            try:
                line = tokenise(raw)
            except (ValueError, IndexError, UnicodeDecodeError) as error:
                self.malformed += 1
                log.warning("%s: skipped an unreadable line (%s): %r", self.name, error, raw[:120])
                continue
            await self._handle(line, send, emit, delivered)
            await writer.drain()

    async def _handle(self, line: Line, send: Callable[..., None], emit: Emit, delivered: float) -> None:
        command = line.command
        if command == "PING":
            send("PONG", *line.params)
        elif command == "CAP" and len(line.params) >= 2 and line.params[1] in {"ACK", "NAK"}:
            send("CAP", "END")  # tags granted (Twitch) or refused (a plain server): register either way
        elif command == "001":
            send("JOIN", f"#{self.channel}")
        elif (
            command in {"JOIN", "ROOMSTATE"} and line.params and line.params[0].lower() == f"#{self.channel}"
        ):
            if not self.connected:
                log.info("%s: joined", self.name)
            self.connected = True
        elif command == "RECONNECT":  # Twitch is restarting this server: connect again
            raise SourceError("the server asked us to reconnect", retry_after_s=0.0)
        elif command == "NOTICE" and line.params and "authentication failed" in line.params[-1].lower():
            raise SourceError(f"login refused: {line.params[-1]} (check ${self.config.token_env})")
        elif command in {"464", "465", "ERROR"}:  # bad password, banned, or the server closing on us
            raise SourceError(f"the IRC server refused us: {' '.join(line.params)[:200]}")
        elif command == "PRIVMSG":
            try:
                message = parse_privmsg(line, self.channel)
            except ValueError:  # an unreadable source prefix
                message = None
                self.malformed += 1
            if message is not None:
                user_id, name, text = message
                emit(PlatformComment(self.platform, user_id, name, text, delivered))

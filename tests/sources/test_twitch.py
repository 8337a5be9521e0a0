"""Twitch chat against a real IRC server (ngircd started by the tests) and its line parsing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import irctokens
import pytest

from avatar.sources.base import PlatformComment
from avatar.sources.hub import SourceHub
from avatar.sources.twitch import MAX_LINE_BYTES, TwitchChat, TwitchConfig, parse_privmsg, read_line
from tests.fakes import wait_until
from tests.sources.ircd import IrcClient, irc_server

TAGGED = (
    "@badge-info=;badges=;color=#1E90FF;display-name=Ali\\sCe;emotes=;id=abc;mod=0;room-id=1;"
    "subscriber=0;tmi-sent-ts=1700000000000;turbo=0;user-id=424242;user-type= "
    ":alice!alice@alice.tmi.twitch.tv PRIVMSG #shop :how much is the lamp?"
)


class Submitted:
    """Records what reached the show's triage."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, str]] = []

    def __call__(self, viewer_id: str, name: str, text: str, platform: str) -> str:
        self.items.append((viewer_id, name, text, platform))
        return "accepted"


def test_tags_give_the_authors_id_and_display_name() -> None:
    line = irctokens.tokenise(TAGGED)
    assert parse_privmsg(line, "shop") == ("424242", "Ali Ce", "how much is the lamp?")
    assert parse_privmsg(line, "other") is None  # another channel's message is not ours


def test_broken_tags_and_plain_irc_still_read_or_are_skipped() -> None:
    # A tag without '=' or with a dangling escape: the message is still readable, the id falls back.
    broken = irctokens.tokenise("@user-id;display-name=Bob\\ :bob!b@h PRIVMSG #shop :hi there")
    assert parse_privmsg(broken, "shop") == ("bob", "Bob", "hi there")
    plain = irctokens.tokenise(":carol!c@h PRIVMSG #shop :\x01ACTION waves\x01")
    assert parse_privmsg(plain, "shop") == ("carol", "carol", "waves")
    assert parse_privmsg(irctokens.tokenise(":d!d@h PRIVMSG #shop :\x01VERSION\x01"), "shop") is None
    for bad in (b"@a=b", b"@a=b ", b":only.a.source"):
        with pytest.raises((ValueError, IndexError)):
            irctokens.tokenise(bad)


async def test_an_overlong_line_is_skipped_and_the_next_one_read() -> None:
    reader = asyncio.StreamReader(limit=MAX_LINE_BYTES)
    reader.feed_data(b"PING :a\r\n" + b"@" + b"x" * (3 * MAX_LINE_BYTES) + b" PRIVMSG #c :big\r\nPING :b\r\n")
    reader.feed_eof()
    assert await read_line(reader) == b"PING :a"
    assert await read_line(reader) is None
    assert await read_line(reader) == b"PING :b"


async def _run(source: TwitchChat, submitted: Submitted) -> SourceHub:
    hub = SourceHub([source], submitted)
    hub.start()
    await wait_until(lambda: source.connected, 10, "the source to join")
    return hub


async def test_chat_from_a_real_irc_server_reaches_triage(tmp_path: Path) -> None:
    with irc_server(tmp_path) as server:
        source = TwitchChat(TwitchConfig("Shop", host="127.0.0.1", port=server.port, tls=False))
        submitted = Submitted()
        hub = await _run(source, submitted)
        try:
            async with IrcClient(server.port, "viewer1") as client:
                await client.join("shop")
                await client.wait_for_member("shop", "justinfan")
                client.send("PRIVMSG #shop :how much is the lamp?", "PRIVMSG #other :not here")
                client.send("PRIVMSG #shop :\x01ACTION likes the bag\x01")
                await wait_until(lambda: len(submitted.items) >= 2, 5, "two comments")
            assert submitted.items == [
                ("twitch:viewer1", "viewer1", "how much is the lamp?", "twitch"),
                ("twitch:viewer1", "viewer1", "likes the bag", "twitch"),
            ]
            health = hub.health()
            assert health["sources"]["twitch:#shop"]["state"] == "running"
            assert health["sources"]["twitch:#shop"]["accepted"] == 2
            assert health["latency_p50_ms"] is not None
        finally:
            await hub.stop()


async def test_a_server_that_goes_away_is_shown_and_reconnected(tmp_path: Path) -> None:
    with irc_server(tmp_path) as server:
        source = TwitchChat(TwitchConfig("shop", host="127.0.0.1", port=server.port, tls=False))
        submitted = Submitted()
        hub = await _run(source, submitted)
        try:
            server.stop()
            state = hub.states["twitch:#shop"]
            await wait_until(lambda: state.state == "retrying", 5, "the retry")
            assert state.failures >= 1 and state.last_error
            assert hub.health()["sources"]["twitch:#shop"]["state"] == "retrying"
            server.start()  # the same port again
            await wait_until(lambda: source.connected, 15, "the source to join")
            async with IrcClient(server.port, "viewer2") as client:
                await client.join("shop")
                await client.wait_for_member("shop", "justinfan")
                client.send("PRIVMSG #shop :back again?")
                await wait_until(lambda: len(submitted.items) == 1, 5, "the comment")
            assert submitted.items[0][:3] == ("twitch:viewer2", "viewer2", "back again?")
        finally:
            await hub.stop()


@pytest.mark.slow
async def test_the_servers_pings_are_answered(tmp_path: Path) -> None:
    # ngircd pings an idle client after a second and drops it if no PONG comes: staying connected
    # through several pings and still reading chat shows PING/PONG works.
    with irc_server(tmp_path, ping_s=1) as server:
        source = TwitchChat(TwitchConfig("shop", host="127.0.0.1", port=server.port, tls=False))
        submitted = Submitted()
        hub = await _run(source, submitted)
        try:
            await asyncio.sleep(4)
            async with IrcClient(server.port, "viewer3") as client:
                await client.join("shop")
                client.send("PRIVMSG #shop :still there?")
                await wait_until(lambda: len(submitted.items) == 1, 5, "the comment")
            assert hub.states["twitch:#shop"].failures == 0
        finally:
            await hub.stop()


def test_a_flood_across_sources_is_shed_beyond_the_total_rate() -> None:
    submitted = Submitted()
    sources = [TwitchChat(TwitchConfig("a")), TwitchChat(TwitchConfig("b"))]
    hub = SourceHub(sources, submitted, rate_per_s=0.001, burst=10)
    verdicts = [
        hub.deliver(sources[i % 2], PlatformComment("twitch", str(i), "n", f"q {i}", 0.0)) for i in range(50)
    ]
    assert verdicts.count("accepted") == 10 and verdicts.count("shed") == 40 and len(submitted.items) == 10
    health = hub.health()["sources"]
    assert health["twitch:#a"]["refused"] + health["twitch:#b"]["refused"] == 40


async def test_tls_is_verified_against_the_servers_certificate(tmp_path: Path) -> None:
    with irc_server(tmp_path, tls=True) as server:
        assert server.tls_port is not None and server.cert is not None
        trusted = TwitchChat(
            TwitchConfig("shop", host="127.0.0.1", port=server.tls_port, tls=True, ca_file=str(server.cert))
        )
        untrusted = TwitchChat(TwitchConfig("other", host="127.0.0.1", port=server.tls_port, tls=True))
        submitted = Submitted()
        hub = SourceHub([trusted, untrusted], submitted)
        hub.start()
        try:
            await wait_until(lambda: trusted.connected, 10, "the TLS source to join")
            state = hub.states["twitch:#other"]
            await wait_until(lambda: state.state == "retrying", 10, "the untrusted certificate to be refused")
            assert "CERTIFICATE_VERIFY_FAILED" in (state.last_error or "")
            async with IrcClient(server.port, "viewer4") as client:
                await client.join("shop")
                await client.wait_for_member("shop", "justinfan")
                client.send("PRIVMSG #shop :over tls?")
                await wait_until(lambda: len(submitted.items) == 1, 5, "the comment")
            assert submitted.items[0][2] == "over tls?"
        finally:
            await hub.stop()

"""Which comment sources a show reads: the scene's ``chat:`` list and ``avatar live --chat``.

In ``scene.yaml``::

    chat:
      - twitch: myshop                      # channel; TWITCH_OAUTH_TOKEN/TWITCH_NICK optional
      - youtube: {video_id: dQw4w9WgXcQ}    # or live_chat_id; YOUTUBE_API_KEY or YOUTUBE_OAUTH_TOKEN
      - ingest: douyin                      # POST /api/comments; AVATAR_INGEST_SECRET_DOUYIN

Each item is ``{kind: value}`` or ``{kind: {options}}``; on the command line the same as
``--chat twitch:myshop``, ``--chat youtube:VIDEO_ID`` (a live chat id when it is longer than a video
id), ``--chat ingest:douyin``. Options: twitch ``channel, host, port, tls, ca_file``; youtube ``video_id,
live_chat_id, api_base``; ingest ``name, rate_per_s, burst``. Secrets only ever come from the
environment, never from the scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from avatar.brain.catalog import read_yaml
from avatar.errors import DataError
from avatar.sources.base import CommentSource
from avatar.sources.ingest import IngestConfig, IngestSource
from avatar.sources.twitch import TwitchChat, TwitchConfig
from avatar.sources.youtube import YouTubeChat, YouTubeConfig

KINDS: Final = ("twitch", "youtube", "ingest")
_OPTIONS: Final[dict[str, dict[str, type]]] = {
    "twitch": {"channel": str, "host": str, "port": int, "tls": bool, "ca_file": str},
    "youtube": {"video_id": str, "live_chat_id": str, "api_base": str},
    "ingest": {"name": str, "rate_per_s": float, "burst": int},
}
_MAIN: Final = {"twitch": "channel", "youtube": "video_id", "ingest": "name"}
VIDEO_ID_CHARS: Final = 11


def build_source(kind: str, options: dict[str, Any]) -> CommentSource:
    """One source from checked options (ValueError for a bad value)."""
    if kind == "twitch":
        channel = str(options.get("channel", "")).lstrip("#").strip()
        if not channel:
            raise ValueError("twitch needs a channel")
        port = options.get("port")
        return TwitchChat(
            TwitchConfig(
                channel,
                host=options.get("host", TwitchConfig.host),
                port=int(port) if port is not None else None,
                tls=bool(options.get("tls", True)),
                ca_file=options.get("ca_file"),
            )
        )
    if kind == "youtube":
        video, chat = options.get("video_id"), options.get("live_chat_id")
        if video and len(video) > VIDEO_ID_CHARS and not chat:  # a live chat id given where a video id goes
            video, chat = None, video
        return YouTubeChat(
            YouTubeConfig(
                live_chat_id=chat, video_id=video, api_base=options.get("api_base", YouTubeConfig.api_base)
            )
        )
    if kind == "ingest":
        return IngestSource(
            IngestConfig(
                str(options.get("name", "")).strip().lower(),
                rate_per_s=float(options.get("rate_per_s", IngestConfig.rate_per_s)),
                burst=int(options.get("burst", IngestConfig.burst)),
            )
        )
    raise ValueError(f"unknown chat source {kind!r}; one of {', '.join(KINDS)}")


def parse_spec(spec: str) -> CommentSource:
    """A source from ``--chat KIND:VALUE`` (ValueError naming what is wrong)."""
    kind, sep, value = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or not value.strip():
        raise ValueError(
            f"--chat {spec!r}: expected KIND:VALUE, e.g. twitch:myshop, youtube:VIDEO_ID, ingest:douyin"
        )
    if kind not in KINDS:
        raise ValueError(f"--chat {spec!r}: unknown source {kind!r}; one of {', '.join(KINDS)}")
    try:
        return build_source(kind, {_MAIN[kind]: value.strip()})
    except ValueError as error:
        raise ValueError(f"--chat {spec!r}: {error}") from error


def scene_sources(scene_file: Path) -> list[CommentSource]:
    """The sources in a scene file's ``chat:`` list (DataError naming the field when one is wrong)."""
    raw = read_yaml(scene_file)
    value = raw.get("chat") if isinstance(raw, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataError(scene_file, "chat", "expected a list of sources, e.g. [{twitch: myshop}]")
    sources: list[CommentSource] = []
    for index, item in enumerate(value):
        field = f"chat[{index}]"
        if isinstance(item, str):
            try:
                sources.append(parse_spec(item))
            except ValueError as error:
                raise DataError(scene_file, field, str(error)) from error
            continue
        if not isinstance(item, dict) or len(item) != 1:
            raise DataError(scene_file, field, f"expected one of {', '.join(KINDS)} with its value")
        ((kind, options),) = item.items()
        if kind not in KINDS:
            raise DataError(scene_file, field, f"unknown source {kind!r}; one of {', '.join(KINDS)}")
        if not isinstance(options, dict):
            options = {_MAIN[kind]: options}
        for key, option in options.items():
            expected = _OPTIONS[kind].get(key)
            if expected is None:
                known = ", ".join(_OPTIONS[kind])
                raise DataError(scene_file, f"{field}.{key}", f"unknown option; {kind} takes {known}")
            if expected is float and isinstance(option, int) and not isinstance(option, bool):
                option = float(option)
            if not isinstance(option, expected) or (expected is int and isinstance(option, bool)):
                raise DataError(scene_file, f"{field}.{key}", f"expected {expected.__name__}, got {option!r}")
            options[key] = option
        try:
            sources.append(
                build_source(kind, {k: str(v) if k == _MAIN[kind] else v for k, v in options.items()})
            )
        except ValueError as error:
            raise DataError(scene_file, field, str(error)) from error
    return sources


def show_sources(scene_file: Path, specs: Sequence[str]) -> list[CommentSource]:
    """The scene's sources, then those of ``--chat`` (a duplicate name is an error)."""
    sources = scene_sources(scene_file) + [parse_spec(spec) for spec in specs]
    names = [source.name for source in sources]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"chat source listed twice: {', '.join(duplicates)}")
    return sources

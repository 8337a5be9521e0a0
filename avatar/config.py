"""Settings of a running show, from defaults, ``AVATAR_*`` environment variables and CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

BARGE_IN_MODES = ("sentence", "immediate", "off")
"""When a co-host speaks: stop the host at the end of the sentence, at once, or not at all (the
same choices as scene.yaml's ``listen.barge_in``)."""

# Sizes the video pipeline is tuned for: 16:9 from 360p to 720p, even dimensions for I420; or the
# same turned 9:16 (portrait, for phone-first platforms), 360x640 up to 720x1280.
MIN_HEIGHT, MAX_HEIGHT = 360, 720


@dataclass(frozen=True)
class Settings:
    """Everything a show needs to start. Each field can be set as ``AVATAR_<NAME>``."""

    scene: Path = Path("scenes/demo")  # scene folder (scene.yaml + products.yaml + images)
    host: str = "0.0.0.0"  # address the web server binds
    port: int = 8080  # port of the viewer page and signaling
    width: int = 640  # video width in pixels
    height: int = 360  # video height in pixels
    fps: int = 25  # video frames per second
    voices: Path | None = None  # voices folder; None = the repository's voices/
    ice_loopback: bool = False  # offer 127.0.0.1 ICE candidates (loopback-only tests and demos)
    connect_timeout_s: float = 20.0  # close viewer connections not connected by then
    # STUN servers for the server's own public address (behind NAT); comma-separated, "" for none.
    # Not used with ice_loopback: each lookup costs a resolver thread and a packet per viewer.
    stun_servers: str = "stun:stun.l.google.com:19302"
    max_viewers: int = 200  # pending + connected viewer sessions; more offers get 503 + Retry-After
    offers_per_minute: int = 30  # offers one address may make per minute (then 429 + Retry-After)
    trusted_proxies: str = ""  # comma-separated proxy addresses whose X-Forwarded-For names the viewer
    allowed_origins: str = ""  # comma-separated other sites that may post to / frame this one
    fanout: bool = True  # encode video/audio once and share the packets (False: aiortc encodes per viewer)
    operator_token: str = ""  # console token; empty = `avatar live` generates one and prints it
    database: Path | None = None  # SQLite file of the show's records; None = <cache>/avatar.sqlite3
    retention_days: float = 30.0  # records older than this are deleted
    llm: str | None = None  # answer phrasing: smollm2, none, a HF name/path or http://host/v1; None = scene's
    asr_model: str = "tiny.en"  # speech recognition: tiny.en, base, a hub name (small) or a path
    asr_engine: str = "whisper"  # whisper (openai-whisper) or faster (faster-whisper, same weights)
    barge_in: str | None = None  # a co-host's voice stops the host: sentence, immediate, off; None = scene's

    def validated(self) -> Settings:
        """Return self, or raise ValueError naming the bad setting."""
        if self.height > self.width:  # portrait (9:16)
            if not MIN_HEIGHT <= self.width <= MAX_HEIGHT or self.width % 2:
                raise ValueError(
                    f"width: a portrait video's width must be even, from {MIN_HEIGHT} to {MAX_HEIGHT}"
                )
            if not 640 <= self.height <= 1280 or self.height % 2:
                raise ValueError("height: a portrait video's height must be an even number from 640 to 1280")
        else:
            if not MIN_HEIGHT <= self.height <= MAX_HEIGHT or self.height % 2:
                raise ValueError(f"height: must be an even number from {MIN_HEIGHT} to {MAX_HEIGHT}")
            if not 640 <= self.width <= 1280 or self.width % 2:
                raise ValueError("width: must be an even number from 640 to 1280")
        long_side, short_side = max(self.width, self.height), min(self.width, self.height)
        if abs(long_side / short_side - 16 / 9) > 0.02:
            raise ValueError(
                f"height: {self.width}x{self.height} is neither 16:9 nor 9:16 (e.g. 1280x720 or 720x1280)"
            )
        if not 5 <= self.fps <= 30:
            raise ValueError("fps: must be from 5 to 30")
        if not 0 <= self.port < 65536:
            raise ValueError("port: must be from 0 (any free port) to 65535")
        if self.max_viewers < 1:
            raise ValueError("max_viewers: must be at least 1")
        if self.offers_per_minute < 1:
            raise ValueError("offers_per_minute: must be at least 1")
        if not self.retention_days > 0:
            raise ValueError("retention_days: must be more than 0")
        if self.barge_in is not None and self.barge_in not in BARGE_IN_MODES:
            raise ValueError(f"barge_in: must be one of {', '.join(BARGE_IN_MODES)}, got {self.barge_in!r}")
        from avatar.engines.asr.factory import check_asr_choice  # light: no model library is imported

        model, engine = check_asr_choice(self.asr_model, self.asr_engine)
        return replace(self, asr_model=model, asr_engine=engine)


def _parse(kind: Any, text: str) -> Any:
    if kind in (bool, "bool"):
        return text.strip().lower() in {"1", "true", "yes", "on"}
    if kind in (int, "int"):
        return int(text)
    if kind in (float, "float"):
        return float(text)
    if "Path" in str(kind):
        return Path(text)
    return text


def load_settings(**overrides: Any) -> Settings:
    """Defaults, then ``AVATAR_*`` environment variables, then explicit overrides (not None)."""
    settings = Settings()
    from_env: dict[str, Any] = {}
    for field in fields(Settings):
        value = os.environ.get(f"AVATAR_{field.name.upper()}")
        if value is not None:
            try:
                from_env[field.name] = _parse(field.type, value)
            except ValueError as error:
                raise ValueError(f"AVATAR_{field.name.upper()}: {error}") from error
    settings = replace(settings, **from_env)
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    return settings.validated()

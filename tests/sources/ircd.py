"""A real IRC server for tests: Debian's ngircd on a free loopback port with a generated config."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import require

CONFIG = """\
[Global]
Name = irc.avatar.test
Info = avatar test server
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = test
[Limits]
PingTimeout = {ping}
PongTimeout = 10
MaxConnectionsIP = 0
MaxNickLength = 30
[Options]
DNS = no
Ident = no
PAM = no
SyslogFacility = local7
[SSL]
{ssl}
"""


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class IrcServer:
    """One ngircd process (start, stop and start again on the same port)."""

    def __init__(self, root: Path, ping_s: int = 120, tls: bool = False) -> None:
        binary = shutil.which("ngircd") or "/usr/sbin/ngircd"
        require(Path(binary).exists(), "ngircd (Debian package)")
        self.binary = binary
        self.port = free_port()
        self.config = root / "ngircd.conf"
        ssl_section = ""
        self.tls_port: int | None = None
        self.cert: Path | None = None
        if tls:  # a self-signed certificate for 127.0.0.1, made with openssl
            require(shutil.which("openssl") is not None, "openssl (Debian package)")
            self.cert, key = root / "cert.pem", root / "key.pem"
            command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
            command += ["-keyout", str(key), "-out", str(self.cert), "-subj", "/CN=127.0.0.1"]
            subprocess.run(
                [*command, "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True
            )
            key.chmod(0o644)  # ngircd reads it after dropping root
            self.tls_port = free_port()
            ssl_section = f"CertFile = {self.cert}\nKeyFile = {key}\nPorts = {self.tls_port}"
        self.config.write_text(CONFIG.format(port=self.port, root=root, ping=ping_s, ssl=ssl_section))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--nodaemon", "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"ngircd exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            time.sleep(0.05)
        raise RuntimeError("ngircd did not listen within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)
        self.process = None


@contextlib.contextmanager
def irc_server(root: Path, ping_s: int = 120, tls: bool = False) -> Iterator[IrcServer]:
    """A running ngircd (with a TLS port too when ``tls``), stopped afterwards."""
    server = IrcServer(root, ping_s, tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class IrcClient:
    """A plain IRC client that registers, joins a channel and says things in it."""

    def __init__(self, port: int, nick: str) -> None:
        self.port, self.nick = port, nick
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> IrcClient:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.send(f"NICK {self.nick}", f"USER {self.nick} 0 * :{self.nick}")
        await self.expect(" 001 ")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()

    def send(self, *lines: str) -> None:
        assert self.writer is not None
        for line in lines:
            self.writer.write(line.encode() + b"\r\n")

    def send_raw(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)

    async def expect(self, fragment: str, wait_s: float = 5.0) -> str:
        """Read lines (answering PINGs) until one contains ``fragment``."""
        assert self.reader is not None
        async with asyncio.timeout(wait_s):
            while True:
                line = (await self.reader.readline()).decode(errors="replace")
                if not line:
                    raise ConnectionError("server closed")
                if line.startswith("PING"):
                    self.send("PONG" + line[4:].rstrip())
                if fragment in line:
                    return line

    async def join(self, channel: str) -> None:
        self.send(f"JOIN #{channel}")
        await self.expect(f"JOIN :#{channel}")

    async def wait_for_member(self, channel: str, nick_prefix: str, wait_s: float = 10.0) -> None:
        """Wait until someone whose nick starts with ``nick_prefix`` is in the channel."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            self.send(f"NAMES #{channel}")
            line = await self.expect(" 353 ")
            if any(f"{mark}{nick_prefix}" in line for mark in (" ", ":", "@", "+")):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"nobody named {nick_prefix}* joined #{channel}")

"""ICE address selection.

aioice leaves 127.0.0.1 out of its host candidates, which is right on a network but leaves a
loopback-only machine (tests, a demo on a laptop with networking off) with no way to connect.
"""

from __future__ import annotations

import aioice.ice


def use_loopback_only() -> None:
    """Offer only 127.0.0.1 as a host candidate, so every media packet stays on this machine."""
    aioice.ice.get_host_addresses = _loopback_addresses


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []

"""Letting go of a closed aiortc peer connection, so it is freed the moment its owner drops it.

aiortc 1.16 leaves reference cycles behind a closed ``RTCPeerConnection``: each DTLS transport keeps
the connection's ``__updateConnectionState`` listener (the connection removes only its own
listeners), and aioice keeps its candidate pairs, which point back at their connection through
their STUN protocols. A cycle is freed only by a full (generation 2) garbage collection, which in
`avatar live` (~440 k long-lived objects: models, catalog, render caches) comes only after some
100 k new objects, i.e. dozens of viewers. Until then each departed viewer's connection, RTP
history, SRTP and DTLS state, sockets and tracks stay in memory: ~2,300 objects a viewer, and their
native buffers, freed in bursts, fragment the C heap in between.

Breaking those edges after ``close()`` hands the whole graph back to reference counting.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # egress imports this module; aiortc itself loads only where a connection is made
    from aiortc import RTCPeerConnection


def release_peer_connection(pc: RTCPeerConnection) -> None:
    """Break aiortc's and aioice's reference cycles behind ``pc``; call after ``await pc.close()``.

    Only for a closed connection: no event is emitted after ``close()``, so the listeners removed
    here would never be called again. Missing pieces (a connection closed before it negotiated
    anything) are skipped.
    """
    pc.remove_all_listeners()  # close() does this too, but not when it stops half-way on an error
    transports: set[Any] = set()
    for transceiver in pc.getTransceivers():
        transports |= {transceiver.sender.transport, transceiver.receiver.transport}
    if pc.sctp is not None:
        transports.add(pc.sctp.transport)
        pc.sctp.remove_all_listeners()
    for dtls in transports - {None}:  # one DTLS transport per bundle, shared by the transceivers
        dtls.remove_all_listeners()  # RTCDtlsTransport -> pc.__updateConnectionState -> pc
        ice = dtls.transport
        ice.remove_all_listeners()  # aiortc drops these only on some close paths
        ice.iceGatherer.remove_all_listeners()
        _clear_ice_check_list(ice)


def _clear_ice_check_list(ice: object) -> None:
    # aioice's Connection.close() cancels the checks but keeps the pairs; each pair's STUN protocol
    # points back at the connection. The names are aioice's own (0.13); if they change, the cycle is
    # left to the garbage collector rather than failing the close.
    connection = getattr(ice, "_connection", None)
    check_list = getattr(connection, "_check_list", None)
    if isinstance(check_list, list):
        check_list.clear()


@functools.cache
def _malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def return_free_memory() -> bool:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``; False elsewhere).

    A burst of connections that come and go (offers that never connect, a round of viewers)
    leaves the main heap with free chunks between live ones, which glibc keeps: RSS stays at the
    burst's high-water mark. Trimming after a burst makes RSS follow the sessions that are left.
    Takes milliseconds on a large heap: call it off the event loop.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True

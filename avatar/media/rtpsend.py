"""Sending shared RTP payloads straight to one viewer: a header, SRTP and the socket, nothing else.

With a shared encoder, aiortc's ``RTCRtpSender`` still runs a coroutine per viewer and track that
wakes for every frame, packetises it again, builds and serialises an ``RtpPacket`` per packet (with
two datetime-based NTP clock readings each) and awaits four coroutines down to the socket. Profiled
at 100 viewers that was about half of a viewer's cost; the other half is the ``sendto`` system call.
Yet all a viewer needs of its own is the RTP header (sequence number, timestamp offset, SSRC,
extension ids) and its SRTP encryption.

A :class:`DirectSender` takes payloads packetised once for everyone, writes one header per frame,
patches the marker and sequence number per packet, encrypts with the viewer's SRTP session and hands
the datagram to the nominated ICE pair's socket, in the caller's stack frame: the shared encoder
makes one pass over its viewers per frame, with no task switch.

aiortc keeps everything else: its sender's RTCP loop sends sender reports from the counters updated
here (lip sync needs them); DTLS, ICE consent and the connection's life are untouched. Its RTP loop
stays parked in the track's ``recv()``. Retransmissions (NACK, wrapped in RTX when negotiated) are
answered from this sender's own history, since aiortc's stays empty.

The attributes read here are aiortc 1.16's and aioice 0.13's private ones: :func:`direct_sender`
checks them and returns None when any is missing, and the viewer then keeps aiortc's own loop.
"""

from __future__ import annotations

import logging
import random
import struct
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any, Final

from aiortc.rtcdtlstransport import State
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensions

log = logging.getLogger(__name__)

NTP_UNIX_OFFSET_S: Final = 2_208_988_800  # 1900-01-01 to 1970-01-01
_HEADER: Final = struct.Struct("!BBHLL")
# aiortc's sender's private state that this module reads or keeps up to date (see the docstring).
_SENDER_FIELDS: Final = (
    "_ssrc",
    "_rtx_ssrc",
    "_enabled",
    "_RTCRtpSender__mid",
    "_RTCRtpSender__rtp_header_extensions_map",
    "_RTCRtpSender__rtx_payload_type",
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__octet_count",
    "_RTCRtpSender__packet_count",
)
_DTLS_FIELDS: Final = ("_state", "_tx_srtp", "_RTCDtlsTransport__tx_bytes", "_RTCDtlsTransport__tx_packets")


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp (what aiortc's ``current_ntp_time`` gives, cheaper)."""
    return int((time.time() + NTP_UNIX_OFFSET_S) * (1 << 32))


class DirectSender:
    """Sends one viewer's packets of one track (see the module docstring).

    Holds its aiortc sender and DTLS transport weakly: the transport's RTP router holds the sender,
    the sender its track, and the track this object; strong references would make a cycle that
    keeps a departed viewer's connection until a full garbage collection.
    """

    def __init__(self, sender: Any, payload_type: int) -> None:
        self._sender = weakref.ref(sender)
        self._dtls = weakref.ref(sender.transport)
        self.payload_type = payload_type
        self.ssrc: int = sender._ssrc
        self._rtx_ssrc: int = sender._rtx_ssrc
        self._rtx_payload_type: int | None = sender._RTCRtpSender__rtx_payload_type
        self._extensions_map = sender._RTCRtpSender__rtp_header_extensions_map
        self._extensions = HeaderExtensions(mid=sender._RTCRtpSender__mid)
        self._sequence = random.randint(0, 0xFFFF)
        self._rtx_sequence = random.randint(0, 0xFFFF)
        self._timestamp_origin = random.getrandbits(32)
        # Unencrypted packets by sequence number modulo the history size, as aiortc keeps them
        # (plain bytes, no tuple per packet: fewer objects for the garbage collector to count).
        self._history: list[bytes | None] = [None] * RTP_HISTORY_SIZE
        self._header_length = 12  # the fixed header and this viewer's extension block, once known
        self.packets = 0
        self.retransmitted = 0

    def send(self, payloads: Sequence[bytes], timestamp: int) -> bool:
        """Send one frame's payloads (the last one marked); False when the viewer cannot take it now.

        ``timestamp`` is the frame's RTP timestamp from the shared packetiser; this viewer's random
        origin is added, as aiortc does per sender.
        """
        sender, dtls = self._sender(), self._dtls()
        if sender is None or dtls is None or not sender._enabled or dtls._state is not State.CONNECTED:
            return False
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None or not payloads:
            return False
        sendto = pair.protocol.transport.sendto
        address = pair.remote_addr
        protect = dtls._tx_srtp.protect
        ntp = ntp_now()
        rtp_timestamp = (self._timestamp_origin + timestamp) & 0xFFFFFFFF
        self._extensions.abs_send_time = (ntp >> 14) & 0x00FFFFFF
        profile, extension = self._extensions_map.set(self._extensions)
        first = 0x80 | (0x10 if extension else 0)  # version 2, the extension bit
        rest = _HEADER.pack(first, 0, 0, rtp_timestamp, self.ssrc)[4:]
        if extension:
            rest += struct.pack("!HH", profile, len(extension) >> 2) + extension
        self._header_length = 4 + len(rest)  # the same for every frame: the extension set is fixed
        plain, marked = bytes((first, self.payload_type)), bytes((first, 0x80 | self.payload_type))
        last = len(payloads) - 1
        history = self._history
        sequence = self._sequence
        octets = sent_bytes = 0
        for index, payload in enumerate(payloads):
            start = marked if index == last else plain
            packet = b"".join((start, sequence.to_bytes(2, "big"), rest, payload))
            history[sequence % RTP_HISTORY_SIZE] = packet
            data = protect(packet)
            sendto(data, address)
            octets += len(payload)
            sent_bytes += len(data)
            sequence = (sequence + 1) & 0xFFFF
        self._sequence = sequence
        count = len(payloads)
        self.packets += count
        # What aiortc's RTCP loop puts in its sender reports, and its stats.
        sender._RTCRtpSender__ntp_timestamp = ntp
        sender._RTCRtpSender__rtp_timestamp = rtp_timestamp
        sender._RTCRtpSender__octet_count += octets
        sender._RTCRtpSender__packet_count += count
        dtls._RTCDtlsTransport__tx_bytes += sent_bytes
        dtls._RTCDtlsTransport__tx_packets += count
        return True

    def retransmit(self, sequence_numbers: Iterable[int]) -> int:
        """Send again the packets a NACK lists that are still in the history; how many were sent."""
        dtls = self._dtls()
        if dtls is None or dtls._state is not State.CONNECTED:
            return 0
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            return 0
        sent = 0
        header_length = self._header_length
        for sequence in sequence_numbers:
            packet = self._history[sequence % RTP_HISTORY_SIZE]
            if packet is None or int.from_bytes(packet[2:4], "big") != sequence:
                continue  # too old: overwritten
            if self._rtx_payload_type is not None:
                # RFC 4588: the RTX stream's header, then the original sequence number and payload.
                packet = b"".join(
                    (
                        bytes((packet[0], (packet[1] & 0x80) | self._rtx_payload_type)),
                        self._rtx_sequence.to_bytes(2, "big"),
                        packet[4:8],
                        self._rtx_ssrc.to_bytes(4, "big"),
                        packet[12:header_length],
                        packet[2:4],
                        packet[header_length:],
                    )
                )
                self._rtx_sequence = (self._rtx_sequence + 1) & 0xFFFF
            pair.protocol.transport.sendto(dtls._tx_srtp.protect(packet), pair.remote_addr)
            sent += 1
        self.retransmitted += sent
        return sent

    def backlog_bytes(self) -> int:
        """Bytes the viewer's socket has not taken yet (asyncio buffers what the kernel refuses)."""
        dtls = self._dtls()
        pair = dtls.transport._connection._nominated.get(1) if dtls is not None else None
        size = getattr(pair.protocol.transport, "get_write_buffer_size", None) if pair is not None else None
        return int(size()) if size is not None else 0  # a TURN relay's transport does not say: 0


def direct_sender(sender: Any, payload_type: int) -> DirectSender | None:
    """A direct sender for an aiortc sender that has started sending, or None if it cannot have one.

    None when the sender has not started (no transport), or aiortc/aioice no longer have the
    private attributes this module relies on: the caller then lets aiortc send.
    """
    try:
        dtls = sender.transport
        missing = [name for name in _SENDER_FIELDS if not hasattr(sender, name)]
        missing += [name for name in _DTLS_FIELDS if not hasattr(dtls, name)]
        ice = dtls.transport
        if not hasattr(getattr(ice, "_connection", None), "_nominated"):
            missing.append("RTCIceTransport._connection._nominated")
    except AttributeError as error:
        missing = [str(error)]
    if missing:
        log.warning("aiortc lacks %s: viewers are sent through aiortc's own loop", ", ".join(missing))
        return None
    return DirectSender(sender, payload_type)

"""Identifiers shaped like Okta's, drawn from a seeded generator.

Every id comes from the caller's `random.Random`, never from the clock or the OS,
so a seed reproduces the same bytes. Each identity owns its generator, which keeps
its ids (and everything else about it) independent of how many other identities
the world has or in which order they are simulated.
"""

from __future__ import annotations

import random

_BASE62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE64URL = _BASE62 + b"-_"
# Byte -> alphabet translation tables, so a run of random bytes becomes an id in
# one C-level call. The modulo bias of 256 % 62 is irrelevant for ids.
_TO_BASE62 = bytes(_BASE62[b % 62] for b in range(256))
_TO_BASE64URL = bytes(_BASE64URL[b % 64] for b in range(256))

# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
_UUID_EPOCH_OFFSET = 0x01B21DD213814000
# Okta's System Log uuids are time-based (version 1) and come from a limited set of
# servers, so the node field repeats across events; these are ours.
_NODES = tuple(
    int.from_bytes(random.Random(f"okta-node-{i}").randbytes(6), "big") | (1 << 40)
    for i in range(16)
)


class IdMaker:
    """Okta-shaped ids from one seeded generator."""

    __slots__ = ("_rng",)

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def _chars(self, count: int, table: bytes) -> str:
        raw = self._rng.getrandbits(8 * count).to_bytes(count, "little")
        return raw.translate(table).decode("ascii")

    def okta_id(self, prefix: str) -> str:
        """A 20-character object id: `00u` user, `0oa` app, `00T` API token..."""
        return prefix + self._chars(20 - len(prefix), _TO_BASE62)

    def session_id(self) -> str:
        """An Okta session id as `externalSessionId` shows it (`102...`)."""
        return "102" + self._chars(22, _TO_BASE64URL)

    def transaction_session_id(self) -> str:
        """The per-request `trs...` session id of API-token calls."""
        return "trs" + self._chars(22, _TO_BASE64URL)

    def request_id(self) -> str:
        """`debugData.requestId`, which Okta also uses as `transaction.id`."""
        return self._chars(27, _TO_BASE64URL)

    def access_token_id(self) -> str:
        return "AT." + self._chars(43, _TO_BASE64URL)

    def text(self, count: int) -> str:
        return self._chars(count, _TO_BASE64URL)

    def hex(self, count: int) -> str:
        """`count` random hex digits (device fingerprints, dtHash)."""
        return f"{self._rng.getrandbits(4 * count):0{count}x}"

    def uuid(self, ts_ms: int) -> str:
        """A version-1 uuid whose time fields say `ts_ms`, as Okta's do."""
        bits = self._rng.getrandbits(32)
        # 14 bits of sub-millisecond ticks, 14 of clock sequence, 4 for the node.
        ticks = ts_ms * 10_000 + (bits & 0x3FFF) % 10_000 + _UUID_EPOCH_OFFSET
        time_low = ticks & 0xFFFFFFFF
        time_mid = (ticks >> 32) & 0xFFFF
        time_hi = ((ticks >> 48) & 0x0FFF) | 0x1000
        clock_seq = ((bits >> 14) & 0x3FFF) | 0x8000
        node = _NODES[bits >> 28]
        return (
            f"{time_low:08x}-{time_mid:04x}-{time_hi:04x}-{clock_seq:04x}-{node:012x}"
        )


def identity_rng(*, seed: int, stream: str, index: int) -> random.Random:
    """The generator of one identity (or one concern), independent of all others."""
    # A string seed is hashed with SHA-512 by `random.Random`, the same on every
    # platform and Python version, unlike `hash()`.
    return random.Random(f"credwatch-sim/{seed}/{stream}/{index}")

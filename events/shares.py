"""Splitting one read between processes by actor.

Training can read its input in several processes at once. Each process reads every
file but keeps only its share of the events: those whose actor falls to it. All of
an identity's events then land in one process, which is what its baseline and
windows need.

A JSON line is routed by the `actor.id` a small decoder finds on it, which costs a
fraction of reading the event; only the share it falls to reads the line, and keeps
whatever the line holds. Every share reads the lines that cannot be routed so (no
such field, not an object, not JSON) and keeps the events whose actor falls to it.
So no event is kept twice or lost, and each record that is not an event is
quarantined by one share: the routed one, or else the first. A routed line that
holds events of other actors (an Event Hook envelope that names an actor of its
own) keeps them in its share; training notices an identity learned in two shares
and learns again in one process (training/parallel.py).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import msgspec


class _Actor(msgspec.Struct):
    id: str | None = None


class _Routed(msgspec.Struct):
    actor: _Actor | None = None


_route_decoder = msgspec.json.Decoder(_Routed)


@dataclass(frozen=True, slots=True)
class Share:
    """Part `index` of a read split `count` ways."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"share {self.index} of {self.count} does not exist")

    @property
    def keeps_rejects(self) -> bool:
        """Whether this share books the records not routed to any share."""
        return self.index == 0

    def line_owner(self, line: bytes) -> int | None:
        """The share a JSON line falls to by its actor, or None when it names none."""
        try:
            actor = _route_decoder.decode(line).actor
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        if actor is None or not actor.id:
            return None
        return self._share_of(actor.id)

    def owns(self, actor_id: str | None) -> bool:
        """Whether events of this actor belong to this share.

        A stable hash, not Python's own (which differs between processes). Events
        that name no actor go to the first share, which counts them.
        """
        if not actor_id:
            return self.index == 0
        return self._share_of(actor_id) == self.index

    def _share_of(self, actor_id: str) -> int:
        return zlib.crc32(actor_id.encode("utf-8", "surrogatepass")) % self.count

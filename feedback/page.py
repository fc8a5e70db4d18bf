"""A summary page as plain blocks, written out as Markdown and HTML or to Notion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Image:
    name: str  # file name, e.g. "drift.png"
    data: bytes
    caption: str


Block = Heading | Paragraph | Bullets | Table | Image


@dataclass
class Page:
    title: str
    kind: str  # "retrain" or "weekly"
    created: datetime
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Page:
        self.blocks.extend(blocks)
        return self

    @property
    def images(self) -> list[Image]:
        return [block for block in self.blocks if isinstance(block, Image)]

"""Publishing a summary page as a row of a Notion database, through notion-client.

Notion's limits shape the requests: a rich-text piece holds at most 2,000
characters and a rich-text array 100 pieces, a request carries at most 100 blocks
and two levels of nesting. Long text is cut into pieces (and paragraphs), the page
is created with its first 100 blocks and the rest appended 100 at a time. Tables
nest their rows (two levels) and keep their first 99 rows.

Under Notion-Version 2025-09-03 a database row's parent is the database's data
source, found with `databases.retrieve`; under 2022-06-28 it is the database. The
title property is whichever the schema marks `title`; a `Date` (date) and a
`Kind` (select) property are filled when the schema has them.

notion-client retries 429 `rate_limited` answers after their `Retry-After`; the
publisher also spaces its own requests (`pace_s`, 3 per second by default, as
Notion asks) and plots go up through Notion's file uploads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr

from feedback.page import Bullets, Heading, Image, Page, Paragraph, Table

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_RICH_TEXT = 100
MAX_BLOCKS = 100
MAX_TABLE_ROWS = 99  # and the header row
DATA_SOURCES_VERSION = "2025-09-03"


class NotionPublisher:
    """Creates summary pages in one Notion database."""

    def __init__(
        self,
        *,
        token: SecretStr,
        database_id: str,
        base_url: str = "https://api.notion.com",
        notion_version: str = DATA_SOURCES_VERSION,
        pace_s: float = 0.34,
        max_retries: int = 5,
        timeout_s: float = 30.0,
        client: Any = None,
    ) -> None:
        self.database_id = database_id
        self.notion_version = notion_version
        self._pace_s = pace_s
        self._last_request = 0.0
        if client is None:
            from notion_client import Client
            from notion_client.client import ClientOptions, RetryOptions

            client = Client(
                options=ClientOptions(
                    auth=token.get_secret_value(),
                    base_url=base_url.rstrip("/"),
                    notion_version=notion_version,
                    timeout_ms=int(timeout_s * 1000),
                    retry=RetryOptions(
                        max_retries=max_retries, max_retry_delay_ms=60_000
                    ),
                    logger=logging.getLogger("credwatch.notion_client"),
                    log_level=logging.WARNING,
                )
            )
        self._client = client

    def __repr__(self) -> str:
        return f"NotionPublisher(database_id={self.database_id!r})"

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if close is not None:
            close()

    def publish(self, page: Page) -> str:
        """Create the page; returns its Notion URL."""
        parent, schema = self._parent_and_schema()
        uploads = {image.name: self._upload(image) for image in page.images}
        blocks = to_blocks(page, uploads=uploads)
        created = self._call(
            lambda: self._client.pages.create(
                parent=parent,
                properties=_properties(page, schema),
                children=blocks[:MAX_BLOCKS],
            )
        )
        page_id = created["id"]
        for start in range(MAX_BLOCKS, len(blocks), MAX_BLOCKS):
            chunk = blocks[start : start + MAX_BLOCKS]
            self._call(
                lambda chunk=chunk: self._client.blocks.children.append(
                    block_id=page_id, children=chunk
                )
            )
        logger.info(
            "summary published to Notion page %s (%d blocks)", page_id, len(blocks)
        )
        return str(created.get("url") or page_id)

    def _parent_and_schema(self) -> tuple[dict[str, Any], dict[str, Any]]:
        database = self._call(
            lambda: self._client.databases.retrieve(database_id=self.database_id)
        )
        if self.notion_version >= DATA_SOURCES_VERSION:
            sources = database.get("data_sources") or []
            if not sources:
                raise ValueError(
                    f"Notion database {self.database_id} has no data source"
                )
            source_id = sources[0]["id"]
            source = self._call(
                lambda: self._client.data_sources.retrieve(data_source_id=source_id)
            )
            parent = {"type": "data_source_id", "data_source_id": source_id}
            return parent, source.get("properties") or {}
        return {"database_id": self.database_id}, database.get("properties") or {}

    def _upload(self, image: Image) -> str:
        upload = self._call(
            lambda: self._client.file_uploads.create(
                mode="single_part", filename=image.name, content_type="image/png"
            )
        )
        self._call(
            lambda: self._client.file_uploads.send(
                file_upload_id=upload["id"], file=(image.name, image.data, "image/png")
            )
        )
        return str(upload["id"])

    def _call(self, request: Any) -> Any:
        # Notion asks for about three requests a second on average.
        wait = self._last_request + self._pace_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            return request()
        finally:
            self._last_request = time.monotonic()


def _properties(page: Page, schema: dict[str, Any]) -> dict[str, Any]:
    title = next(
        (name for name, prop in schema.items() if prop.get("type") == "title"), "Name"
    )
    properties: dict[str, Any] = {title: {"title": rich_text(page.title[:MAX_TEXT])}}
    kinds = {name: prop.get("type") for name, prop in schema.items()}
    if kinds.get("Date") == "date":
        properties["Date"] = {"date": {"start": page.created.isoformat()}}
    if kinds.get("Kind") == "select":
        properties["Kind"] = {"select": {"name": page.kind}}
    return properties


def rich_text(text: str) -> list[dict[str, Any]]:
    """Text as rich-text pieces of at most 2,000 characters each."""
    return [
        {"type": "text", "text": {"content": piece}}
        for piece in _pieces(text, MAX_TEXT)
    ] or [{"type": "text", "text": {"content": ""}}]


def to_blocks(page: Page, *, uploads: dict[str, str]) -> list[dict[str, Any]]:
    """The page's blocks in Notion's form, each within Notion's limits."""
    blocks: list[dict[str, Any]] = []
    for block in page.blocks:
        if isinstance(block, Heading):
            kind = f"heading_{min(max(block.level, 1), 3)}"
            blocks.append(_text_block(kind, block.text[:MAX_TEXT]))
        elif isinstance(block, Paragraph):
            blocks.extend(
                _text_block("paragraph", part) for part in _long_text(block.text)
            )
        elif isinstance(block, Bullets):
            for item in block.items:
                blocks.extend(
                    _text_block("bulleted_list_item", part) for part in _long_text(item)
                )
        elif isinstance(block, Table):
            blocks.append(_table(block))
        elif isinstance(block, Image):
            blocks.append(
                {
                    "object": "block",
                    "type": "image",
                    "image": {
                        "type": "file_upload",
                        "file_upload": {"id": uploads[block.name]},
                        "caption": rich_text(block.caption[:MAX_TEXT]),
                    },
                }
            )
    return blocks


def _text_block(kind: str, text: str) -> dict[str, Any]:
    return {"object": "block", "type": kind, kind: {"rich_text": rich_text(text)}}


def _table(table: Table) -> dict[str, Any]:
    width = len(table.header)
    rows = [table.header, *table.rows[:MAX_TABLE_ROWS]]
    return {
        "object": "block",
        "type": "table",
        "table": {
            "table_width": width,
            "has_column_header": True,
            "has_row_header": False,
            "children": [
                {
                    "object": "block",
                    "type": "table_row",
                    "table_row": {
                        "cells": [
                            rich_text(str(cell)[:MAX_TEXT])
                            for cell in (list(row) + [""] * width)[:width]
                        ]
                    },
                }
                for row in rows
            ],
        },
    }


def _long_text(text: str) -> Iterator[str]:
    """Text too long for one block's rich text, cut into blocks' worth."""
    limit = MAX_TEXT * MAX_RICH_TEXT
    for start in range(0, max(len(text), 1), limit):
        yield text[start : start + limit]


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]

"""A loopback Notion API answering what `notion-client` sends.

Follows api-contracts section 3 and the checklist in section 5: `Authorization:
Bearer` (401 `unauthorized`) and `Notion-Version` (400 `missing_version`) on
every request; per version, a database row's parent is the data source
(2025-09-03, found through `GET databases/{id}`) or the database (2022-06-28);
request limits checked as Notion checks them (100 block children per array, two
levels of nesting, 2,000 characters per rich-text piece, 100 pieces per array) with
`validation_error` bodies; `POST pages`, `PATCH blocks/{id}/children`, the file
upload pair (create, multipart send); a switchable 429 `rate_limited` with
`Retry-After`. Error bodies are always `{object, status, code, message,
request_id}`.
"""

from __future__ import annotations

import itertools
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from .http import LoopbackServer, Request, Response

VERSIONS = ("2022-06-28", "2025-09-03")
MAX_CHILDREN = 100
MAX_TEXT = 2000
MAX_RICH_TEXT = 100


@dataclass
class StoredPage:
    id: str
    parent: dict[str, Any]
    properties: dict[str, Any]
    blocks: list[dict[str, Any]] = field(default_factory=list)


class NotionStandIn:
    def __init__(self, *, token: str = "secret_notion_test") -> None:
        self.token = token
        self.database_id = str(uuid.UUID(int=1))
        self.data_source_id = str(uuid.UUID(int=2))
        self.schema = {
            "Name": {"id": "title", "type": "title", "title": {}},
            "Date": {"id": "date", "type": "date", "date": {}},
            "Kind": {"id": "kind", "type": "select", "select": {"options": []}},
        }
        self.pages: dict[str, StoredPage] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        # (method, path, Notion-Version) of every request.
        self.requests: list[tuple[str, str, str | None]] = []
        self.rate_limited = 0
        self._ids = itertools.count(100)
        self._lock = threading.RLock()
        self._server = LoopbackServer(self.handle)

    def start(self) -> NotionStandIn:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        return self._server.url

    def handle(self, request: Request) -> Response:
        with self._lock:
            version = request.headers.get("notion-version")
            self.requests.append((request.method, request.path, version))
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return _error(401, "unauthorized", "API token is invalid.")
            if not version:
                return _error(
                    400,
                    "missing_version",
                    "Notion-Version header failed validation: Notion-Version header "
                    "should be defined, instead was `undefined`.",
                )
            if version not in VERSIONS:
                return _error(
                    400,
                    "validation_error",
                    f"Notion-Version {version} is not supported.",
                )
            if self.rate_limited > 0:
                self.rate_limited -= 1
                return _error(
                    429,
                    "rate_limited",
                    "You have been rate limited. Please try again in a few minutes.",
                    [("Retry-After", "0")],
                )
            match = re.fullmatch(r"/v1/(.*)", request.path)
            if not match:
                return _error(400, "invalid_request_url", "Invalid request URL.")
            return self._route(request, match.group(1), version)

    def _route(self, request: Request, path: str, version: str) -> Response:
        method = request.method
        if method == "GET" and path == f"databases/{self.database_id}":
            document: dict[str, Any] = {"object": "database", "id": self.database_id}
            if version >= "2025-09-03":
                document["data_sources"] = [
                    {"id": self.data_source_id, "name": "credwatch"}
                ]
            else:
                document["properties"] = self.schema
            return Response.json(200, document)
        if (
            method == "GET"
            and path == f"data_sources/{self.data_source_id}"
            and version >= "2025-09-03"
        ):
            return Response.json(
                200,
                {
                    "object": "data_source",
                    "id": self.data_source_id,
                    "properties": self.schema,
                },
            )
        if method == "POST" and path == "pages":
            return self._create_page(request.json() or {}, version)
        children = re.fullmatch(r"blocks/([^/]+)/children", path)
        if method == "PATCH" and children:
            return self._append(children.group(1), request.json() or {})
        if method == "POST" and path == "file_uploads":
            upload_id = str(uuid.uuid4())
            body = request.json() or {}
            self.uploads[upload_id] = {
                "id": upload_id,
                "status": "pending",
                "filename": body.get("filename"),
                "content_type": body.get("content_type"),
                "size": 0,
            }
            return Response.json(
                200, {"object": "file_upload", **self.uploads[upload_id]}
            )
        send = re.fullmatch(r"file_uploads/([^/]+)/send", path)
        if method == "POST" and send:
            upload = self.uploads.get(send.group(1))
            if upload is None:
                return _error(404, "object_not_found", "Could not find file upload.")
            content = request.headers.get("content-type", "")
            if (
                not content.startswith("multipart/form-data")
                or b'name="file"' not in request.body
            ):
                return _error(
                    400, "validation_error", "body failed validation: file is required."
                )
            upload["status"] = "uploaded"
            upload["size"] = len(request.body)
            return Response.json(200, {"object": "file_upload", **upload})
        return _error(400, "invalid_request_url", f"no route {method} {path}")

    def _create_page(self, body: dict[str, Any], version: str) -> Response:
        parent = body.get("parent") or {}
        if version >= "2025-09-03":
            ok = (
                parent.get("type") == "data_source_id"
                and parent.get("data_source_id") == self.data_source_id
            )
        else:
            ok = parent.get("database_id") == self.database_id
        if not ok:
            return _error(
                404, "object_not_found", "Could not find the parent of the page."
            )
        properties = body.get("properties") or {}
        for name, value in properties.items():
            if name not in self.schema:
                return _error(
                    400, "validation_error", f"{name} is not a property that exists."
                )
            problem = _check_property(value)
            if problem:
                return _error(
                    400, "validation_error", f"body failed validation: {problem}"
                )
        children = body.get("children") or []
        problem = self._check_children(children, "body.children", depth=1)
        if problem:
            return _error(400, "validation_error", f"body failed validation: {problem}")
        page_id = str(uuid.UUID(int=next(self._ids)))
        self.pages[page_id] = StoredPage(page_id, parent, properties, list(children))
        return Response.json(
            200,
            {
                "object": "page",
                "id": page_id,
                "parent": parent,
                "properties": properties,
                "url": f"https://www.notion.so/{page_id.replace('-', '')}",
                "archived": False,
                "in_trash": False,
            },
        )

    def _append(self, block_id: str, body: dict[str, Any]) -> Response:
        page = self.pages.get(block_id)
        if page is None:
            return _error(
                404, "object_not_found", f"Could not find block with ID: {block_id}."
            )
        children = body.get("children") or []
        problem = self._check_children(children, "body.children", depth=1)
        if problem:
            return _error(400, "validation_error", f"body failed validation: {problem}")
        page.blocks.extend(children)
        return Response.json(
            200,
            {
                "object": "list",
                "results": children,
                "next_cursor": None,
                "has_more": False,
                "type": "block",
                "block": {},
            },
        )

    def _check_children(
        self, children: list[dict[str, Any]], where: str, *, depth: int
    ) -> str | None:
        if len(children) > MAX_CHILDREN:
            return (
                f"{where}.length should be ≤ `{MAX_CHILDREN}`, "
                f"instead was `{len(children)}`."
            )
        for index, block in enumerate(children):
            kind = block.get("type")
            content = block.get(kind) or {}
            for key in ("rich_text", "caption"):
                problem = _check_rich_text(
                    content.get(key), f"{where}[{index}].{kind}.{key}"
                )
                if problem:
                    return problem
            for row, cells in enumerate(content.get("cells") or []):
                problem = _check_rich_text(
                    cells, f"{where}[{index}].{kind}.cells[{row}]"
                )
                if problem:
                    return problem
            image = content.get("file_upload")
            if kind == "image" and image is not None:
                upload = self.uploads.get(image.get("id"))
                if upload is None or upload["status"] != "uploaded":
                    return f"{where}[{index}].image.file_upload.id is not uploaded."
            nested = content.get("children")
            if nested:
                if depth >= 2:
                    return (
                        f"{where}[{index}].{kind}.children should not be present "
                        "(more than two levels of nesting)."
                    )
                problem = self._check_children(
                    nested, f"{where}[{index}].{kind}.children", depth=depth + 1
                )
                if problem:
                    return problem
        return None


def _check_property(value: dict[str, Any]) -> str | None:
    for key in ("title", "rich_text"):
        if key in value:
            return _check_rich_text(value[key], f"properties.{key}")
    return None


def _check_rich_text(pieces: Any, where: str) -> str | None:
    if pieces is None:
        return None
    if len(pieces) > MAX_RICH_TEXT:
        return (
            f"{where}.length should be ≤ `{MAX_RICH_TEXT}`, "
            f"instead was `{len(pieces)}`."
        )
    for index, piece in enumerate(pieces):
        content = (piece.get("text") or {}).get("content", "")
        if len(content) > MAX_TEXT:
            return (
                f"{where}[{index}].text.content.length should be ≤ `{MAX_TEXT}`, "
                f"instead was `{len(content)}`."
            )
    return None


def _error(
    status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    return Response.json(
        status,
        {
            "object": "error",
            "status": status,
            "code": code,
            "message": message,
            "request_id": str(uuid.uuid4()),
        },
        headers,
    )

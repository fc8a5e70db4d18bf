"""One structured log line per request, and the JSON log format of the server.

The request line names the method, the route template (not the raw path), the
status, the time taken, the request id and the caller's key name; it never holds a
header, a key, a secret or a request body. Every answer carries `X-Request-ID`
(the proxy's, when it sent a sane one) and `X-Model-Version`.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.metrics import Metrics

access_logger = logging.getLogger("credwatch.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestLog:
    """ASGI middleware: request id, model version header, metrics and the log line."""

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, model_version: Callable[[], str | None]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.model_version = model_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or _new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                version = self.model_version()
                if version:
                    headers["X-Model-Version"] = version
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.observe_request(method, route, status, seconds)
            if access_logger.isEnabledFor(logging.INFO):
                self._log(scope, state, request_id, method, route, status, seconds)

    def _log(
        self,
        scope: Scope,
        state: dict,
        request_id: str,
        method: str,
        route: str,
        status: int,
        seconds: float,
    ) -> None:
        client = scope.get("client")
        access_logger.info(
            "%s %s %d %.2f ms",
            method,
            route,
            status,
            seconds * 1000,
            extra={
                "fields": {
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "caller": state.get("client"),
                    "remote": client[0] if client else None,
                    "model_version": self.model_version(),
                }
            },
        )


# Unique across processes by the random prefix, and cheaper than a uuid4 per
# request; request ids need to be distinct, not unguessable.
_PROCESS_PREFIX = secrets.token_hex(8)
_request_numbers = itertools.count(1)


def _new_request_id() -> str:
    return f"{_PROCESS_PREFIX}{next(_request_numbers):016x}"


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.match(text) else None
    return None


class JsonFormatter(logging.Formatter):
    """A JSON object per line: time, level, logger, message and any `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            document.update(fields)
        if record.exc_info:
            document["error"] = self.formatException(record.exc_info)
        return orjson.dumps(document, default=str).decode("utf-8")


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` that writes every record to stderr as JSON.

    Uvicorn applies it in every worker process. Its own access line is switched
    off: it would repeat ours with the raw path.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "serving.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }

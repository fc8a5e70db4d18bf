"""Reading `POST /v1/score` bodies: size limit, JSON or a Zapier form, events or an id.

Accepted shapes (JSON, or `application/x-www-form-urlencoded` where every value is
a string):

* one LogEvent object, or a list of them (Zapier's "wrap request in array" too);
* `{"event": ...}` or `{"events": ...}`, the value an event, a list, or the JSON
  text of either (what a Zapier field mapped from an earlier step holds);
* `{"identity_id": "00u..."}`: the identity's current risk, no new events;
* a form of a single event's fields, nested names joined by `__` as Zapier's
  "unflatten" option writes them (`actor__id=00u1&eventType=...`);
* an Okta Event Hook envelope, for its `data.events`.

Every refusal names what is wrong: 400 for a body that is not JSON, 413 for one
over the limits, 415 for another media type, 422 for JSON that holds no events or
something that is not a LogEvent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from credwatch.errors import InvalidEvent
from events.readers import EVENT_HOOK_TYPE, parse_event
from events.schemas import LogEvent

FORM = "application/x-www-form-urlencoded"
WRAPPERS = ("event", "events")


class BodyError(Exception):
    """A body the service refuses, with the status and a message naming the fault."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ScoreRequest:
    """Either events to score or the id of an identity to report on."""

    events: list[LogEvent]
    identity_id: str | None = None

    def fingerprint(self) -> str:
        """The same for a replay of the same events, in any order or encoding."""
        if self.identity_id is not None:
            return _sha256(f"identity\n{self.identity_id}")
        keys = sorted(
            "\t".join(
                str(part)
                for part in (
                    event.uuid,
                    event.published.isoformat() if event.published else "",
                    event.eventType,
                    event.actor_id or "",
                    event.ip or "",
                )
            )
            for event in self.events
        )
        return _sha256("events\n" + "\n".join(keys))


async def read_body(request: Request, *, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to pass `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"body is {int(declared)} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_score_body(
    body: bytes, content_type: str, *, max_events: int
) -> ScoreRequest:
    """The events (or identity id) a scoring request asks about."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == FORM and body.lstrip()[:1] in (b"{", b"["):
        # `curl -d @event.json` sends JSON labelled as a form; no form starts so.
        document = _json(body, "body")
    elif media == FORM:
        document = _form_document(body)
    elif media.startswith("multipart/"):
        raise BodyError(415, "send the events as JSON or as a form-encoded body")
    else:
        # Zapier's Custom Request may send JSON as text/plain; JSON is the default.
        document = _json(body, "body")
    return _request_of(document, max_events=max_events)


def _form_document(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(
            400, f"form body is not UTF-8 (byte offset {exc.start})"
        ) from None
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if not fields:
        raise BodyError(
            422, "form body holds no fields: send event, events or identity_id"
        )
    for name in WRAPPERS:
        if name in fields:
            return {name: _json(fields[name].encode("utf-8"), f"form field {name}")}
    if "identity_id" in fields and "eventType" not in fields:
        return {"identity_id": fields["identity_id"]}
    return _unflatten(fields)


def _request_of(document: Any, *, max_events: int) -> ScoreRequest:
    single = not isinstance(document, list)
    items = _event_items(document)
    if len(items) == 1 and _is_identity_request(items[0]):
        identity_id = items[0]["identity_id"]
        if isinstance(identity_id, int | float) and not isinstance(identity_id, bool):
            identity_id = str(identity_id)
        if not isinstance(identity_id, str) or not identity_id.strip():
            raise BodyError(422, "identity_id must be a non-empty string")
        return ScoreRequest(events=[], identity_id=identity_id.strip())
    if not items:
        raise BodyError(422, "body holds no events")
    if len(items) > max_events:
        raise BodyError(
            413, f"{len(items)} events; the limit is {max_events} per request"
        )
    events = []
    for index, item in enumerate(items):
        try:
            events.append(parse_event(item))
        except InvalidEvent as exc:
            where = "the event" if single and len(items) == 1 else f"event {index}"
            raise BodyError(422, f"{where} is not an Okta LogEvent: {exc}") from None
    return ScoreRequest(events=events)


def _event_items(document: Any) -> list[Any]:
    """The list of candidate events (or one identity request) a document stands for."""
    if isinstance(document, list):
        items: list[Any] = []
        for element in document:
            items.extend(_unwrap(element) if _is_wrapper(element) else [element])
        return items
    if _is_wrapper(document):
        return _unwrap(document)
    if isinstance(document, dict) and document.get("eventType") == EVENT_HOOK_TYPE:
        data = document.get("data")
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list):
            raise BodyError(422, "Event Hook envelope without a data.events list")
        return list(events)
    return [document]


def _is_wrapper(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "eventType" not in value
        and any(name in value for name in WRAPPERS)
    )


def _unwrap(wrapper: dict[str, Any]) -> list[Any]:
    name = next(name for name in WRAPPERS if name in wrapper)
    inner = wrapper[name]
    if isinstance(inner, str):
        inner = _json(inner.encode("utf-8"), f"field {name}")
    return list(inner) if isinstance(inner, list) else [inner]


def _is_identity_request(value: Any) -> bool:
    return (
        isinstance(value, dict) and "identity_id" in value and "eventType" not in value
    )


def _unflatten(fields: dict[str, str]) -> dict[str, Any]:
    """`a__b=1` becomes `{"a": {"b": "1"}}`; values stay strings for the model to read."""
    document: dict[str, Any] = {}
    for name, value in fields.items():
        parts = [part for part in name.split("__") if part]
        if not parts:
            continue
        node = document
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return document


def _json(raw: bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BodyError(400, f"{what} is not JSON: {exc}") from None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

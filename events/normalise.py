"""Turn exported Okta records back into the shape Okta writes.

Two repairs live here:

* `normalise_keys` restores Okta's camelCase key names after a SIEM lower-cased them
  (`eventtype` -> `eventType`, `ipaddress` -> `ipAddress`). The canonical names come
  from walking the pydantic models in `events.schemas`, plus the keys credwatch reads
  inside the plain-dict fields `debugData` and `transaction.detail`, so a field
  added to a model is recognised here without a second list.
* `stable_uuid` gives an event whose `uuid` is missing or a placeholder one derived
  from its content, so the same event read twice gets the same id.
* `repair_type_drift` undoes the value changes exports make (numbers where Okta
  writes text, empty strings where it writes an object).
"""

from __future__ import annotations

import hashlib
import logging
import re
import types
import typing
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from pydantic import BaseModel

from events.schemas import LogEvent

logger = logging.getLogger(__name__)

# Keys Okta writes inside `debugContext.debugData` that credwatch reads. The model
# types debugData as a plain dict, so these cannot be found by walking it.
DEBUG_DATA_KEYS: tuple[str, ...] = (
    "requestUri",
    "threatSuspected",
    "deviceFingerprint",
    "dtHash",
    "behaviors",
    "risk",
    "logOnlySecurityData",
    "threatDetections",
    "requestId",
    "url",
)

# Vendor enrichment (Panther's `p_log_type`, `p_enrichment`, ...) is not Okta's, so
# its subtree is left exactly as the vendor wrote it.
VENDOR_PREFIX = "p_"

# Values that stand in for a uuid that was scrubbed or never filled in.
_PLACEHOLDER_UUID = re.compile(
    r"(?i)(|redacted|<redacted>|\[redacted\]|null|none|nil|unknown|n/?a|uuid"
    r"|x+|\*+|[0-]+)"
)

# A fixed namespace so derived uuids are the same on every machine and run.
_UUID_NAMESPACE = uuid.UUID("5b0c4a4e-3f5e-4d39-9a57-0c6f2d1e8a31")


class _Shape:
    """The key names Okta writes at one level of an event, and where it nests."""

    __slots__ = ("by_lower", "leave_as_is", "children")

    def __init__(self, names: Iterable[str]) -> None:
        self.by_lower: dict[str, str] = {}
        for name in sorted(set(names)):
            other = self.by_lower.setdefault(name.lower(), name)
            # Two names differing only in case would make the table ambiguous;
            # fail at import rather than rename keys the wrong way.
            if other != name:
                raise RuntimeError(
                    f"key names {other!r} and {name!r} differ only in case"
                )
        # Keys known to need no renaming. It starts as the canonical names and
        # learns the extra keys met at this level, so the usual input costs one set
        # check per object; the cap keeps hostile input from growing it forever.
        self.leave_as_is: set[str] = set(self.by_lower.values())
        # canonical key -> shape of the object, or of each item of the list, there.
        self.children: dict[str, _Shape] = {}

    def renames_for(self, obj: dict[str, Any]) -> dict[str, str]:
        renames: dict[str, str] = {}
        for key in obj:
            if key in self.leave_as_is:
                continue
            canonical = self.by_lower.get(key.lower())
            if canonical is None or canonical == key:
                if len(self.leave_as_is) < _LEAVE_AS_IS_CAP:
                    self.leave_as_is.add(key)
            elif canonical not in obj:
                renames[key] = canonical
        return renames


_LEAVE_AS_IS_CAP = 5_000


def _model_types(annotation: Any) -> Iterable[type[BaseModel]]:
    """The pydantic models named anywhere in a field annotation (Optional, list)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation):
        for arg in typing.get_args(annotation):
            yield from _model_types(arg)


def _shape_of(model: type[BaseModel], free_keys: Mapping[str, Iterable[str]]) -> _Shape:
    names = {field.alias or name: field for name, field in model.model_fields.items()}
    shape = _Shape(names)
    for name, field in names.items():
        for nested in _model_types(field.annotation):
            shape.children[name] = _shape_of(nested, free_keys)
        if name in free_keys and name not in shape.children:
            shape.children[name] = _Shape(free_keys[name])
    return shape


# Plain-dict fields whose keys Okta writes in camelCase too: the model cannot list
# them, so they are named here.
_FREE_FORM_KEYS: dict[str, tuple[str, ...]] = {
    "debugData": DEBUG_DATA_KEYS,
    "detail": ("requestApiTokenId",),
}

_EVENT_SHAPE = _shape_of(LogEvent, _FREE_FORM_KEYS)


def normalise_keys(obj: Any) -> Any:
    """Return the event `obj` with lower-cased Okta key names restored to camelCase.

    Follows the structure of `LogEvent` down through its nested objects and lists
    (`client.userAgent`, `target[]`, `debugContext.debugData`, ...); at each level
    the keys Okta writes there are matched case-insensitively. Other keys, and
    whatever lies below them (vendor `p_*` enrichment, `detailEntry`), are left as
    they are. When both spellings of a key are present the camelCase one wins and
    the other is kept unchanged. A list is taken as a list of events. The input is
    never modified: objects that need no change are returned as they are, the others
    are copied.
    """
    if type(obj) is dict:
        return _normalise(obj, _EVENT_SHAPE)
    if type(obj) is list:
        return _normalise_items(obj, _EVENT_SHAPE)
    return obj


def spelled_as_okta(event: dict[str, Any]) -> bool:
    """Whether an event's top-level keys are in Okta's own spelling, as every event
    from Okta's API and Event Hooks is.

    Exporters lower-case every key of a record or none, so such an event needs no
    repair below the top level either, and reading spares the walk through it.
    """
    return "eventType" in event and _EVENT_SHAPE.leave_as_is.issuperset(event)


def _normalise(obj: dict[str, Any], shape: _Shape) -> dict[str, Any]:
    # This runs for every object of every event read, so it avoids calls: a nested
    # object is visited only when its keys or its own children could need work.
    copied = False
    if not shape.leave_as_is.issuperset(obj):
        renames = shape.renames_for(obj)
        if renames:
            obj = {renames.get(key, key): value for key, value in obj.items()}
            copied = True

    for key, child in shape.children.items():
        value = obj.get(key)
        kind = type(value)
        if kind is dict:
            if not child.children and child.leave_as_is.issuperset(value):  # type: ignore[arg-type]
                continue
            new_value: Any = _normalise(value, child)  # type: ignore[arg-type]
        elif kind is list:
            new_value = _normalise_items(value, child)  # type: ignore[arg-type]
        else:
            continue
        if new_value is not value:
            if not copied:
                obj = dict(obj)
                copied = True
            obj[key] = new_value
    return obj


def _normalise_items(items: list[Any], shape: _Shape) -> list[Any]:
    out: list[Any] | None = None
    leaf = not shape.children
    for index, item in enumerate(items):
        if type(item) is not dict or (leaf and shape.leave_as_is.issuperset(item)):
            continue
        new_item = _normalise(item, shape)
        if new_item is not item:
            if out is None:
                out = list(items)
            out[index] = new_item
    return items if out is None else out


def is_placeholder_uuid(value: str | None) -> bool:
    """True when `value` cannot serve as an event id: absent, blank or a stand-in
    such as "redacted", "null" or "XXXXXXXX"."""
    if value is None:
        return True
    return _PLACEHOLDER_UUID.fullmatch(value.strip()) is not None


def stable_uuid(obj: Mapping[str, Any]) -> str:
    """A uuid5 derived from the event's content, identical for identical events.

    The content is the key-normalised event without its `uuid` and without vendor
    `p_*` keys (those change each time a SIEM ingests the same event), serialised
    as JSON with sorted keys.
    """
    # Already-normalised input comes back as it is, so callers may pass either.
    normalised = normalise_keys(obj if type(obj) is dict else dict(obj))
    content = {
        key: value
        for key, value in normalised.items()
        if key != "uuid" and not key.startswith(VENDOR_PREFIX)
    }
    canonical = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    # uuid5 by hand, hashing the bytes directly (uuid.uuid5 wants text).
    digest = hashlib.sha1(
        _UUID_NAMESPACE.bytes + canonical, usedforsecurity=False
    ).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def repair_type_drift(
    event: dict[str, Any], errors: Iterable[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """A copy of `event` with the value drift that exports introduce undone, or None.

    `errors` are pydantic's validation errors for `event`. Two kinds are repaired:
    a number where the model expects text (a SIEM turned the postal code "10013"
    into 10013) becomes text, and an empty string where the model expects an object
    or list (a blank YAML value) becomes null. `uuid` and `eventType` are never
    repaired. Returns None when any error is of another kind, so the caller reports
    the event as invalid.
    """
    fixes: list[tuple[tuple[int | str, ...], Any]] = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        value = error.get("input")
        if not loc or loc[0] in ("uuid", "eventType"):
            return None
        kind = error.get("type")
        if kind == "string_type" and type(value) in (int, float):
            fixes.append((loc, str(value)))
        elif kind in ("model_type", "dict_type", "list_type") and value == "":
            fixes.append((loc, None))
        else:
            return None
    if not fixes:
        return None

    # A deep copy through JSON: this path is rare, and the caller's object stays
    # untouched.
    try:
        repaired: dict[str, Any] = orjson.loads(orjson.dumps(event))
    except orjson.JSONEncodeError:
        return None
    for loc, value in fixes:
        if not _set_at(repaired, loc, value):
            return None
    logger.debug("repaired %d drifted value(s) in an event", len(fixes))
    return repaired


def _set_at(root: Any, loc: tuple[int | str, ...], value: Any) -> bool:
    node = root
    for step in loc[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False
    last = loc[-1]
    if isinstance(node, dict) and last in node:
        node[last] = value
        return True
    if isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        node[last] = value
        return True
    return False

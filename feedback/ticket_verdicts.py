"""Reading an analyst's verdict and the incident out of a resolved Jira ticket.

Where the verdict lives is a setting: the resolution's name ("False Positive"), a
label (`verdict-expected`), or a custom field (a text or select field). Values are
compared without case and with `_`/`-` read as spaces, against built-in names that
settings can extend. Nothing is guessed: a value that names no verdict, or a ticket
without the `credwatch-incident-<id>` label, is reported as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from response.records import VERDICTS

VerdictSource = Literal["resolution", "label", "field"]

BUILT_IN_VALUES: dict[str, str] = {
    "true positive": "true-positive",
    "confirmed": "true-positive",
    "compromised": "true-positive",
    "malicious": "true-positive",
    "false positive": "false-positive",
    "not a threat": "false-positive",
    "expected": "expected",
    "benign": "expected",
    "benign expected": "expected",
    "expected activity": "expected",
    "known activity": "expected",
}
_INCIDENT_LABEL = re.compile(r"^credwatch-incident-(\d+)$")


@dataclass(frozen=True)
class TicketReading:
    """What a resolved ticket says; `problem` explains why nothing can be applied."""

    key: str
    updated: str | None
    incident_id: int | None
    verdict: str | None
    problem: str | None = None


def normalise(value: str) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", value).lower().split())


def verdict_values(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Value -> verdict: the built-in names plus `extra` (settings), normalised."""
    values = {normalise(k): v for k, v in BUILT_IN_VALUES.items()}
    for name, verdict in (extra or {}).items():
        if verdict not in VERDICTS:
            raise ValueError(
                f"verdict value {name!r} maps to {verdict!r}, "
                f"not one of {', '.join(VERDICTS)}"
            )
        values[normalise(name)] = verdict
    return values


def read_ticket(
    issue: dict[str, Any],
    *,
    source: VerdictSource,
    values: dict[str, str],
    label_prefix: str = "verdict-",
    field_id: str | None = None,
) -> TicketReading:
    """The incident and verdict a resolved ticket (raw JSON of an issue) names."""
    key = str(issue.get("key") or issue.get("id") or "?")
    fields = issue.get("fields") or {}
    labels = [str(label) for label in fields.get("labels") or []]
    updated = fields.get("updated")
    incidents = sorted(
        {int(m.group(1)) for label in labels if (m := _INCIDENT_LABEL.match(label))}
    )
    if not incidents:
        return TicketReading(key, updated, None, None, "names no credwatch incident")
    if len(incidents) > 1:
        named = ", ".join(map(str, incidents))
        return TicketReading(
            key, updated, None, None, f"names several incidents ({named})"
        )
    incident_id = incidents[0]

    raw = _raw_values(
        fields,
        source=source,
        labels=labels,
        label_prefix=label_prefix,
        field_id=field_id,
    )
    found = {values[normalise(v)] for v in raw if normalise(v) in values}
    if len(found) == 1:
        return TicketReading(key, updated, incident_id, found.pop())
    if len(found) > 1:
        problem = f"names conflicting verdicts ({', '.join(sorted(found))})"
    elif raw:
        problem = (
            f"resolved as {', '.join(repr(v) for v in raw)}, which names no verdict"
        )
    else:
        problem = (
            f"resolved without a verdict ({_where(source, field_id, label_prefix)})"
        )
    return TicketReading(key, updated, incident_id, None, problem)


def _raw_values(
    fields: dict[str, Any],
    *,
    source: VerdictSource,
    labels: list[str],
    label_prefix: str,
    field_id: str | None,
) -> list[str]:
    if source == "resolution":
        resolution = fields.get("resolution") or {}
        name = resolution.get("name") if isinstance(resolution, dict) else None
        return [name] if name else []
    if source == "label":
        prefix = label_prefix.lower()
        return [
            label[len(prefix) :] for label in labels if label.lower().startswith(prefix)
        ]
    if not field_id:
        raise ValueError(
            "the verdict comes from a custom field, but no field id is set"
        )
    return _field_texts(fields.get(field_id))


def _field_texts(value: Any) -> list[str]:
    """The text of a custom field: a string, an option `{value}`, a list of them."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        for name in ("value", "name"):
            if isinstance(value.get(name), str):
                return [value[name]]
        return []
    if isinstance(value, list):
        return [text for item in value for text in _field_texts(item)]
    return [str(value)]


def _where(source: VerdictSource, field_id: str | None, label_prefix: str) -> str:
    if source == "resolution":
        return "no resolution names one"
    if source == "label":
        return f"no label starts with {label_prefix!r}"
    return f"field {field_id} is empty"

"""Rich tables for people reading the CLI's output."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.table import Table

from models.schemas import Detection

TIER_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def riskiest_table(
    detections: Iterable[Detection],
    *,
    incidents: Mapping[str, Mapping[str, Any]],
    limit: int = 15,
) -> Table:
    """One row per identity, at its riskiest window, with its incident and actions."""
    best: dict[str, Detection] = {}
    for detection in detections:
        current = best.get(detection.identity_id)
        if current is None or detection.risk > current.risk:
            best[detection.identity_id] = detection
    ranked = sorted(best.values(), key=lambda d: -d.risk)[:limit]

    table = Table(title="Riskiest identities", show_lines=True, expand=True)
    table.add_column("identity", overflow="fold", ratio=2)
    table.add_column("kind")
    table.add_column("risk", justify="right")
    table.add_column("tier")
    table.add_column("why", overflow="fold", ratio=5)
    table.add_column("incident / actions (dry run)", overflow="fold", ratio=3)
    for detection in ranked:
        style = TIER_STYLES.get(detection.tier, "")
        name = detection.identity_name or ""
        incident = incidents.get(detection.identity_id)
        table.add_row(
            f"{name}\n{detection.identity_id}" if name else detection.identity_id,
            detection.identity_kind,
            f"{detection.risk:.0f}",
            f"[{style}]{detection.tier}[/{style}]" if style else detection.tier,
            "\n".join(f"• {reason}" for reason in detection.reasons[:3]),
            _incident_cell(incident),
        )
    return table


def incidents_table(rows: Iterable[Mapping[str, Any]]) -> Table:
    table = Table(title="Incidents", expand=True)
    for column in ("id", "identity", "tier", "status", "opened", "rules", "verdict"):
        table.add_column(column, overflow="fold")
    for row in rows:
        style = TIER_STYLES.get(str(row["tier"]), "")
        table.add_row(
            str(row["id"]),
            str(row.get("identity_name") or row["identity_id"]),
            f"[{style}]{row['tier']}[/{style}]" if style else str(row["tier"]),
            str(row["status"]),
            str(row["opened_at"]),
            ", ".join(row.get("rules") or []),
            str(row.get("verdict") or "-"),
        )
    return table


def _incident_cell(incident: Mapping[str, Any] | None) -> str:
    if incident is None:
        return "-"
    actions = incident.get("actions") or []
    kinds = ", ".join(str(action["kind"]) for action in actions) or "record only"
    return f"#{incident['id']} ({incident['status']})\n{kinds}"

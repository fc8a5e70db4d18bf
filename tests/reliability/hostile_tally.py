"""Counts of the hostile inputs tried, by target and by what became of them.

The reliability conftest prints them at the end of the run, so each run reports
how many cases the parser, the map loader and the endpoints were given.
"""

from __future__ import annotations

from collections import Counter

TALLY: Counter[tuple[str, str]] = Counter()


def count(target: str, outcome: str) -> None:
    TALLY[(target, outcome)] += 1


def lines() -> list[str]:
    targets: dict[str, Counter[str]] = {}
    for (target, outcome), number in TALLY.items():
        targets.setdefault(target, Counter())[outcome] += number
    found = []
    for target in sorted(targets):
        outcomes = targets[target]
        detail = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
        found.append(f"{target}: {sum(outcomes.values())} cases ({detail})")
    hostile = sum(
        number
        for (target, _outcome), number in TALLY.items()
        if not target.startswith("crash:") and not target.endswith(": worker")
    )
    if hostile:
        found.append(f"total: {hostile} hostile inputs tried")
    return found

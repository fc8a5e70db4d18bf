"""Learning from verdicts, measured: false alerts and recall before and after.

A world is simulated with an out-of-date deployment map (agents already running
from a second region the map does not declare, the corporate VPN missing), so the
first model, trained on the history, raises false alerts in the test days. Its
detections become incidents the way the response stage groups them: one open
incident per identity, resolved by an analyst `--resolve-hours` after it opened.

For each k, the verdicts of the first k incidents are given, from the simulation's
truth: an incident that a labelled compromise explains is a true positive, one
caused by what the map leaves out is expected, anything else a false positive. A
challenger is then retrained on everything before the k-th verdict
(training.challenger), and both models score the rest of the test period. Reported
at the incident tier (medium) and at high: false alerts and recall on the rest for
the champion, for the challenger, and for the challenger with the map proposals
accepted.

    .venv/bin/python -m bench.feedback_bench [--ks 0 5 10 20 40] [--seeds 31]
"""

from __future__ import annotations

import argparse
import bisect
import ipaddress
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import yaml

from events.readers import read_events
from events.schemas import LogEvent
from features.deployment import parse_deployment_map
from features.identity import IdentityResolver
from feedback.proposals import apply_to_map
from models.detector import Detector
from models.schemas import Detection, tier_rank
from response.service import MIN_INCIDENT_TIER
from simulator import simulate
from training.challenger import build_challenger
from training.evaluation import Label, evaluate, read_labels
from training.fit import fit_detector
from training.gates import compare
from training.spans import Span

TIERS = (MIN_INCIDENT_TIER, "high")
WARM_UP = timedelta(hours=2)


@dataclass
class Incident:
    number: int
    identity_id: str
    identity_kind: str
    opened: datetime
    resolved: datetime
    detections: list[Detection] = field(default_factory=list)
    verdict: str = ""


@dataclass
class World:
    out: Path
    history: list[LogEvent]
    test: list[LogEvent]
    labels: list[Label]
    map_document: dict
    left_out_agents: set[str]
    left_out_blocks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
    left_out_asns: set[int]
    events_by_id: dict[str, LogEvent]


def build_world(seed: int, *, people: int, agents: int, days: int, work: Path) -> World:
    out = work / f"world-{seed}"
    simulate(
        people=people, agents=agents, days=days, seed=seed, out=out, stale_map=True
    )
    history = list(read_events([out / "history.jsonl"], quarantine=None))
    test = list(read_events([out / "test.jsonl"], quarantine=None))
    left_out = orjson.loads((out / "map_left_out.json").read_bytes())
    blocks, asns = [], set()
    for network in left_out["known_networks"]:
        blocks.extend(ipaddress.ip_network(c) for c in network.get("cidrs", []))
        asns.update(network.get("asns", []))
    for agent in left_out["agents"]:
        blocks.extend(ipaddress.ip_network(c) for c in agent["networks"])
    return World(
        out=out,
        history=history,
        test=test,
        labels=read_labels(out / "labels.jsonl"),
        map_document=yaml.safe_load((out / "deployment.yaml").read_text()),
        left_out_agents={agent["identity_id"] for agent in left_out["agents"]},
        left_out_blocks=blocks,
        left_out_asns=asns,
        events_by_id={event.uuid: event for event in test},
    )


def incidents_of(
    detections: Sequence[Detection], *, resolve_after: timedelta
) -> list[Incident]:
    """Group detections as the response stage does, resolving each after a delay."""
    open_by_identity: dict[str, Incident] = {}
    incidents: list[Incident] = []
    alerts = [
        d for d in detections if tier_rank(d.tier) >= tier_rank(MIN_INCIDENT_TIER)
    ]
    for detection in sorted(alerts, key=lambda d: (d.detected_at, d.identity_id)):
        current = open_by_identity.get(detection.identity_id)
        if current is None or detection.detected_at >= current.resolved:
            current = Incident(
                number=len(incidents) + 1,
                identity_id=detection.identity_id,
                identity_kind=detection.identity_kind,
                opened=detection.detected_at,
                resolved=detection.detected_at + resolve_after,
            )
            incidents.append(current)
            open_by_identity[detection.identity_id] = current
        current.detections.append(detection)
    return incidents


def true_verdict(incident: Incident, world: World) -> str:
    if any(label.explains(d) for d in incident.detections for label in world.labels):
        return "true-positive"
    if incident.identity_id in world.left_out_agents:
        return "expected"
    for detection in incident.detections:
        for uuid in detection.event_ids:
            event = world.events_by_id.get(uuid)
            if event is not None and _in_left_out(event, world):
                return "expected"
    return "false-positive"


def _in_left_out(event: LogEvent, world: World) -> bool:
    if event.asn is not None and event.asn in world.left_out_asns:
        return True
    try:
        address = ipaddress.ip_address(event.ip or "")
    except ValueError:
        return False
    return any(address in block for block in world.left_out_blocks)


def span_of(incident: Incident) -> Span:
    first = min(d.window_start for d in incident.detections)
    return Span(
        incident_id=incident.number,
        identity_id=incident.identity_id,
        identity_kind=incident.identity_kind,
        start=first.replace(minute=0, second=0, microsecond=0),
        end=max(d.window_end for d in incident.detections),
        verdict=incident.verdict,
        rules=tuple(sorted({rule for d in incident.detections for rule in d.rules})),
    )


def rest_quality(
    detections: Sequence[Detection],
    labels: Sequence[Label],
    *,
    since: datetime,
    tier: str,
) -> tuple[int, int, int]:
    """False alerts, compromises found and compromises, from `since` on.

    Alerts count when their window reaches `since` (both models have scored the
    hours before it). An alert is false when no compromise explains it, whenever
    that compromise began; recall counts the compromises still going on at `since`.
    """
    rest = [d for d in detections if d.window_end >= since]
    later = [label for label in labels if label.end >= since]
    false_alerts = evaluate(rest, labels=labels, tier=tier).false_alerts
    quality = evaluate(rest, labels=later, tier=tier)
    found = sum(hit for hit, _ in quality.recall_by_scenario.values())
    return false_alerts, found, len(later)


def score_rest(
    detector: Detector, events: Sequence[LogEvent], deployment: dict
) -> list[Detection]:
    resolver = IdentityResolver(parse_deployment_map(deployment))
    return detector.scorer(resolver).score_batch(events)


def run_world(
    seed: int,
    *,
    ks: Sequence[int],
    people: int,
    agents: int,
    days: int,
    resolve_hours: float,
    work: Path,
    ablation: bool = True,
) -> list[dict]:
    began = time.perf_counter()
    world = build_world(seed, people=people, agents=agents, days=days, work=work)
    deployment = parse_deployment_map(world.map_document)
    champion, _frame, _report = fit_detector(
        world.history, resolver=IdentityResolver(deployment)
    )
    champion_detections = champion.scorer(IdentityResolver(deployment)).score_batch(
        world.test
    )
    incidents = incidents_of(
        champion_detections, resolve_after=timedelta(hours=resolve_hours)
    )
    for incident in incidents:
        incident.verdict = true_verdict(incident, world)
    test_times = [event.published for event in world.test]
    test_start = min(test_times)
    print(
        f"world seed {seed}: {len(world.history) + len(world.test):,} events, "
        f"{len(incidents)} incidents on the test days "
        f"({_verdict_counts(incidents)}), "
        f"set up in {time.perf_counter() - began:.0f} s",
        flush=True,
    )

    rows = []
    ordered_test = sorted(world.test, key=lambda e: e.published)
    published = [e.published for e in ordered_test]
    for k in ks:
        if k > len(incidents):
            print(f"  k={k}: only {len(incidents)} incidents, skipped", flush=True)
            continue
        cut = incidents[k - 1].resolved if k else test_start
        cut_index = bisect.bisect_left(published, cut)
        before = ordered_test[:cut_index]
        # The new model starts scoring a little before the cut, so sessions and
        # bursts under way are not new to it; only alerts from the cut on count.
        rest = ordered_test[bisect.bisect_left(published, cut - WARM_UP) :]
        spans = [span_of(incident) for incident in incidents[:k]]
        # Incidents open at the cut: nobody has judged them yet.
        unjudged = [
            span_of(incident) for incident in incidents[k:] if incident.opened < cut
        ]
        row = {
            "seed": seed,
            "k": k,
            "cut": cut,
            "rest_events": len(ordered_test) - cut_index,
            "verdicts": _verdict_counts(incidents[:k]),
        }
        started = time.perf_counter()
        refit_detector = after_detector = champion
        accepted = world.map_document
        row["proposals"], row["weights"] = 0, {}
        if k:
            history = [*world.history, *before]
            challenger = build_challenger(
                history,
                spans=spans,
                unjudged=unjudged,
                prior=champion.weights,
                resolver=IdentityResolver(deployment),
                recent_start=test_start,
            )
            after_detector = challenger.detector
            # The gate as `retrain` applies it: both models on the judged history.
            gate = compare(
                champion,
                after_detector,
                before,
                resolver=IdentityResolver(deployment),
                spans=spans,
                baselines=challenger.snapshot,
            )
            row["promoted"] = gate.promote
            row["gate"] = gate.reason
            accepted = apply_to_map(world.map_document, challenger.proposals)
            row["proposals"] = len(challenger.proposals)
            row["weights"] = challenger.fit.changes(champion.weights)
            row["tempered"] = dict(getattr(after_detector, "familiar_severity", {}))
            if ablation:
                # The same refit with no verdicts: what the verdicts themselves add.
                refit_detector = build_challenger(
                    history,
                    spans=[],
                    unjudged=[*spans, *unjudged],
                    prior=champion.weights,
                    resolver=IdentityResolver(deployment),
                    recent_start=test_start,
                ).detector
        row["retrain_seconds"] = time.perf_counter() - started
        scored = {
            "before": champion_detections,
            "refit": score_rest(refit_detector, rest, world.map_document),
            "after": score_rest(after_detector, rest, world.map_document),
            "accepted": score_rest(after_detector, rest, accepted),
        }
        for tier in TIERS:
            for variant, detections in scored.items():
                row[(variant, tier)] = rest_quality(
                    detections, world.labels, since=cut, tier=tier
                )
        rows.append(row)
        print(f"  k={k}: {_row_text(row)}", flush=True)
    return rows


def _verdict_counts(incidents: Sequence[Incident]) -> str:
    counts: dict[str, int] = {}
    for incident in incidents:
        counts[incident.verdict] = counts.get(incident.verdict, 0) + 1
    return ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "none"


def _quality(value: tuple[int, int, int]) -> str:
    false_alerts, found, total = value
    return f"{false_alerts} false, recall {found}/{total}"


def _row_text(row: dict) -> str:
    tier = MIN_INCIDENT_TIER
    return (
        f"before {_quality(row[('before', tier)])}; refit without verdicts "
        f"{_quality(row[('refit', tier)])}; after {_quality(row[('after', tier)])}; "
        f"with proposals accepted {_quality(row[('accepted', tier)])} "
        f"[{row['verdicts'] or 'no verdicts'}; tempered {row.get('tempered') or '-'}; "
        f"gate: {row.get('gate', '-')}; "
        f"retrain {row['retrain_seconds']:.0f} s]"
    )


VARIANTS = ("before", "refit", "after", "accepted")


def report(rows: list[dict]) -> str:
    lines = [
        "| k verdicts | tier | false alerts on the rest: before / "
        "refit without verdicts "
        "/ after / after + map proposals accepted | recall on the rest (same order) "
        "| false alerts kept after | challenger promoted by the gate |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for k in sorted({row["k"] for row in rows}):
        group = [row for row in rows if row["k"] == k]
        for tier in TIERS:
            fa = [sum(row[(v, tier)][0] for row in group) for v in VARIANTS]
            found = [sum(row[(v, tier)][1] for row in group) for v in VARIANTS]
            total = sum(row[("before", tier)][2] for row in group)
            kept = f"{fa[2] / fa[0]:.0%}" if fa[0] else "-"
            promoted = sum(bool(row.get("promoted")) for row in group) if k else 0
            lines.append(
                f"| {k} | {tier} | {' / '.join(map(str, fa))} | "
                f"{' / '.join(f'{n}/{total}' for n in found)} | {kept} | "
                f"{promoted} of {len(group) if k else 0} worlds |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[31])
    parser.add_argument("--ks", type=int, nargs="+", default=[0, 5, 10, 20, 40])
    parser.add_argument("--people", type=int, default=150)
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--days", type=int, default=12)
    parser.add_argument("--resolve-hours", type=float, default=4.0)
    parser.add_argument(
        "--no-ablation",
        action="store_true",
        help="skip the refit without verdicts (one retrain less per k)",
    )
    args = parser.parse_args(argv)

    rows: list[dict] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="credwatch-feedback-") as work:
        for seed in args.seeds:
            rows.extend(
                run_world(
                    seed,
                    ks=args.ks,
                    people=args.people,
                    agents=args.agents,
                    days=args.days,
                    resolve_hours=args.resolve_hours,
                    work=Path(work),
                    ablation=not args.no_ablation,
                )
            )
    table = report(rows)
    retrains = [row["retrain_seconds"] for row in rows if row["k"]]
    print(
        f"\nFeedback on an out-of-date map; seeds {args.seeds}, {args.people} people, "
        f"{args.agents} agents, {args.days} days; incidents resolved after "
        f"{args.resolve_hours:g} h; {time.perf_counter() - started:.0f} s in all"
        + (f", median retrain {statistics.median(retrains):.0f} s" if retrains else "")
        + "\n"
    )
    print(table)
    return table


if __name__ == "__main__":
    main()

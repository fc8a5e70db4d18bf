"""`credwatch demo`: the whole loop on simulated traffic, with no credentials."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from credwatch import pipeline
from credwatch.errors import CredwatchError
from credwatch.render import riskiest_table
from credwatch.settings import Settings
from features.deployment import load_deployment_map
from training.evaluation import Evaluation, evaluate, read_labels

DEMO_CHAMPION_MARK = "demo-champion"


def _refuse_a_home_in_use(settings: Settings) -> None:
    """A home whose champion the demo did not make serves real work: the demo's
    simulated model and incidents must not take its place."""
    from training.registry import champion_version

    serving = champion_version(settings)
    mark = settings.home / DEMO_CHAMPION_MARK
    made_by_demo = mark.exists() and mark.read_text().strip() == serving
    if serving is not None and not made_by_demo:
        raise CredwatchError(
            f"{settings.home} already serves model version {serving}, which the demo "
            "did not make; run the demo in a home of its own, e.g. "
            "CREDWATCH_HOME=$(mktemp -d) credwatch demo"
        )


def run_demo(
    *,
    settings: Settings,
    people: int,
    agents: int,
    days: int,
    seed: int,
    console: Console,
    progress: Callable[[], Progress],
) -> None:
    from response.flows import incidents_as_dicts
    from simulator import simulate
    from training.registry import CHAMPION, set_alias

    world = settings.home / "demo"
    _refuse_a_home_in_use(settings)
    shutil.rmtree(world, ignore_errors=True)
    started = time.perf_counter()

    with console.status("simulating Okta traffic for people and AI agents"):
        summary = simulate(people=people, agents=agents, days=days, seed=seed, out=world)
    console.print(f"[bold]1. simulated[/bold] {describe_world(summary)}")
    deployment = load_deployment_map(world / "deployment.yaml")

    with progress() as bar:
        task = bar.add_task("training on history", total=None)
        trained = pipeline.train(
            [world / "history.jsonl"], settings=settings, deployment=deployment,
            on_event=lambda n: bar.advance(task, n),
        )
    # The demo's model serves next (`credwatch serve`); the mark lets a later demo
    # replace it, and only it.
    set_alias(settings, CHAMPION, trained.version)
    (settings.home / DEMO_CHAMPION_MARK).write_text(trained.version)
    console.print(
        f"[bold]2. trained[/bold] model version {trained.version} (champion) on "
        f"{trained.events:,} events: {trained.identities} identities, "
        f"{trained.windows:,} hourly windows"
    )

    with progress() as bar:
        task = bar.add_task("scoring the test days", total=None)
        scored = pipeline.score(
            [world / "test.jsonl"], settings=settings, deployment=deployment,
            out=world / "detections.jsonl", on_event=lambda n: bar.advance(task, n),
        )
    console.print(
        f"[bold]3. scored[/bold] {scored.report.events:,} events: "
        f"{len(scored.detections)} detections written to {world / 'detections.jsonl'}"
    )

    incident_ids = pipeline.respond_all(
        scored.detections, settings=settings, deployment=deployment
    )
    incidents = {
        row["identity_id"]: row
        for row in incidents_as_dicts(settings=settings, open_only=False)
        if row["id"] in set(incident_ids.values())
    }
    console.print(
        f"[bold]4. responded[/bold] {len(incidents)} incidents opened, actions "
        f"recorded as dry run in {settings.resolved_database_url}"
    )

    console.print(riskiest_table(scored.detections, incidents=incidents))
    quality = evaluate(
        scored.detections,
        labels=read_labels(world / "labels.jsonl"),
        lookalikes=read_labels(world / "lookalikes.jsonl"),
        tier="high",
    )
    console.print(_quality_table(quality))
    console.print(
        f"done in {time.perf_counter() - started:.1f} s. Next: `credwatch serve`, "
        f"`credwatch incidents`, or score your own export with "
        f"`credwatch score FILE --out detections.jsonl`."
    )


def describe_world(summary) -> str:
    return (
        f"{summary.people} people and {summary.agents} AI agents: "
        f"{summary.history_events:,} history events, {summary.test_events:,} test "
        f"events with {summary.labels} injected compromises and "
        f"{summary.lookalikes} benign look-alikes"
    )


def _quality_table(quality: Evaluation) -> Table:
    table = Table(title=f"Injected compromises found (tier {quality.tier} and above)")
    table.add_column("scenario")
    table.add_column("found", justify="right")
    for scenario, (found, total) in quality.recall_by_scenario.items():
        table.add_row(scenario, f"{found}/{total}")
    for scenario, (alerted, total) in quality.lookalikes_alerted.items():
        table.add_row(f"[dim]look-alike[/dim] {scenario}", f"{alerted}/{total} alerted")
    table.add_row("[bold]alerts on benign identities[/bold]", str(quality.false_alerts))
    return table

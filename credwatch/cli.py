"""The `credwatch` command line (contracts section 3)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from credwatch.errors import CredwatchError
from credwatch.settings import Settings, get_settings, redact_passwords

app = typer.Typer(
    help="Catch shared and stolen Okta credentials of AI agents and people.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()

PathsArg = Annotated[list[Path], typer.Argument(help="Event files or folders", exists=True)]
MapOpt = Annotated[Path | None, typer.Option("--map", help="Deployment map (YAML)", exists=True, dir_okay=False)]


def _settings() -> Settings:
    settings = get_settings()
    settings.ensure_home()
    return settings


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
        MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True,
    )


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command()
def train(paths: PathsArg, map_path: MapOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Learn identity baselines and fit the model; register it in MLflow."""
    from credwatch import pipeline

    settings = _settings()
    deployment = pipeline.load_map(map_path, settings)
    with _progress() as progress:
        task = progress.add_task("reading and learning", total=None)
        result = pipeline.train(
            paths, settings=settings, deployment=deployment,
            on_event=lambda n: progress.advance(task, n),
        )
    summary = {
        "version": result.version, "champion": result.champion, "events": result.events,
        "identities": result.identities, "windows": result.windows,
        "mature_identities": result.mature_identities,
        "quarantined": result.read.quarantined,
        "quarantine_file": str(result.quarantine_path) if result.quarantine_path else None,
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    alias = " (champion)" if result.champion else ""
    out.print(
        f"trained model version {result.version}{alias} on {result.events:,} events, "
        f"{result.identities:,} identities, {result.windows:,} windows"
    )
    _report_quarantine(result.read.quarantined, result.quarantine_path)
    _report_skipped(result.read.files_skipped)
    if result.mature_identities < result.identities:
        from features.baseline import MATURE_EVENTS, MATURE_HOURS

        console.print(
            f"[yellow]{result.identities - result.mature_identities:,} of "
            f"{result.identities:,} identities have too little history for novelty "
            f"to count yet ({MATURE_EVENTS} events over {MATURE_HOURS} active "
            "hours); give more history to judge them on it[/yellow]"
        )


@app.command()
def score(
    paths: PathsArg,
    out_path: Annotated[Path, typer.Option("--out", help="Detections file (JSON Lines)")],
    map_path: MapOpt = None,
    respond: Annotated[bool, typer.Option(help="Open incidents and record actions")] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score events with the champion model and write detections."""
    from credwatch import pipeline

    settings = _settings()
    deployment = pipeline.load_map(map_path, settings)
    with _progress() as progress:
        task = progress.add_task("reading and scoring", total=None)
        result = pipeline.score(
            paths, settings=settings, deployment=deployment, out=out_path,
            on_event=lambda n: progress.advance(task, n),
        )
    incidents = (
        pipeline.respond_all(result.detections, settings=settings, deployment=deployment)
        if respond else {}
    )
    by_tier: dict[str, int] = {}
    for detection in result.detections:
        by_tier[detection.tier] = by_tier.get(detection.tier, 0) + 1
    summary = {
        "events": result.read.events, "duplicates": result.report.duplicates,
        "undated": result.report.undated, "unattributed": result.report.unattributed,
        "detections": len(result.detections),
        "by_tier": by_tier, "incidents": len(set(incidents.values())),
        "quarantined": result.read.quarantined, "out": str(out_path),
        "model_version": result.model_version,
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    tiers = ", ".join(f"{count} {tier}" for tier, count in sorted(by_tier.items())) or "none"
    repeats = f" ({result.report.duplicates:,} repeated deliveries)" if result.report.duplicates else ""
    out.print(
        f"scored {result.read.events:,} events{repeats} with model version "
        f"{result.model_version}: {len(result.detections)} detections ({tiers}), "
        f"{summary['incidents']} incidents; written to {out_path}"
    )
    _report_quarantine(result.read.quarantined, result.quarantine_path)
    _report_skipped(result.read.files_skipped)
    if result.unmapped_agents:
        console.print(
            f"[yellow]the model was trained with a deployment map of "
            f"{result.unmapped_agents} agents, and this scoring has none: agents are "
            "judged as people or services (give --map or set CREDWATCH_MAP)[/yellow]"
        )


@app.command()
def simulate(
    people: Annotated[int, typer.Option(min=1)] = 40,
    agents: Annotated[int, typer.Option(min=1)] = 12,
    days: Annotated[int, typer.Option(min=2)] = 7,
    seed: int = 7,
    out_dir: Annotated[Path, typer.Option("--out")] = Path("simulated"),
    stale_map: Annotated[bool, typer.Option("--stale-map", help="Write an out-of-date map (second regions in use, the VPN left out)")] = False,
) -> None:
    """Write simulated Okta traffic with labelled compromises and a deployment map."""
    from credwatch.demo import describe_world
    from simulator import simulate as run_simulation

    with console.status("simulating traffic"):
        summary = run_simulation(
            people=people, agents=agents, days=days, seed=seed, out=out_dir, stale_map=stale_map
        )
    out.print(f"wrote {describe_world(summary)} to {out_dir}")


@app.command()
def serve(
    map_path: MapOpt = None,
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Run the scoring API (see docs/deploy.md)."""
    import os

    from serving.server import run

    if map_path is not None:
        os.environ["CREDWATCH_MAP"] = str(map_path)
        get_settings.cache_clear()
    run(host=host, port=port, workers=workers)


keys_app = typer.Typer(help="API keys of the scoring service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: str,
    scope: Annotated[str, typer.Option(help="score, read or admin")] = "score",
    rate: Annotated[int | None, typer.Option(help="Requests per minute (default: CREDWATCH_API_RATE_PER_MINUTE)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API key; it is shown once and stored only as a hash."""
    from credwatch.keys import create_key

    key, info = create_key(_settings(), name, scope=scope, rate_per_minute=rate)
    if as_json:
        sys.stdout.write(json.dumps({**info, "key": key}) + "\n")
        return
    out.print(f"API key {name} (scope {scope}):")
    out.print(key, highlight=False, soft_wrap=True)
    console.print("[yellow]Store it now: credwatch keeps only its hash.[/yellow]")


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List API keys (never the keys themselves)."""
    from credwatch.keys import list_keys

    rows = list_keys(_settings())
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        out.print(f"{row['name']}  {row['scope']}  {row['key_starts']}...  {state}", highlight=False)


@keys_app.command("revoke")
def keys_revoke(name: str) -> None:
    """Revoke an API key; running services refuse it within seconds."""
    from credwatch.keys import revoke_key

    row = revoke_key(_settings(), name)
    out.print(f"API key {name} revoked at {row['revoked_at']}")


@app.command()
def incidents(
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List incidents."""
    from response.flows import incidents_as_dicts
    from credwatch.render import incidents_table

    rows = incidents_as_dicts(settings=_settings(), open_only=open_only)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    out.print(incidents_table(rows))


@app.command()
def verdict(
    incident: int,
    value: Annotated[str, typer.Argument(metavar="true-positive|false-positive|expected")],
) -> None:
    """Record an analyst's verdict on an incident and resolve it."""
    from feedback.flows import give_verdict

    result = give_verdict(
        settings=_settings(), incident_id=incident, verdict=value, actor=_actor(), source="cli"
    )
    out.print(f"incident {result['id']} resolved as {result['verdict']}")
    if result.get("suppression_id"):
        out.print(f"its pattern is suppressed (suppression {result['suppression_id']}); "
                  "see `credwatch suppressions`")


@app.command()
def release(identity: str) -> None:
    """Undo the actions taken on an identity (recorded in the audit trail)."""
    from response.flows import release as release_identity

    rows = release_identity(settings=_settings(), identity_id=identity)
    out.print(f"{len(rows)} reversal actions for {identity}")
    for row in rows:
        out.print(f"  {row['kind']}: {row['status']} ({row['mode']}) - {row['outcome']}")


@app.command()
def watch(
    map_path: MapOpt = None,
    since: Annotated[str | None, typer.Option(help="First poll from this ISO 8601 time (default: now)")] = None,
    replay: Annotated[list[Path] | None, typer.Option(help="Replay these files or folders instead of polling Okta", exists=True)] = None,
    speed: Annotated[float, typer.Option(min=0, help="Replay X times faster than real time; 0 = as fast as possible")] = 0.0,
) -> None:
    """Poll the Okta System Log (or replay files), score each event, respond and ticket."""
    from credwatch import pipeline
    from credwatch.watch import parse_since, run_watch

    settings = _settings()
    deployment = pipeline.load_map(map_path, settings)
    source = "replaying files" if replay else f"polling {settings.okta_org_url}"
    console.print(f"watching: {source}, response mode {settings.response_mode}; Ctrl-C stops")
    try:
        report = run_watch(
            settings=settings, deployment=deployment, since=parse_since(since),
            replay=replay, speed=speed,
        )
    except KeyboardInterrupt:
        console.print("stopped")
        return
    out.print(report.summary())


@app.command()
def actions(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List actions waiting for a person: held by the circuit breaker, or failed."""
    from response.flows import waiting_actions_as_dicts

    rows = waiting_actions_as_dicts(settings=_settings())
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        out.print("no action is waiting")
    for row in rows:
        out.print(
            f"{row['id']:>6}  {row['status']:<7} {row['kind']:<16} {row['identity_id']:<24} "
            f"incident {row['incident_id']}: {row['outcome']}"
        )


@app.command()
def approve(action: int) -> None:
    """Approve a held or failed action and carry it out now."""
    from response.flows import approve_action

    row = approve_action(settings=_settings(), action_id=action)
    out.print(f"action {row['id']} ({row['kind']} on {row['identity_id']}): {row['status']} - {row['outcome']}")


@app.command()
def drop(action: int) -> None:
    """Drop a held or failed action: it will not run."""
    from response.flows import drop_action

    row = drop_action(settings=_settings(), action_id=action)
    out.print(f"action {row['id']} ({row['kind']} on {row['identity_id']}) dropped")


@app.command()
def models(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List registered model versions, their aliases, metrics and promotion decisions."""
    from training.promotion import describe_versions

    versions = describe_versions(_settings())
    if as_json:
        sys.stdout.write(json.dumps(versions, indent=2, default=str) + "\n")
        return
    if not versions:
        out.print("no model registered yet; run `credwatch train`")
    for item in versions:
        aliases = ", ".join(item.get("aliases") or []) or "-"
        out.print(
            f"version {item['version']}  {item['created']:%Y-%m-%d %H:%M}  aliases: {aliases}  "
            f"run: {item['run_id']}", highlight=False,
        )
        shown = item.get("shown_metrics") or {}
        if shown:
            out.print("    " + ", ".join(f"{k} {v:g}" for k, v in shown.items()), highlight=False)
        if item.get("tags", {}).get("decision_reason"):
            out.print(f"    {item['tags']['decision_reason']}", highlight=False)


@app.command()
def demo(
    people: int = 60,
    agents: int = 16,
    days: int = 7,
    seed: int = 7,
) -> None:
    """The whole loop on simulated traffic: simulate, train, score, respond."""
    from credwatch.demo import run_demo

    run_demo(settings=_settings(), people=people, agents=agents, days=days, seed=seed,
             console=out, progress=_progress)


db_app = typer.Typer(help="The database's schema: migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _engine():
    from credwatch.db import make_engine

    return make_engine(_settings().resolved_database_url)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Option(help="Target revision")] = "head") -> None:
    """Apply the migrations the database lacks (every command also does this at start)."""
    from credwatch.migrate import current_revision, upgrade

    engine = _engine()
    try:
        upgrade(engine, revision)
        out.print(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and the newest one."""
    from credwatch.migrate import current_revision, head_revision

    engine = _engine()
    try:
        out.print(f"database at {current_revision(engine) or 'nothing'}; newest is {head_revision()}")
    finally:
        engine.dispose()


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("-m", "--message", help="What the migration does")]) -> None:
    """Draft a migration for model changes (development): review the file it writes."""
    from credwatch.migrate import make_revision, upgrade

    engine = _engine()
    try:
        upgrade(engine)
        out.print(f"wrote {make_revision(engine, message)}")
    finally:
        engine.dispose()


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go, delete nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Delete events and what was derived from them once older than the retention."""
    from credwatch.retention import purge as run_purge

    report = run_purge(_settings(), dry_run=dry_run)
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict()) + "\n")
        return
    out.print(report.summary())


audit_app = typer.Typer(help="The tamper-evident audit chain of actions and verdicts.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check every audit record's hash and link, and each action against its record."""
    from response.audit_chain import verify
    from response.flows import session_factory

    with session_factory(_settings())() as session:
        result = verify(session)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
    elif result.ok:
        out.print(
            f"audit chain intact: {result.records} records, {result.rows_checked} audited "
            f"rows match; head {result.head_hash}"
        )
    else:
        if result.fault:
            out.print(f"audit chain broken at record {result.fault_seq}: {result.fault}")
        for problem in result.problems:
            out.print(f"audit trail altered: {problem}")
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def feedback(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Read verdicts from Jira tickets resolved since the last run and apply them."""
    from feedback.flows import pull_jira_verdicts

    report = pull_jira_verdicts(settings=_settings())
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    out.print(
        f"{report['tickets']} resolved tickets read: {len(report['applied'])} verdicts "
        f"applied, {report['unchanged']} already known, {len(report['problems'])} left alone"
    )
    for item in report["applied"]:
        out.print(f"  {item['ticket']}: incident {item['incident_id']} {item['verdict']}")
    for item in report["problems"]:
        out.print(f"  [yellow]{item['ticket']}: {item['problem']}[/yellow]")


@app.command()
def retrain(
    paths: Annotated[list[Path] | None, typer.Argument(help="Event files or folders (default: the event store)", exists=True)] = None,
    map_path: MapOpt = None,
    promote: Annotated[bool, typer.Option(help="Promote the challenger when it passes the gate")] = True,
    summary: Annotated[bool, typer.Option(help="Publish the summary page afterwards")] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Learn from the verdicts: register a challenger, gate it against the champion."""
    from credwatch import pipeline
    from training.retrain import retrain as run_retrain

    settings = _settings()
    deployment = pipeline.load_map(map_path, settings)
    with console.status("retraining from the verdicts"):
        result = run_retrain(
            settings=settings, deployment=deployment, paths=paths or [], actor=_actor(),
            promote=promote,
        )
    report = result.as_dict()
    if summary:
        from feedback.summary import after_retrain

        report["summary"] = after_retrain(settings, result)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
        return
    out.print(f"version {result.version} registered as challenger: {result.comparison.reason}")
    if result.promoted:
        out.print(f"version {result.version} is now the champion (was {result.champion_version})")
    tempered = report["tempered"]
    if tempered:
        out.print("learned: " + ", ".join(f"{rule} on familiar ground counts as {sev}" for rule, sev in tempered.items()))
    if result.proposals:
        out.print(f"{len(result.proposals)} map changes proposed; see `credwatch proposals`")
    if summary:
        out.print(f"summary: {report['summary']}")


@app.command()
def promote(version: str) -> None:
    """Make VERSION the champion (the previous one is kept for rollback)."""
    from training.promotion import promote as promote_version

    previous = promote_version(_settings(), version, actor=_actor(), reason="promoted by hand")
    out.print(f"version {version} is the champion (was {previous or 'none'})")


@app.command()
def rollback() -> None:
    """Give the champion alias back to the version that held it before."""
    from training.promotion import rollback as roll_back

    current, target = roll_back(_settings(), actor=_actor())
    out.print(f"champion rolled back from version {current} to {target}")


@app.command("summary")
def summary_now(map_path: MapOpt = None) -> None:
    """Write this week's summary page now (drift, patterns, metrics, proposals)."""
    from datetime import UTC, datetime

    from credwatch import pipeline
    from feedback.schedule import weekly_summary

    settings = _settings()
    where = weekly_summary(
        settings=settings, deployment=pipeline.load_map(map_path, settings), now=datetime.now(UTC)
    )
    out.print(f"summary: {where}")


suppressions_app = typer.Typer(help="Patterns that raise no incident for a while.")
app.add_typer(suppressions_app, name="suppressions")


@suppressions_app.callback(invoke_without_command=True)
def suppressions_list(
    ctx: typer.Context,
    active: Annotated[bool, typer.Option("--active", help="Only those in force")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List suppressions (newest first)."""
    if ctx.invoked_subcommand is not None:
        return
    from feedback.flows import list_suppressions

    rows = list_suppressions(settings=_settings(), active_only=active)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        out.print("no suppression")
    for row in rows:
        state = "active" if row["active"] else ("lifted" if row["lifted_at"] else "expired")
        scope = ", ".join(x for x in (row["network"] and f"network {row['network']}", row["client"] and f"client {row['client']}") if x) or "any network or client"
        out.print(
            f"{row['id']:>5}  {state:<7} {row['identity_id']}  {scope}  until {row['expires_at']}  ({row['reason']})",
            highlight=False,
        )


@suppressions_app.command("add")
def suppressions_add(
    identity: str,
    hours: Annotated[float, typer.Option(min=0.01, help="How long")] = 168.0,
    network: Annotated[str | None, typer.Option(help="Only this network (AS123 or an address block)")] = None,
    client: Annotated[str | None, typer.Option(help="Only this client family (python-requests, browser:Chrome)")] = None,
    reason: str = "added by hand",
) -> None:
    """Suppress incidents of IDENTITY (optionally one network or client) for a while."""
    from feedback.flows import add_suppression

    row = add_suppression(settings=_settings(), identity_id=identity, hours=hours, actor=_actor(),
                          network=network, client=client, reason=reason)
    narrowed = "".join(
        f" on {kind} {row[kind]}" for kind in ("network", "client") if row.get(kind)
    )
    out.print(
        f"suppression {row['id']} of {row['identity_id']}{narrowed} "
        f"until {row['expires_at']}"
    )


@suppressions_app.command("remove")
def suppressions_remove(suppression: int) -> None:
    """Lift a suppression now."""
    from feedback.flows import lift_suppression

    row = lift_suppression(settings=_settings(), suppression_id=suppression, actor=_actor())
    out.print(f"suppression {row['id']} lifted at {row['lifted_at']}")


proposals_app = typer.Typer(help="Deployment-map changes that expected verdicts suggest.")
app.add_typer(proposals_app, name="proposals")


@proposals_app.callback(invoke_without_command=True)
def proposals_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Also accepted and rejected ones")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List proposed map changes."""
    if ctx.invoked_subcommand is not None:
        return
    from feedback.flows import list_proposals

    rows = list_proposals(settings=_settings(), status=None if all_ else "proposed")
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        out.print("no map change proposed")
    for row in rows:
        incidents = ", ".join(map(str, row["detail"].get("incidents", [])))
        out.print(f"{row['id']:>5}  {row['status']:<8} {row['change']}  (incidents {incidents})", highlight=False)


@proposals_app.command("accept")
def proposals_accept(
    proposal: int,
    map_path: MapOpt = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="Write the changed map here (default: in place, keeping a .bak)")] = None,
) -> None:
    """Accept a proposal: write its change into the deployment map."""
    from feedback.flows import decide_proposal

    row = decide_proposal(settings=_settings(), proposal_id=proposal, accept=True, actor=_actor(),
                          map_path=map_path, out=out_path)
    out.print(f"accepted: {row['change']}; map written to {row['written_to']}")


@proposals_app.command("reject")
def proposals_reject(proposal: int) -> None:
    """Reject a proposal; it is not proposed again."""
    from feedback.flows import decide_proposal

    row = decide_proposal(settings=_settings(), proposal_id=proposal, accept=False, actor=_actor())
    out.print(f"rejected: {row['change']}")


def _actor() -> str:
    import getpass

    # The audit trail names who acted; from the command line that is the OS user.
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _report_quarantine(count: int, path: Path | None) -> None:
    if count:
        console.print(f"[yellow]{count} records were not Okta events; quarantined in {path}[/yellow]")


def _report_skipped(count: int) -> None:
    from events.readers import SKIPPED_SUFFIXES

    if count:
        console.print(
            f"[yellow]{count} files in the folders were skipped by name "
            f"({', '.join(SKIPPED_SUFFIXES)}); name a file to read it[/yellow]"
        )


def main() -> None:
    from sqlalchemy.exc import SQLAlchemyError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except CredwatchError as exc:
        _fail(str(exc), 1)
    except ValueError as exc:
        _fail(str(exc), 2)
    except SQLAlchemyError as exc:
        # The driver's own words say what is wrong; SQLAlchemy's wrapping adds the
        # statement and a link.
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        _fail(f"the database (CREDWATCH_DATABASE_URL) cannot be used: {reason}", 1)
    except OSError as exc:
        _fail(str(exc), 1)
    except OverflowError as exc:
        _fail(f"a number given is out of range: {exc}", 2)
    except Exception as exc:
        if not type(exc).__module__.startswith("mlflow"):
            raise
        # MLflow names what failed in its first line; the rest is its own trace.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        _fail(f"the model registry (CREDWATCH_MLFLOW_URI) failed: {reason}", 1)


def _fail(message: str, code: int) -> None:
    # One line however narrow the terminal, so a script can read it; never a
    # password a URL carried.
    console.print(
        f"[red]error:[/red] {escape(redact_passwords(message))}", soft_wrap=True
    )
    sys.exit(code)

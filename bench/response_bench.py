"""Time from an event's arrival to its actions completing, against loopback stand-ins.

Run: `.venv/bin/python -m bench.response_bench [--samples N]`

What is measured: the watch loop in enforce mode polls the loopback Okta System
Log; for each event that reveals a compromise (an Okta ThreatInsight signal on a
person), the clock starts when the page holding it arrives from Okta and stops when
the executor has carried out every action the policy asks for: revoke grants and
tokens, clear sessions, suspend (Okta stand-in) and open the ticket (Jira
stand-in). Everything runs for real: scoring, the SQLite database, the outbox, the
httpx and `jira` clients over loopback sockets. The circuit breaker is raised out
of the way so every sample acts.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from credwatch.db import create_schema, make_engine, make_session_factory  # noqa: E402
from credwatch.settings import Settings  # noqa: E402
from credwatch.watch import Watcher  # noqa: E402
from features.identity import IdentityResolver  # noqa: E402
from integrations.jira_tickets import JiraTicketDesk  # noqa: E402
from integrations.okta import OktaClient  # noqa: E402
from integrations.okta_auth import SswsAuth  # noqa: E402
from integrations.webhook import LocalNotifier  # noqa: E402
from response.executor import Executor, ExecutorLimits  # noqa: E402
from response.policy import ResponsePolicy  # noqa: E402
from tests.builders import START, build_event  # noqa: E402
from tests.standins.jira import JiraStandIn  # noqa: E402
from tests.standins.okta import OktaStandIn  # noqa: E402
from training.fit import fit_detector  # noqa: E402

logger = logging.getLogger(__name__)


def _history(people: int):
    events = []
    for day in range(-3, 0):
        for hour in range(9, 17):
            for person in range(people):
                events.append(
                    build_event(
                        at=timedelta(days=day, hours=hour - 9, minutes=person % 50),
                        actor_id=f"00uP{person}",
                        session=f"102P{person}{day}",
                    )
                )
    return events


def _threat(person: int) -> dict:
    event = build_event(
        at=timedelta(minutes=person),
        actor_id=f"00uP{person}",
        session=f"102P{person}live",
        event_type="security.threat.detected",
        ip="185.220.101.4",
        debug={"threatSuspected": "true"},
    )
    return event.model_dump(mode="json", exclude_none=True)


def run(samples: int) -> dict[str, float]:
    """Run the benchmark; latencies in milliseconds."""
    okta = OktaStandIn().start()
    jira = JiraStandIn().start()
    for person in range(samples):
        okta.add_user(f"00uP{person}")
    detector, _frame, _report = fit_detector(
        _history(min(samples, 20)), resolver=IdentityResolver(None), n_estimators=50
    )
    with tempfile.TemporaryDirectory() as home:
        engine = make_engine(f"sqlite:///{Path(home) / 'bench.db'}")
        create_schema(engine)
        sessions = make_session_factory(engine)
        settings = Settings(
            home=Path(home),
            response_mode="enforce",
            watch_poll_interval_s=0,
            _env_file=None,
        )
        client = OktaClient(
            org_url=okta.url, auth=SswsAuth(token=SecretStr(okta.token)), timeout=5.0
        )
        desk = JiraTicketDesk(
            url=jira.url,
            user=jira.user,
            token=SecretStr(jira.token),
            project="SEC",
            issue_type="Task",
            timeout=5.0,
            max_retries=0,
        )
        executor = Executor(
            sessions=sessions,
            okta=client,
            desk=desk,
            notifier=LocalNotifier(),
            limits=ExecutorLimits(breaker_max_per_hour=10 * samples + 100),
        )
        watcher = Watcher(
            settings=settings,
            detector=detector,
            deployment=None,
            policy=ResponsePolicy(),
            sessions=sessions,
            executor=executor,
        )
        arrived: dict[str, float] = {}
        original_page = client.logs_page

        def timed_page(**kwargs):
            page = original_page(**kwargs)
            now = time.perf_counter()
            for item in page.events:
                arrived[item["uuid"]] = now
            return page

        client.logs_page = timed_page  # type: ignore[method-assign]
        latencies: list[float] = []
        original_handle = watcher.handle

        def timed_handle(event, *, cursor):
            original_handle(event, cursor=cursor)
            if event.eventType == "security.threat.detected":
                latencies.append((time.perf_counter() - arrived[event.uuid]) * 1000)

        watcher.handle = timed_handle  # type: ignore[method-assign]
        since = START - timedelta(hours=1)
        for person in range(samples):
            okta.add_log_events([_threat(person)])
            watcher.poll(source=client, since=since, max_polls=1)
        suspended = sum(
            1 for user in okta.users.values() if user["status"] == "SUSPENDED"
        )
        executor.close()
        client.close()
        engine.dispose()
    okta.stop()
    jira.stop()
    if suspended != samples or len(latencies) != samples:
        raise RuntimeError(
            f"only {suspended} of {samples} identities were suspended "
            f"({len(latencies)} timed)"
        )
    ordered = sorted(latencies)
    return {
        "samples": float(samples),
        "tickets": float(len(jira.issues)),
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max_ms": ordered[-1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    result = run(args.samples)
    print(
        f"event arrival -> actions done (revoke, clear sessions, suspend, ticket), "
        f"{int(result['samples'])} samples, {int(result['tickets'])} tickets: "
        f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms "
        f"(target p99 < 2000 ms)"
    )
    return 0 if result["p99_ms"] < 2000 else 1


if __name__ == "__main__":
    sys.exit(main())

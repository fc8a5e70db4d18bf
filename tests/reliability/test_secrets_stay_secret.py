"""Secrets never leave the settings: not into logs, output, errors, MLflow or the audit trail.

A whole run with distinctive secret values (some from `*_FILE` settings): train,
score with the response in enforce mode, carry the actions out against the
loopback Okta, Jira and owner webhook (with a failure or two on the way), then the
API with a key and an Event Hook delivery. Afterwards every log record, all
command output, every byte of every file under the data folder (the database,
the MLflow store and its artifacts, event and quarantine files, decompressed
where gzipped) is searched for each secret.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from standins.http import LoopbackServer, Response
from standins.jira import JiraStandIn
from standins.okta import Fault, OktaStandIn
from typer.testing import CliRunner

from credwatch import cli
from credwatch.keys import create_key
from credwatch.settings import get_settings
from response.flows import dispose_databases, run_outbox

OKTA_TOKEN = "00SeCrEt-okta-token-4c1d9e7a"
HOOK_SECRET = "SeCrEt-hook-secret-8b2f"
JIRA_TOKEN = "SeCrEt-jira-token-3e5a"
NOTION_TOKEN = "secret_SeCrEt-notion-6d0c"
WEBHOOK_PATH = "/services/T0/B0/SeCrEt-webhook-9f71"
ROUTING_KEY = "SeCrEt-routing-key-2a44"


@pytest.fixture
def services():
    okta = OktaStandIn(token=OKTA_TOKEN).start()
    jira = JiraStandIn(token=JIRA_TOKEN).start()
    posted: list[bytes] = []

    def webhook(request):
        posted.append(request.body)
        return Response(200, b"ok")

    hook_server = LoopbackServer(webhook).start()
    yield okta, jira, hook_server, posted
    for server in (okta, jira, hook_server):
        server.stop()


def _stolen(template: dict, n: int) -> dict:
    event = json.loads(json.dumps(template))
    event["uuid"] = f"leak-test-stolen-{n}"
    event["client"]["ipAddress"] = "45.9.1.2"
    event["client"]["geographicalContext"]["country"] = "Netherlands"
    event["client"]["userAgent"]["rawUserAgent"] = "curl/8.4.0"
    event["securityContext"] = {"asNumber": 9009}
    return event


def test_a_full_run_leaks_no_secret(
    world, tmp_path, monkeypatch, services, caplog, capfd
):
    okta, jira, hook_server, posted = services
    for actor in world.population:
        okta.add_user(actor.id)
    home = tmp_path / "home"
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir()
    for name, value in (("okta_token", OKTA_TOKEN), ("jira_token", JIRA_TOKEN)):
        path = secrets_dir / name
        path.write_text(value + "\n")
        path.chmod(0o600)
    webhook_url = hook_server.url + WEBHOOK_PATH
    for name in [
        n for n in list(__import__("os").environ) if n.upper().startswith("CREDWATCH_")
    ]:
        if name.upper() != "CREDWATCH_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    environment = {
        "CREDWATCH_HOME": str(home),
        "CREDWATCH_MAP": str(world.map_path),
        "CREDWATCH_RESPONSE_MODE": "enforce",
        "CREDWATCH_OKTA_ORG_URL": okta.url,
        "CREDWATCH_OKTA_TOKEN_FILE": str(secrets_dir / "okta_token"),
        "CREDWATCH_OKTA_HOOK_SECRET": HOOK_SECRET,
        "CREDWATCH_OKTA_MAX_ATTEMPTS": "2",
        "CREDWATCH_JIRA_URL": jira.url,
        "CREDWATCH_JIRA_USER": "bot@example.com",
        "CREDWATCH_JIRA_TOKEN_FILE": str(secrets_dir / "jira_token"),
        "CREDWATCH_NOTION_TOKEN": NOTION_TOKEN,
        "CREDWATCH_NOTIFY_WEBHOOK_URL": webhook_url,
        "CREDWATCH_NOTIFY_ROUTING_KEY": ROUTING_KEY,
        "CREDWATCH_API_KEY_CACHE_SECONDS": "0",
        "CREDWATCH_MODEL_CHECK_SECONDS": "0",
        "CREDWATCH_OUTBOX_RETRY_BASE_S": "0",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    outputs: list[str] = []

    def run(*args: str) -> None:
        result = runner.invoke(cli.app, list(args), catch_exceptions=False)
        outputs.append(result.output)
        assert result.exit_code == 0, result.output

    try:
        # Train and score, with the response.
        history = tmp_path / "history.jsonl"
        history.write_bytes((world.home / "history.jsonl").read_bytes())
        run("train", str(history))
        live = list(__import__("itertools").islice(world.live(seed=41), 60))
        agent = next(event for event in live if event["actor"]["id"] == "00uAGENT002")
        batch = tmp_path / "batch.jsonl"
        batch.write_bytes(
            b"".join(orjson.dumps(e) + b"\n" for e in [*live, _stolen(agent, 1)])
        )
        run("score", str(batch), "--out", str(tmp_path / "detections.jsonl"))

        # The actions, through Okta, Jira and the webhook, one Okta call failing first.
        okta.inject(Fault(status=500, times=1, path_prefix="/api/v1/users"))
        settings = get_settings()
        report = run_outbox(settings=settings)
        assert report.get("done", 0) >= 3, report
        assert (
            jira.issues
            and posted
            and okta.users["00uAGENT002"]["status"] == "SUSPENDED"
        )

        # The API with a key, and an Event Hook delivery; refusals too.
        key, _ = create_key(settings, "leak-test", scope="admin")
        with TestClient(create_app_for(settings)) as client:
            other = _stolen(
                next(e for e in live if e["actor"]["id"] == "00uAGENT003"), 2
            )
            assert (
                client.post(
                    "/v1/score", json=other, headers={"X-API-Key": key}
                ).status_code
                == 200
            )
            assert (
                client.post(
                    "/v1/score", json=other, headers={"Authorization": f"Bearer {key}x"}
                ).status_code
                == 401
            )
            delivery = {
                "eventType": "com.okta.event_hook",
                "eventId": "leak-1",
                "data": {"events": live[:5] + ["junk"]},
            }
            assert (
                client.post(
                    "/v1/okta/events",
                    json=delivery,
                    headers={"Authorization": HOOK_SECRET},
                ).status_code
                == 204
            )
            assert (
                client.post(
                    "/v1/okta/events",
                    json=delivery,
                    headers={"Authorization": HOOK_SECRET + "x"},
                ).status_code
                == 401
            )
            assert (
                client.get("/v1/incidents", headers={"X-API-Key": key}).status_code
                == 200
            )
            assert client.app.state.worker.wait_idle(30)
        run("incidents", "--json")
        run("audit", "verify")
        run("keys", "list")
    finally:
        dispose_databases()
        get_settings.cache_clear()

    captured = capfd.readouterr()
    texts = {
        "log records": caplog.text,
        "command output": "\n".join(outputs),
        "captured stdout/stderr": captured.out + captured.err,
    }
    secrets = {
        "Okta token": OKTA_TOKEN,
        "hook secret": HOOK_SECRET,
        "Jira token": JIRA_TOKEN,
        "Notion token": NOTION_TOKEN,
        "webhook URL": WEBHOOK_PATH,
        "routing key": ROUTING_KEY,
        "API key": key,
        "API key (secret part)": key[12:],
    }
    files = list(_files_under(home))
    assert any(name.endswith("credwatch.db") for name, _ in files)
    assert any("mlflow" in name or "mlartifacts" in name for name, _ in files)
    leaks = [
        f"{what} in {where}"
        for what, secret in secrets.items()
        for where, content in [*texts.items(), *files]
        if secret in content
    ]
    assert leaks == []


def create_app_for(settings):
    from serving.app import create_app

    return create_app(settings)


def _files_under(root: Path):
    """(name, text) of every file, gzip opened, bytes read as latin-1 so nothing is lost."""
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                pass
        yield str(path.relative_to(root)), data.decode("latin-1")

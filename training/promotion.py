"""Moving the `champion` alias: promotion, rollback, and the versions to choose from.

Each move keeps the version that held the alias before in a tag of the registered
model (`champion_history`, oldest first), in the registry itself, so `rollback`
works from any machine that reaches it; the move is also written to the local
policy changes the summaries count.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from credwatch.errors import CredwatchError
from training.registry import (
    CHALLENGER,
    CHAMPION,
    champion_version,
    configure_mlflow,
    list_versions,
)

if TYPE_CHECKING:
    from credwatch.settings import Settings

logger = logging.getLogger(__name__)

HISTORY_TAG = "champion_history"
# How many earlier champions rollback can go back through.
HISTORY_LENGTH = 20
# Run tags and metrics `credwatch models` shows beside each version.
SHOWN_TAGS = ("decision", "decision_reason", "kind")
SHOWN_METRICS = (
    "challenger_recall",
    "challenger_false_alerts",
    "champion_recall",
    "champion_false_alerts",
    "labelled_incidents",
    "windows",
)


class PromotionError(CredwatchError):
    """A promotion or rollback that cannot be done."""


def promote(settings: Settings, version: str, *, actor: str, reason: str) -> str | None:
    """Make `version` the champion; returns the version it replaced (or None)."""
    from mlflow.exceptions import MlflowException

    client = configure_mlflow(settings)
    name = settings.model_name
    try:
        client.get_model_version(name, str(version))
    except MlflowException as exc:
        raise PromotionError(f"{name} has no version {version}") from exc
    previous = champion_version(settings)
    if previous == str(version):
        return previous
    if previous is not None:
        history = _history(client, name)
        history.append(previous)
        client.set_registered_model_tag(
            name, HISTORY_TAG, ",".join(history[-HISTORY_LENGTH:])
        )
    client.set_registered_model_alias(name, CHAMPION, str(version))
    _log(
        settings,
        kind="model_promoted",
        detail=f"champion {previous or '-'} -> {version}: {reason}",
        actor=actor,
    )
    logger.info("champion of %s: %s -> %s (%s)", name, previous, version, reason)
    return previous


def rollback(settings: Settings, *, actor: str) -> tuple[str, str]:
    """Give the alias back to the previous champion; returns (from, to)."""
    client = configure_mlflow(settings)
    name = settings.model_name
    current = champion_version(settings)
    history = _history(client, name)
    while history and history[-1] == current:
        history.pop()
    if current is None or not history:
        raise PromotionError(
            "no earlier champion to roll back to; use `credwatch promote VERSION`"
        )
    target = history.pop()
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history))
    client.set_registered_model_alias(name, CHAMPION, target)
    _log(
        settings,
        kind="model_rolled_back",
        detail=f"champion {current} -> {target}",
        actor=actor,
    )
    logger.info("champion of %s rolled back: %s -> %s", name, current, target)
    return current, target


def mark_challenger(settings: Settings, version: str) -> None:
    client = configure_mlflow(settings)
    client.set_registered_model_alias(settings.model_name, CHALLENGER, str(version))


def describe_versions(settings: Settings) -> list[dict[str, Any]]:
    """Every version with its aliases, the metrics that judge it and its decision."""
    from mlflow.exceptions import MlflowException

    versions = list_versions(settings)
    if not versions:
        return []
    client = configure_mlflow(settings)
    for item in versions:
        tags: dict[str, str] = {}
        if item.get("run_id"):
            try:
                tags = dict(client.get_run(item["run_id"]).data.tags)
            except MlflowException:
                tags = {}
        item["tags"] = {key: tags[key] for key in SHOWN_TAGS if key in tags}
        item["shown_metrics"] = {
            key: item["metrics"][key] for key in SHOWN_METRICS if key in item["metrics"]
        }
    return versions


def _history(client: Any, name: str) -> list[str]:
    tags = client.get_registered_model(name).tags or {}
    return [v for v in (tags.get(HISTORY_TAG) or "").split(",") if v]


def _log(settings: Settings, *, kind: str, detail: str, actor: str) -> None:
    from feedback.policy_log import log_change
    from response.flows import session_factory

    with session_factory(settings)() as session:
        log_change(session, kind=kind, detail=detail, actor=actor)
        session.commit()

"""The loop's steps joined up: read events, train, score, respond.

The CLI and the demo call these; each stage's own package does the work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from credwatch.errors import NoTrainingData
from credwatch.settings import Settings
from events.lean import ReadEvent
from events.quarantine import QuarantineWriter, quarantine_path_for
from events.readers import (
    SKIPPED_SUFFIXES,
    ReadReport,
    list_input_files,
    read_lean_events,
)
from features.deployment import DeploymentMap, load_deployment_map
from features.identity import IdentityResolver
from models.detector import Detector, ScoreReport
from models.schemas import Detection, tier_rank

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclass
class TrainResult:
    version: str
    champion: bool
    events: int
    identities: int
    windows: int
    read: ReadReport
    quarantine_path: Path | None
    # Identities with enough history for novelty to count (see features.baseline).
    mature_identities: int = 0


@dataclass
class ScoreResult:
    detections: list[Detection]
    read: ReadReport
    report: ScoreReport
    quarantine_path: Path | None
    model_version: str
    incidents: dict[str, int] = field(default_factory=dict)
    # Agents the model's training map declared, when this scoring has no map.
    unmapped_agents: int = 0


def load_map(path: Path | None, settings: Settings) -> DeploymentMap | None:
    """The deployment map from --map, else the CREDWATCH_MAP setting, else none."""
    chosen = path or settings.map
    return load_deployment_map(chosen) if chosen else None


def stream_events(
    paths: Sequence[Path],
    *,
    quarantine: QuarantineWriter,
    report: ReadReport,
    on_event: Progress | None = None,
) -> Iterator[ReadEvent]:
    """The events of the paths, one at a time, so a large export is never all in memory.

    Read for detection only (training and batch scoring): see `events.lean`.
    """
    for event in read_lean_events(paths, quarantine=quarantine, report=report):
        if on_event is not None:
            on_event(1)
        yield event


def _nothing_learned(paths: Sequence[Path], read: ReadReport, quarantine: Path) -> str:
    message = (
        f"no Okta event in {', '.join(map(str, paths))} names an actor; "
        f"nothing to train on ({read.events} events read"
    )
    if read.quarantined:
        # When everything was rejected, the reasons are the answer.
        message += f", {read.quarantined} records quarantined in {quarantine}"
    if read.files_skipped:
        message += (
            f", {read.files_skipped} files in the folders skipped by name "
            f"({', '.join(SKIPPED_SUFFIXES)}): name a file to read it"
        )
    return message + ")"


def train(
    paths: Sequence[Path],
    *,
    settings: Settings,
    deployment: DeploymentMap | None,
    on_event: Progress | None = None,
) -> TrainResult:
    from training.fit import fit_learned
    from training.parallel import learn_from_files, workers_for
    from training.registry import register_detector

    read = ReadReport()
    with QuarantineWriter(quarantine_path_for(None, settings)) as quarantine:
        learned = learn_from_files(
            paths,
            deployment=deployment,
            quarantine=quarantine,
            report=read,
            workers=workers_for(paths, settings.train_workers),
            on_event=on_event,
        )
        try:
            detector, frame, fit = fit_learned(learned)
        except NoTrainingData:
            message = _nothing_learned(paths, read, quarantine.path)
            raise NoTrainingData(message) from None
    detector.mapped_agents = len(deployment.agents) if deployment else 0
    registered = register_detector(
        detector,
        settings=settings,
        params={
            "n_estimators": detector.model.n_estimators,
            "features": len(detector.feature_names),
            "deployment_agents": len(deployment.agents) if deployment else 0,
        },
        metrics={
            "events": fit.events,
            "identities": fit.identities,
            "windows": fit.windows,
            "quarantined": read.quarantined,
            **{f"windows_{kind}": count for kind, count in fit.windows_by_kind.items()},
        },
        dataset=frame,
        run_name=f"train-{datetime.now(UTC):%Y%m%dT%H%M%SZ}",
        tags={"source": ", ".join(map(str, paths))[:500]},
    )
    return TrainResult(
        version=registered.version,
        champion=registered.alias_set,
        events=fit.events,
        identities=fit.identities,
        windows=fit.windows,
        read=read,
        quarantine_path=quarantine.path if quarantine.count else None,
        mature_identities=sum(b.mature for b in detector.baselines.values()),
    )


def load_detector(settings: Settings) -> Detector:
    from training.registry import load_champion

    detector, _version = load_champion(settings)
    return detector


def score(
    paths: Sequence[Path],
    *,
    settings: Settings,
    deployment: DeploymentMap | None,
    out: Path | None,
    detector: Detector | None = None,
    on_event: Progress | None = None,
) -> ScoreResult:
    quarantine_path = quarantine_path_for(out, settings)
    _refuse_to_overwrite_inputs(paths, [out, quarantine_path])
    detector = detector or load_detector(settings)
    read = ReadReport()
    scorer = detector.scorer(IdentityResolver(deployment))
    with QuarantineWriter(quarantine_path) as quarantine:
        events = stream_events(paths, quarantine=quarantine, report=read, on_event=on_event)
        detections = scorer.score_batch(events)
    if out is not None:
        write_detections(detections, out)
    return ScoreResult(
        detections=detections,
        read=read,
        report=scorer.report,
        quarantine_path=quarantine.path if quarantine.count else None,
        model_version=detector.model_version or "",
        unmapped_agents=detector.mapped_agents if deployment is None else 0,
    )


def _refuse_to_overwrite_inputs(
    paths: Sequence[Path], outputs: Sequence[Path | None]
) -> None:
    inputs = {path.resolve() for path in list_input_files(paths)}
    for output in outputs:
        if output is not None and output.resolve() in inputs:
            raise ValueError(
                f"{output} is one of the inputs; writing there would destroy the "
                "events being scored (choose another --out)"
            )


def write_detections(detections: Iterable[Detection], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as handle:
        for detection in detections:
            handle.write(orjson.dumps(detection.to_json_dict()) + b"\n")


def respond_all(
    detections: Iterable[Detection],
    *,
    settings: Settings,
    deployment: DeploymentMap | None,
) -> dict[str, int]:
    """Open or update incidents and record actions; returns incident id per identity."""
    from response.flows import respond_to_detections

    ordered = sorted(detections, key=lambda d: (d.detected_at, -tier_rank(d.tier)))
    return respond_to_detections(ordered, settings=settings, deployment=deployment)

"""Register fitted detectors in MLflow and load the champion back.

Every version of the registered model `settings.model_name` is one MLflow run that
holds the detector as a `CredwatchModel` pyfunc. The first version gets the alias
`champion`; later versions are left without an alias until someone promotes them
(`set_alias`, e.g. `challenger` first, then `champion`).

The store is a local SQLite file under `CREDWATCH_HOME` unless `CREDWATCH_MLFLOW_URI`
points elsewhere, and artifacts live under `settings.artifacts_dir`, never in the
current directory. `import mlflow` costs 1-2 s, so this module imports it only inside
the functions that need it; callers on hot paths should import this module lazily
too.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from credwatch.errors import ModelNotReady

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd
    from mlflow import MlflowClient

    from credwatch.settings import Settings

logger = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
EXPERIMENT_NAME = "credwatch"

_MODEL_NAME_IN_RUN = "model"
_DETECTOR_FILE = "detector.joblib"
# Signature inference and dataset logging only need the shape and dtypes of the
# frame; a head keeps both cheap however large the training set is.
_SIGNATURE_ROWS = 20
_DATASET_SAMPLE_ROWS = 1000
# Pinned into the logged model's requirements. Listing them ourselves skips MLflow's
# requirement inference, which spawns a subprocess and costs seconds per log.
_PINNED_PACKAGES = ("scikit-learn", "numpy", "pandas", "joblib", "mlflow")
# Local stores keep their artifacts under CREDWATCH_HOME; a tracking server decides
# its own artifact root.
_LOCAL_SCHEMES = frozenset({"sqlite", "file", ""})


@dataclass(frozen=True)
class RegisteredVersion:
    """What `register_detector` created: the model version and its run."""

    version: str
    run_id: str
    alias_set: bool


def configure_mlflow(settings: Settings) -> MlflowClient:
    """Point MLflow at credwatch's store and return a client bound to it.

    Sets the tracking and registry URIs process-wide (the fluent `mlflow.*` calls
    used for logging read them), creates the home and artifact folders, and creates
    the `credwatch` experiment with its artifact location under `artifacts_dir`.
    Telemetry is switched off before mlflow is first imported, so nothing leaves the
    machine.
    """
    return _connect(settings)[0]


def register_detector(
    detector: Any,
    *,
    settings: Settings,
    params: dict[str, Any],
    metrics: dict[str, float],
    dataset: pd.DataFrame | None,
    run_name: str,
    tags: dict[str, str] | None = None,
) -> RegisteredVersion:
    """Log `detector` as a new version of the registered model, in one MLflow run.

    The run holds `params`, `metrics`, `tags` plus library versions, a summary of
    `dataset` (the training feature frame; only a head is logged), and the model.
    When `dataset` has the detector's input columns, a head of it also gives the
    model its signature. The new version becomes `champion` only when no version
    holds that alias yet.
    """
    started = time.perf_counter()
    client, experiment_id = _connect(settings)
    import mlflow

    from models.pyfunc import DETECTOR_ARTIFACT, CredwatchModel

    run_tags = {**_library_versions(), **(tags or {})}
    with tempfile.TemporaryDirectory(prefix="credwatch-model-") as tmp:
        detector_path = Path(tmp) / _DETECTOR_FILE
        _dump_detector(detector, path=detector_path)
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=run_name, tags=run_tags
        ) as run:
            if params:
                mlflow.log_params(params)
            if metrics:
                mlflow.log_metrics(metrics)
            if dataset is not None:
                _log_dataset(dataset, run_name=run_name)
            with _quiet_mlflow_warnings():
                info = mlflow.pyfunc.log_model(
                    name=_MODEL_NAME_IN_RUN,
                    python_model=CredwatchModel(),
                    artifacts={DETECTOR_ARTIFACT: str(detector_path)},
                    signature=_signature(detector, dataset),
                    pip_requirements=_pinned_requirements(),
                    registered_model_name=settings.model_name,
                )
    version = str(info.registered_model_version)
    alias_set = _claim_champion_if_free(client, settings=settings, version=version)
    logger.info(
        "registered %s version %s (run %s%s) in %.2f s",
        settings.model_name,
        version,
        run.info.run_id,
        ", champion" if alias_set else "",
        time.perf_counter() - started,
    )
    return RegisteredVersion(
        version=version, run_id=run.info.run_id, alias_set=alias_set
    )


def load_champion(settings: Settings) -> tuple[Any, str]:
    """Load the detector that holds the `champion` alias, with its version.

    Sets `detector.model_version`. Raises `ModelNotReady` when nothing has been
    registered or no version is the champion. The model's pip requirements are only
    compared with the running environment (MLflow logs mismatches); nothing is
    installed or restored.
    """
    client = configure_mlflow(settings)
    version = _champion_or_raise(client, settings=settings)
    import mlflow.pyfunc

    started = time.perf_counter()
    # Load the version the alias pointed to rather than the alias itself, so the
    # returned version is the one loaded even if the alias moves meanwhile. The
    # artifacts are copied to a throwaway folder: `load_context` reads the detector
    # into memory, and MLflow would otherwise leave one copy in /tmp per load.
    with tempfile.TemporaryDirectory(prefix="credwatch-load-") as tmp:
        loaded = mlflow.pyfunc.load_model(
            f"models:/{settings.model_name}/{version}", dst_path=tmp
        )
    detector = loaded.unwrap_python_model().detector
    detector.model_version = version
    logger.info(
        "loaded %s version %s (champion) in %.2f s",
        settings.model_name,
        version,
        time.perf_counter() - started,
    )
    return detector, version


def champion_version(settings: Settings) -> str | None:
    """The version that holds `champion`, or None; one registry query, no loading."""
    client = configure_mlflow(settings)
    return _alias_version(client, model_name=settings.model_name, alias=CHAMPION)


def set_alias(settings: Settings, alias: str, version: str) -> None:
    """Point `alias` (e.g. `champion`, `challenger`) at `version`, moving it if held."""
    client = configure_mlflow(settings)
    client.set_registered_model_alias(settings.model_name, alias, str(version))
    logger.info(
        "alias %s of %s now points to version %s", alias, settings.model_name, version
    )


def list_versions(settings: Settings) -> list[dict[str, Any]]:
    """Every version of the registered model, newest first.

    Each entry has `version`, `aliases` (sorted), `run_id`, `created` (aware UTC
    datetime) and `metrics` (the run's latest metric values). Empty when nothing has
    been registered.
    """
    from mlflow.exceptions import MlflowException

    client = configure_mlflow(settings)
    try:
        registered = client.get_registered_model(settings.model_name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return []
        raise
    # Version search results carry no aliases on the SQL store; the registered model
    # has them all as alias -> version.
    aliases: dict[str, list[str]] = {}
    for alias, version in registered.aliases.items():
        aliases.setdefault(str(version), []).append(alias)

    versions = client.search_model_versions(f"name = '{settings.model_name}'")
    result = []
    for mv in sorted(versions, key=lambda v: int(v.version), reverse=True):
        result.append(
            {
                "version": str(mv.version),
                "aliases": sorted(aliases.get(str(mv.version), [])),
                "run_id": mv.run_id,
                "created": datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC),
                "metrics": _run_metrics(client, run_id=mv.run_id),
            }
        )
    return result


# --- helpers -----------------------------------------------------------------------


def _connect(settings: Settings) -> tuple[MlflowClient, str]:
    """`configure_mlflow`, also returning the id of the `credwatch` experiment."""
    _disable_telemetry()
    # MLflow's own default retries a registry that does not answer for about four
    # minutes; a mistyped URI should fail within seconds, a restarting server still
    # be waited for. Set the variables to choose otherwise.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "4")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    import mlflow
    from mlflow import MlflowClient

    uri = settings.resolved_mlflow_uri
    settings.ensure_home()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return client, _ensure_experiment(client, settings=settings)


def _disable_telemetry() -> None:
    # MLflow builds its telemetry client when it is first imported, so the variables
    # must be set before that; if something imported mlflow earlier, the client is
    # rebuilt below, which now turns it off.
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["DO_NOT_TRACK"] = "true"
    import mlflow.telemetry

    if mlflow.telemetry.get_telemetry_client() is not None:
        mlflow.telemetry.set_telemetry_client()


def _ensure_experiment(client: MlflowClient, *, settings: Settings) -> str:
    """The id of the `credwatch` experiment, created (or restored) when needed."""
    from mlflow.exceptions import MlflowException

    artifact_location = None
    if urlparse(settings.resolved_mlflow_uri).scheme in _LOCAL_SCHEMES:
        settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
        artifact_location = settings.artifacts_dir.resolve().as_uri()

    experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
    if experiment is None:
        try:
            return client.create_experiment(
                EXPERIMENT_NAME, artifact_location=artifact_location
            )
        except MlflowException as exc:
            # Another process created it between our lookup and create.
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
        logger.warning("restored the deleted MLflow experiment %r", EXPERIMENT_NAME)
    if artifact_location and not experiment.artifact_location.startswith(
        artifact_location
    ):
        logger.warning(
            "MLflow experiment %r stores artifacts in %s, not under %s",
            EXPERIMENT_NAME,
            experiment.artifact_location,
            artifact_location,
        )
    return experiment.experiment_id


def _alias_version(client: MlflowClient, *, model_name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException as exc:
        # The SQL store reports a missing registered model as RESOURCE_DOES_NOT_EXIST
        # but a missing alias as INVALID_PARAMETER_VALUE, a code that also covers
        # real mistakes; so that one only counts as "no alias" once the registered
        # model confirms it has none by that name.
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        if exc.error_code == "INVALID_PARAMETER_VALUE":
            if alias not in client.get_registered_model(model_name).aliases:
                return None
        raise


def _champion_or_raise(client: MlflowClient, *, settings: Settings) -> str:
    version = _alias_version(client, model_name=settings.model_name, alias=CHAMPION)
    if version is None:
        raise ModelNotReady(
            f"no model has the alias {CHAMPION!r} in {settings.resolved_mlflow_uri}; "
            "run `credwatch train` first"
        )
    return version


def _claim_champion_if_free(
    client: MlflowClient, *, settings: Settings, version: str
) -> bool:
    # Not atomic: two trainings finishing at the same moment can both see no
    # champion, and the later one wins. Harmless, since both are fresh models.
    current = _alias_version(client, model_name=settings.model_name, alias=CHAMPION)
    if current is not None:
        return False
    client.set_registered_model_alias(settings.model_name, CHAMPION, version)
    return True


def _dump_detector(detector: Any, *, path: Path) -> None:
    import joblib

    # `model_version` says which registered version a loaded copy came from, so the
    # stored object carries none; `load_champion` sets it.
    previous = getattr(detector, "model_version", None)
    if previous is not None:
        detector.model_version = None
    try:
        joblib.dump(detector, path)
    finally:
        if previous is not None:
            detector.model_version = previous


def _input_sample(detector: Any, dataset: pd.DataFrame | None) -> pd.DataFrame | None:
    if dataset is None:
        return None
    columns = [*detector.feature_names, "identity_kind"]
    missing = [c for c in columns if c not in dataset.columns]
    if missing:
        logger.info("model logged without a signature: dataset lacks %s", missing)
        return None
    return dataset.loc[:, columns].head(_SIGNATURE_ROWS).reset_index(drop=True)


def _signature(detector: Any, dataset: pd.DataFrame | None) -> Any:
    from mlflow.models import infer_signature

    sample = _input_sample(detector, dataset)
    if sample is None:
        return None
    return infer_signature(sample, detector.predict_frame(sample))


def _log_dataset(dataset: pd.DataFrame, *, run_name: str) -> None:
    import mlflow

    mlflow.log_param("dataset_rows", len(dataset))
    sample = dataset.head(_DATASET_SAMPLE_ROWS)
    # Schema inference runs both here and when the input is logged.
    with _quiet_mlflow_warnings():
        logged = mlflow.data.from_pandas(sample, name=f"{run_name}-training-head")
        mlflow.log_input(logged, context="training")


def _pinned_requirements() -> list[str]:
    pins = []
    for package in _PINNED_PACKAGES:
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            # mlflow may be installed as mlflow-skinny; pin whatever is present.
            if package != "mlflow":
                raise
            pins.append(f"mlflow-skinny=={metadata.version('mlflow-skinny')}")
    return pins


def _library_versions() -> dict[str, str]:
    import mlflow
    import numpy
    import sklearn

    import credwatch

    return {
        "credwatch.version": credwatch.__version__,
        "sklearn.version": sklearn.__version__,
        "numpy.version": numpy.__version__,
        "mlflow.version": mlflow.__version__,
    }


def _run_metrics(client: MlflowClient, *, run_id: str | None) -> dict[str, float]:
    from mlflow.exceptions import MlflowException

    if not run_id:
        return {}
    try:
        return dict(client.get_run(run_id).data.metrics)
    except MlflowException as exc:
        # A version outlives a deleted run; its metrics are simply unknown then.
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return {}
        raise


class _DropMessages(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self._prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self._prefixes)


@contextmanager
def _quiet_mlflow_warnings() -> Iterator[None]:
    """Silence the advice MLflow gives on every log that does not apply to us.

    - "Inferred schema contains integer column(s)": a hint that integer columns
      cannot carry missing values through pyfunc schema enforcement; scoring calls
      the detector directly, so the enforcement is not on credwatch's path.
    - "An input example was not provided": left out on purpose; MLflow would save
      it and run the model on it during every log, which is the slow part of a log.
    - "Passing a Python object as `python_model`" (a log record): the pickled object
      is an empty `CredwatchModel`, pickled by reference to its class; the detector
      travels as our own joblib artifact.
    """
    log_filter = _DropMessages(("Passing a Python object as `python_model`",))
    pyfunc_logger = logging.getLogger("mlflow.pyfunc")
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"Hint: Inferred schema contains integer column",
            category=UserWarning,
        )
        # MLflow colours this one, so the text starts after an ANSI escape.
        warnings.filterwarnings(
            "ignore",
            message=r"(\x1b\[[0-9;]*m)?An input example was not provided",
            category=UserWarning,
        )
        pyfunc_logger.addFilter(log_filter)
        try:
            yield
        finally:
            pyfunc_logger.removeFilter(log_filter)

"""training.registry against a real SQLite MLflow store under a temporary home.

Creating MLflow's tables costs about two seconds per fresh store, so the module
shares one store; tests that change aliases use their own registered model names in
it, so they do not depend on the order the tests run in.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credwatch.errors import ModelNotReady
from credwatch.settings import Settings
from training import registry

FEATURES = ["logins_per_hour", "distinct_ips"]


class FakeDetector:
    """The detector interface registry relies on, and nothing more."""

    def __init__(self, weights: list[float]) -> None:
        self.feature_names = list(FEATURES)
        self.weights = list(weights)
        self.model_version: str | None = None

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        raw = frame[self.feature_names].to_numpy(dtype=float) @ np.asarray(self.weights)
        return pd.DataFrame(
            {"anomaly_score": np.clip(raw, 0.0, 100.0)}, index=frame.index
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FakeDetector)
            and other.feature_names == self.feature_names
            and other.weights == self.weights
        )

    __hash__ = None  # type: ignore[assignment]


def _frame(rows: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "identity_id": [f"00u{i}" for i in range(rows)],
            "logins_per_hour": rng.integers(0, 20, rows),
            "distinct_ips": rng.random(rows) * 5,
            "identity_kind": rng.choice(["human", "ai_agent", "service"], rows),
        }
    )


def _settings(home: Path, model_name: str = "credwatch") -> Settings:
    # Explicit values win over CREDWATCH_* variables, so a developer's own
    # environment can never point these tests at a real store.
    return Settings(home=home, mlflow_uri=None, model_name=model_name)


def _register(settings: Settings, detector: FakeDetector, run_name: str):
    return registry.register_detector(
        detector,
        settings=settings,
        params={"n_estimators": 10, "contamination": "auto"},
        metrics={"pr_auc": 0.5},
        dataset=_frame(),
        run_name=run_name,
        tags={"trigger": "test"},
    )


@pytest.fixture(scope="module", autouse=True)
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    """An empty cwd, no network, and MLflow's global URIs restored afterwards."""
    cwd = tmp_path_factory.mktemp("cwd")

    def refuse(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"network connection attempted to {address!r}")
        return real_connect(self, address)

    real_connect = socket.socket.connect
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        mp.setattr(socket.socket, "connect", refuse)
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            mp.delenv(name, raising=False)
        yield cwd
        import mlflow

        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def first(home: Path):
    """The first version ever registered in the shared store, with its detector."""
    detector = FakeDetector([2.0, 10.0])
    return _register(_settings(home), detector, "first"), detector


def test_first_version_becomes_champion(home: Path, first) -> None:
    registered, _ = first
    assert registered.alias_set is True
    assert registered.version == "1"
    assert registry.champion_version(_settings(home)) == "1"


def test_load_champion_returns_working_detector(home: Path, first) -> None:
    registered, original = first
    detector, version = registry.load_champion(_settings(home))

    assert version == registered.version
    assert detector.model_version == registered.version
    assert detector == original
    frame = _frame(5)
    pd.testing.assert_frame_equal(
        detector.predict_frame(frame), original.predict_frame(frame)
    )


def test_pyfunc_serves_anomaly_scores(home: Path, first, tmp_path: Path) -> None:
    import mlflow.pyfunc

    registered, original = first
    loaded = mlflow.pyfunc.load_model(
        f"models:/credwatch/{registered.version}", dst_path=str(tmp_path)
    )
    frame = _frame(5)[[*FEATURES, "identity_kind"]]

    scores = loaded.predict(frame)

    assert list(scores.columns) == ["anomaly_score"]
    np.testing.assert_allclose(
        scores["anomaly_score"], original.predict_frame(frame)["anomaly_score"]
    )
    assert loaded.unwrap_python_model().detector == original


def test_run_records_params_metrics_tags_dataset_and_pins(
    home: Path, first, tmp_path: Path
) -> None:
    import mlflow.artifacts

    registered, _ = first
    client = registry.configure_mlflow(_settings(home))
    run = client.get_run(registered.run_id)

    assert run.data.params["n_estimators"] == "10"
    assert run.data.params["dataset_rows"] == "40"
    assert run.data.metrics == {"pr_auc": 0.5}
    assert run.data.tags["trigger"] == "test"
    for key in (
        "credwatch.version",
        "sklearn.version",
        "numpy.version",
        "mlflow.version",
    ):
        assert run.data.tags[key]
    assert _input_contexts(run) == ["training"]

    model_dir = mlflow.artifacts.download_artifacts(
        f"models:/credwatch/{registered.version}", dst_path=str(tmp_path)
    )
    requirements = (Path(model_dir) / "requirements.txt").read_text()
    for package in ("scikit-learn==", "numpy==", "pandas==", "joblib==", "mlflow=="):
        assert package in requirements


def _input_contexts(run) -> list[str]:
    return [
        tag.value
        for dataset_input in run.inputs.dataset_inputs
        for tag in dataset_input.tags
        if tag.key == "mlflow.data.context"
    ]


def test_later_versions_leave_champion_until_promoted(home: Path) -> None:
    settings = _settings(home, "credwatch-promotion")
    first = _register(settings, FakeDetector([1.0, 1.0]), "one")
    second = _register(settings, FakeDetector([3.0, 3.0]), "two")

    assert (first.alias_set, second.alias_set) == (True, False)
    assert registry.champion_version(settings) == first.version

    registry.set_alias(settings, registry.CHALLENGER, second.version)
    listed = {v["version"]: v for v in registry.list_versions(settings)}
    assert [v["version"] for v in registry.list_versions(settings)] == ["2", "1"]
    assert listed["1"]["aliases"] == ["champion"]
    assert listed["2"]["aliases"] == ["challenger"]
    assert listed["2"]["run_id"] == second.run_id
    assert listed["2"]["metrics"] == {"pr_auc": 0.5}
    assert listed["2"]["created"].tzinfo is not None

    registry.set_alias(settings, registry.CHAMPION, second.version)
    detector, version = registry.load_champion(settings)
    assert version == second.version
    assert detector == FakeDetector([3.0, 3.0])
    assert registry.list_versions(settings)[0]["aliases"] == ["challenger", "champion"]


def test_registered_model_without_champion_is_not_ready(home: Path) -> None:
    settings = _settings(home, "credwatch-unaliased")
    registry.configure_mlflow(settings).create_registered_model(settings.model_name)

    assert registry.champion_version(settings) is None
    with pytest.raises(ModelNotReady, match="run `credwatch train` first"):
        registry.load_champion(settings)


def test_empty_store_is_not_ready(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "fresh-home")

    with pytest.raises(ModelNotReady) as caught:
        registry.load_champion(settings)

    assert "no model has the alias 'champion'" in str(caught.value)
    assert settings.resolved_mlflow_uri in str(caught.value)
    assert "run `credwatch train` first" in str(caught.value)
    assert registry.champion_version(settings) is None
    assert registry.list_versions(settings) == []


def test_everything_stays_under_home(home: Path, first, sandbox: Path) -> None:
    registered, _ = first
    settings = _settings(home)
    client = registry.configure_mlflow(settings)

    artifacts_uri = settings.artifacts_dir.resolve().as_uri()
    assert client.get_run(registered.run_id).info.artifact_uri.startswith(artifacts_uri)
    assert list(settings.artifacts_dir.rglob("detector.joblib"))
    assert (home / "mlflow.db").is_file()
    assert not (sandbox / "mlruns").exists()
    assert not (sandbox / "mlflow.db").exists()
    assert list(sandbox.iterdir()) == []


def test_telemetry_is_off(home: Path) -> None:
    import mlflow.telemetry

    registry.configure_mlflow(_settings(home))

    assert mlflow.telemetry.get_telemetry_client() is None

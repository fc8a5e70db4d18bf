"""The MLflow pyfunc wrapper around a fitted credwatch detector.

MLflow's sklearn flavour can only serve `predict` (±1 labels for an IsolationForest),
never anomaly scores, so the registered model is a custom `PythonModel` whose
`predict` returns the detector's own score frame. The detector itself travels as a
joblib artifact named `detector`; the wrapper holds no state until it is loaded.

Importing this module imports mlflow (1-2 s), so only `training.registry` imports
it, and only inside the functions that need it.
"""

from __future__ import annotations

import logging
from typing import Any

import joblib
import mlflow.pyfunc
import pandas as pd

logger = logging.getLogger(__name__)

DETECTOR_ARTIFACT = "detector"


class CredwatchModel(mlflow.pyfunc.PythonModel):
    """Serves `detector.predict_frame` through the MLflow pyfunc interface.

    Log a fresh instance with `artifacts={"detector": <joblib file>}`; MLflow pickles
    the (empty) instance and calls `load_context` when the model is loaded. Callers
    that need the whole detector (scoring, rules, explanations) use
    `loaded.unwrap_python_model().detector`.
    """

    def __init__(self) -> None:
        self._detector: Any = None

    def load_context(self, context: Any) -> None:
        """Read the detector from the `detector` artifact of the logged model."""
        path = context.artifacts[DETECTOR_ARTIFACT]
        self._detector = joblib.load(path)
        logger.debug("loaded detector %s from %s", type(self._detector).__name__, path)

    # MLflow inspects this type hint when the class is defined: `pd.DataFrame` is one
    # it accepts without adding its own validation (the logged signature does that),
    # while no hint at all makes it emit a UserWarning on every import.
    def predict(
        self,
        context: Any,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Score a feature frame; returns a frame with `anomaly_score` (0..100)."""
        return self.detector.predict_frame(model_input)

    @property
    def detector(self) -> Any:
        """The loaded detector object; raises if `load_context` has not run yet."""
        if self._detector is None:
            raise RuntimeError(
                "CredwatchModel holds no detector until mlflow.pyfunc loads it"
            )
        return self._detector

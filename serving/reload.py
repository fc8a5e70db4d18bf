"""Following the `champion` alias: load a newly promoted version without a restart.

A daemon thread asks the registry every `CREDWATCH_MODEL_CHECK_SECONDS` (default
60; 0 turns the check off) which version holds the alias. A different one is
loaded in the thread, away from requests, and installed with one reference swap;
requests in flight finish on the version they started with. A failed check or load
is logged and the current version keeps serving.
"""

from __future__ import annotations

import gc
import logging
import threading

from credwatch.errors import ModelNotReady
from credwatch.settings import Settings
from serving.metrics import Metrics
from serving.service import ScoringService

logger = logging.getLogger(__name__)


class ChampionWatcher:
    """Keeps the service on the registry's current champion."""

    def __init__(
        self, *, service: ScoringService, settings: Settings, metrics: Metrics
    ) -> None:
        self.service = service
        self.settings = settings
        self.metrics = metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # One check at a time, whether from the thread or a caller.
        self._checking = threading.Lock()

    def load_now(self) -> bool:
        """Load the champion if it is not the version served; True when one was."""
        from training.registry import champion_version, load_champion

        with self._checking:
            version = champion_version(self.settings)
            if version is None:
                raise ModelNotReady(
                    f"no model holds the champion alias in {self.settings.resolved_mlflow_uri}"
                )
            previous = self.service.model_version
            if version == previous:
                return False
            detector, loaded = load_champion(self.settings)
            # Frozen before it serves, so collections skip the new model's objects.
            gc.collect()
            gc.freeze()
            self.service.install(detector, loaded)
            self.metrics.set_model(loaded, previous)
            if previous is not None:
                self.metrics.model_reloads.inc()
            return True

    def start(self) -> None:
        interval = self.settings.model_check_seconds
        if interval <= 0:
            logger.info("champion alias check is off (CREDWATCH_MODEL_CHECK_SECONDS=0)")
            return
        self._thread = threading.Thread(
            target=self._run,
            args=(interval,),
            name="credwatch-champion-watch",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, interval: float) -> None:
        while not self._stop.wait(timeout=interval):
            try:
                self.load_now()
            except ModelNotReady as exc:
                logger.warning("%s; still waiting for a champion", exc)
            except Exception:
                logger.exception(
                    "champion check failed; still serving version %s",
                    self.service.model_version,
                )

"""The scoring service: the FastAPI app and what runs beside it.

`create_app` builds the app; its lifespan loads the champion, opens the database,
and starts three daemon threads: the Event Hook worker (serving/worker.py), the
champion watcher (serving/reload.py) and the writer of stored answers
(serving/idempotency.py). A server with no champion yet still starts: it
acknowledges Event Hook deliveries, answers 503 to scoring requests and not-ready
to `/readyz`, and loads the champion as soon as the watcher sees one.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from credwatch.errors import ModelNotReady
from credwatch.retention import RetentionSchedule
from credwatch.score_log import ScoreLog
from credwatch.settings import Settings, get_settings
from serving import openapi
from serving.auth import Authenticator
from serving.bodies import BodyError
from serving.hooks import hook_router
from serving.idempotency import AnswerStore
from serving.logs import RequestLog
from serving.metrics import Metrics
from serving.queue import DeliveryQueue
from serving.reload import ChampionWatcher
from serving.routes_health import router as health_router
from serving.routes_read import router as read_router
from serving.routes_score import router as score_router
from serving.scoring import Answerer, UnknownIdentity
from serving.service import ModelNotLoaded, ScoringService
from serving.worker import HookWorker

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"
YOUNG_COLLECTION_THRESHOLD = 20_000


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, configured from `settings` (else the environment)."""
    from credwatch.pipeline import load_map

    settings = settings or get_settings()
    settings.ensure_home()
    service = ScoringService(settings, load_map(None, settings))
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(_start, app)
        try:
            yield
        finally:
            await run_in_threadpool(_stop, app)

    app = FastAPI(
        title="credwatch",
        summary="Risk of Okta credential sharing and compromise, for Zapier and Okta",
        description=openapi.DESCRIPTION,
        version=API_VERSION,
        openapi_tags=openapi.TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.metrics = metrics
    app.state.auth = Authenticator(settings)

    app.add_middleware(
        RequestLog, metrics=metrics, model_version=lambda: service.model_version
    )
    _add_error_handlers(app)
    app.include_router(score_router)
    app.include_router(hook_router(settings))
    app.include_router(read_router)
    app.include_router(health_router)
    return app


def _start(app: FastAPI) -> None:
    state = app.state
    settings: Settings = state.settings
    state.store = AnswerStore(settings)
    state.queue = DeliveryQueue(settings)
    state.answerer = Answerer(
        service=state.service,
        store=state.store,
        metrics=state.metrics,
        settings=settings,
    )
    state.worker = HookWorker(
        service=state.service,
        queue=state.queue,
        metrics=state.metrics,
        settings=settings,
    )
    state.watcher = ChampionWatcher(
        service=state.service, settings=settings, metrics=state.metrics
    )
    try:
        state.watcher.load_now()
    except ModelNotReady as exc:
        logger.warning("starting without a model: %s", exc)
    state.metrics.queue_depth.set(state.queue.depth())
    # Scores go to the log every process shares; retention purges on a schedule.
    state.score_log = ScoreLog(state.queue.engine, source="serve")
    state.service.shared = state.score_log
    state.retention = RetentionSchedule(settings)
    state.retention.maybe_run()
    state.score_log.start()
    state.retention.start()
    state.store.start()
    state.worker.start()
    state.watcher.start()
    settle_heap()
    if settings.okta_hook_secret is None:
        logger.warning(
            "CREDWATCH_OKTA_HOOK_SECRET is not set: /v1/okta/events refuses every call"
        )


def settle_heap() -> None:
    """Keep the garbage collector off what start-up loaded.

    The libraries and the model are hundreds of thousands of objects that live as
    long as the process; a full collection walking them all stalls every request
    for a few hundred milliseconds. Frozen, they are left out of collections.
    """
    gc.collect()
    gc.freeze()
    # A request allocates a few thousand short-lived objects; collecting the
    # youngest generation every 700 allocations (the default) ran several
    # collections per request.
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, 20, 20)


def _stop(app: FastAPI) -> None:
    state = app.state
    for name in ("watcher", "worker", "store", "score_log", "retention"):
        component = getattr(state, name, None)
        if component is not None:
            component.stop()


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BodyError)
    async def _body_error(_request: Request, exc: BodyError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(UnknownIdentity)
    async def _unknown_identity(
        _request: Request, exc: UnknownIdentity
    ) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ModelNotLoaded)
    async def _no_model(_request: Request, exc: ModelNotLoaded) -> JSONResponse:
        return JSONResponse(
            {"detail": f"{exc}; try again shortly"},
            status_code=503,
            headers={"Retry-After": "30"},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable sentence, like every other refusal, rather than a list that
        # a Zapier run would show as raw JSON.
        parts = []
        for item in exc.errors()[:3]:
            where = ".".join(str(step) for step in item.get("loc", ())) or "request"
            parts.append(f"{where}: {item.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(parts)}, status_code=422)

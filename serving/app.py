"""The scoring service: `POST /v1/score` for Zapier and people, `GET /healthz`.

The champion model is loaded once at start. One `Scorer` holds every identity's
state between requests, so a request's events are scored against the identity's
history and the events the service saw before; a lock keeps that state consistent
when requests overlap.
"""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from credwatch.errors import InvalidEvent
from credwatch.settings import Settings, get_settings
from events.readers import parse_event
from features.identity import IdentityResolver
from models.detector import EventScore
from models.schemas import tier_rank
from serving.answers import ScoreAnswer, flatten_reasons

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
MAX_EVENTS_PER_REQUEST = 1_000


class ScoringService:
    """The loaded model, the identity state and the response, shared by requests."""

    def __init__(self, settings: Settings) -> None:
        from credwatch.pipeline import load_detector, load_map

        self.settings = settings
        self.deployment = load_map(None, settings)
        self.detector = load_detector(settings)
        self.scorer = self.detector.scorer(IdentityResolver(self.deployment))
        self.lock = threading.Lock()

    def score(self, events: list[Any]) -> dict[str, Any]:
        from credwatch.pipeline import respond_all
        from response.policy import describe_action

        with self.lock:
            scores = [self.scorer.score_event(event) for event in events]
        scored = [item for item in scores if item is not None]
        worst = max(scored, key=lambda item: (tier_rank(item.tier), item.risk), default=None)

        incidents = {}
        if worst is not None and worst.detection is not None:
            incidents = respond_all(
                [worst.detection], settings=self.settings, deployment=self.deployment
            )
        return _answer(
            worst,
            events_scored=len(scored),
            incident_id=incidents.get(worst.identity.id) if worst else None,
            action=describe_action(
                worst.tier, worst.identity.kind, identity_id=worst.identity.id,
                deployment_map=self.deployment,
            ) if worst else "none",
            dry_run=self.settings.response_mode == "dry-run",
            model_version=self.detector.model_version,
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.service = ScoringService(settings or get_settings())
        yield

    app = FastAPI(
        title="credwatch",
        summary="Risk of Okta credential sharing and compromise, for Zapier and Okta",
        version="1",
        lifespan=lifespan,
    )

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/score", response_model=ScoreAnswer, summary="Score Okta events")
    async def score(request: Request) -> JSONResponse:
        body = await request.body()
        events = _parse_body(body)
        service: ScoringService = request.app.state.service
        answer = await _run_in_thread(service.score, events)
        return JSONResponse(answer)

    return app


async def _run_in_thread(function, *args):
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args)


def _parse_body(body: bytes) -> list[Any]:
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, f"body is not JSON: {exc}") from None

    items = document if isinstance(document, list) else [document]
    if not items:
        raise HTTPException(422, "body holds no events")
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise HTTPException(413, f"{len(items)} events; the limit is {MAX_EVENTS_PER_REQUEST}")

    events = []
    for index, item in enumerate(items):
        try:
            events.append(parse_event(item))
        except InvalidEvent as exc:
            where = f"event {index}" if isinstance(document, list) else "the event"
            raise HTTPException(422, f"{where} is not an Okta LogEvent: {exc}") from None
    return events


def _answer(
    worst: EventScore | None,
    *,
    events_scored: int,
    incident_id: int | None,
    action: str,
    dry_run: bool,
    model_version: str | None,
) -> dict[str, Any]:
    detection = worst.detection if worst else None
    reasons = detection.reasons if detection else []
    answer = ScoreAnswer(
        request_id=uuid.uuid4().hex,
        identity_id=worst.identity.id if worst else None,
        identity_kind=worst.identity.kind if worst else None,
        identity_name=worst.identity.name if worst else None,
        risk=worst.risk if worst else 0.0,
        tier=worst.tier if worst else "none",
        action=action,
        # Actions are recorded, not yet carried out against Okta, in every mode.
        action_taken=False,
        dry_run=dry_run,
        reasons=reasons,
        rules=detection.rules if detection else [],
        incident_id=incident_id,
        incident_url=None,
        model_version=model_version,
        events_scored=events_scored,
    ).model_dump()
    flatten_reasons(answer, reasons)
    return answer

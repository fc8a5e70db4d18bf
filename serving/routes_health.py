"""Liveness, readiness and metrics: open to the load balancer and the scraper."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from serving.lookups import database_answers
from serving.schemas import HealthAnswer, ReadyAnswer

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz", response_model=HealthAnswer, summary="Liveness: the process answers"
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadyAnswer,
    summary="Readiness: a model is loaded and the database answers",
    responses={
        503: {"model": ReadyAnswer, "description": "Not ready; problems say why"}
    },
)
async def readyz(request: Request) -> Any:
    version = request.app.state.service.model_version
    database = await run_in_threadpool(database_answers, request.app.state.settings)
    problems = []
    if version is None:
        problems.append("no champion model is loaded")
    if not database:
        problems.append("the database does not answer")
    answer = {
        "status": "not-ready" if problems else "ready",
        "model_version": version,
        "database": database,
        "problems": problems,
    }
    return JSONResponse(answer, status_code=503 if problems else 200)


@router.get(
    "/metrics",
    summary="Prometheus metrics of this server process",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text exposition format",
        }
    },
)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    return Response(registry.render(), media_type=registry.content_type)

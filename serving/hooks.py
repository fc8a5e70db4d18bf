"""`GET` and `POST /v1/okta/events`: Okta's Event Hook.

The GET is Okta's one-time verification: the value of
`x-okta-verification-challenge` is echoed as `{"verification": ...}`. A POST is a
delivery: with the right secret it is stored durably and acknowledged with 204,
whatever its size (up to `CREDWATCH_HOOK_MAX_BODY_BYTES`) or content, because Okta
never retries a 4xx and the events would be lost. The worker scores it afterwards
(serving/worker.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from credwatch.settings import Settings
from serving.auth import require_hook_secret
from serving.bodies import read_body
from serving.openapi import HOOK_REQUEST_BODY, UNAUTHORIZED, error
from serving.schemas import VerificationAnswer

CHALLENGE_HEADER = "x-okta-verification-challenge"


def hook_router(settings: Settings) -> APIRouter:
    """The hook's routes, guarded by the secret header the settings name."""
    router = APIRouter(
        tags=["okta"],
        dependencies=[Depends(require_hook_secret(settings.okta_hook_header))],
    )

    @router.get(
        "/v1/okta/events",
        response_model=VerificationAnswer,
        summary="Okta Event Hook verification",
        description="Okta's one-time check when the hook is registered or verified: "
        f"echoes the `{CHALLENGE_HEADER}` header.",
        responses={
            400: error(f"No {CHALLENGE_HEADER} header"),
            422: error(f"The {CHALLENGE_HEADER} header is unreadable"),
            **UNAUTHORIZED,
        },
    )
    async def verify(
        challenge: Annotated[
            str | None,
            Header(alias=CHALLENGE_HEADER, description="The value Okta wants echoed"),
        ] = None,
    ) -> dict[str, str]:
        if not challenge:
            raise HTTPException(400, f"missing the {CHALLENGE_HEADER} header")
        return {"verification": challenge}

    @router.post(
        "/v1/okta/events",
        status_code=204,
        summary="Okta Event Hook delivery",
        description="Stores the delivery durably and acknowledges it at once; the "
        "events are scored and responded to in the background. Repeated deliveries "
        "(same eventId) and events (same uuid) are skipped; records that are not "
        "LogEvents are quarantined.",
        openapi_extra={"requestBody": HOOK_REQUEST_BODY},
        responses={
            204: {"description": "Stored; scoring follows"},
            413: error("The delivery is over CREDWATCH_HOOK_MAX_BODY_BYTES"),
            **UNAUTHORIZED,
        },
    )
    async def deliver(request: Request) -> Response:
        body = await read_body(request, limit=settings.hook_max_body_bytes)
        await run_in_threadpool(request.app.state.queue.enqueue, body)
        request.app.state.metrics.queue_depth.inc()
        request.app.state.worker.notify()
        return Response(status_code=204)

    return router

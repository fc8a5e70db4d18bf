"""`POST /v1/score`: events (or an identity id) in, the flat answer out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from serving.answers import ScoreAnswer
from serving.auth import KEY_SECURITY, authorize
from serving.bodies import BodyError, parse_score_body, read_body
from serving.openapi import KEY_ERRORS, SCORE_REQUEST_BODY, error
from serving.scoring import Answerer

MAX_IDEMPOTENCY_KEY = 200

IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any string that names this request, e.g. the id of the zap's "
    "trigger record or the Okta event's uuid; a replay with the same key gets the "
    "stored answer",
    "schema": {"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY},
}

router = APIRouter(tags=["scoring"])


@router.post(
    "/v1/score",
    response_model=ScoreAnswer,
    summary="Score Okta events",
    description=(
        "Scores the events against each identity's history and the model, opens or "
        "updates the incident of an identity at medium or above, and answers with the "
        "riskiest identity's risk as one flat object (reason_1 .. reason_5 included) "
        'that a Zapier step maps without code. With `{"identity_id": ...}` it answers '
        "with the identity's current risk and scores nothing. Needs a key of scope "
        "`score`."
    ),
    openapi_extra={
        "requestBody": SCORE_REQUEST_BODY,
        "parameters": [IDEMPOTENCY_KEY_PARAMETER],
        "security": KEY_SECURITY,
    },
    responses={
        200: {
            "description": "Scored; `Idempotent-Replayed: true` marks a stored answer",
            "headers": {
                "Idempotent-Replayed": {
                    "description": "true when this is the stored answer of an earlier request",
                    "schema": {"type": "string"},
                }
            },
        },
        400: error("The body is not JSON (or a form field holding JSON is not)"),
        404: error("identity_id names an identity this service knows nothing about"),
        413: error("The body is over the byte or event limit"),
        415: error("The body is neither JSON nor form-encoded"),
        422: error(
            "The body holds no events, an event is not an Okta LogEvent, or the "
            "Idempotency-Key was used before with other events"
        ),
        503: error("No champion model is loaded yet"),
        **KEY_ERRORS,
    },
)
async def score(request: Request) -> Response:
    # Credentials and headers are read here rather than declared as dependencies:
    # FastAPI's dependency solving would cost this hot route a tenth of a millisecond.
    key = authorize(request, "score")
    settings = request.app.state.settings
    idempotency_key = request.headers.get("idempotency-key", "").strip() or None
    if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise BodyError(
            422, f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters"
        )
    body = await read_body(request, limit=settings.api_max_body_bytes)
    parsed = parse_score_body(
        body,
        request.headers.get("content-type", ""),
        max_events=settings.api_max_events,
    )
    answerer: Answerer = request.app.state.answerer
    content, replayed = await answerer.answer(
        parsed,
        key=key,
        idempotency_key=idempotency_key,
        request_id=request.state.request_id,
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(content, media_type="application/json", headers=headers)

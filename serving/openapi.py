"""Request bodies and texts of the OpenAPI document that no model declares.

`POST /v1/score` reads its body itself (JSON or a form, several shapes), so its
request schema is written here by hand, with the examples a Zapier user copies.
"""

from __future__ import annotations

from typing import Any

from serving.schemas import ErrorAnswer

DESCRIPTION = """\
credwatch scores Okta identities (people, AI agents, service accounts) for shared
and stolen credentials, and responds by the tier of the risk.

**Authentication.** Every endpoint except `/healthz`, `/readyz` and `/metrics`
needs credentials. Zapier and people send an API key from
`credwatch keys create NAME --scope score|read|admin`, as
`Authorization: Bearer <key>` or `X-API-Key: <key>`. Okta's Event Hook sends the
secret configured in Okta in the header named by `CREDWATCH_OKTA_HOOK_HEADER`
(default `Authorization`). Missing or wrong credentials get a bare 401.

**Limits.** Each key has a rate limit (429 with `Retry-After`); scoring bodies are
limited in bytes and events (413).

**Idempotency.** A scoring request replayed with the same events, or the same
`Idempotency-Key` header, gets the stored answer (header `Idempotent-Replayed:
true`) and triggers nothing new.
"""

TAGS = [
    {"name": "scoring", "description": "Scoring events, for Zapier and people"},
    {"name": "okta", "description": "Okta Event Hook: verification and deliveries"},
    {"name": "read", "description": "Identities and incidents"},
    {"name": "operations", "description": "Health, readiness and metrics"},
]

_EXAMPLE_EVENT: dict[str, Any] = {
    "uuid": "b2d1c9a4-51f0-11ef-9a1c-7b1d4f0e2a11",
    "published": "2026-03-02T09:03:00.000Z",
    "eventType": "user.session.start",
    "severity": "INFO",
    "actor": {
        "id": "00uSYNCBOT",
        "type": "User",
        "alternateId": "sync-bot@example.com",
    },
    "client": {
        "ipAddress": "45.9.1.2",
        "userAgent": {"rawUserAgent": "curl/8.4.0"},
        "geographicalContext": {"country": "Netherlands", "city": "Amsterdam"},
    },
    "outcome": {"result": "SUCCESS"},
    "securityContext": {"asNumber": 9009},
    "transaction": {
        "type": "WEB",
        "id": "tx1",
        "detail": {"requestApiTokenId": "00TSYNC"},
    },
}

LOG_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "LogEvent",
    "description": "An Okta System Log event as `GET /api/v1/logs` or an Event Hook "
    "delivers it. Only `eventType` is required; other Okta fields are kept.",
    "required": ["eventType"],
    "additionalProperties": True,
    "properties": {
        "uuid": {
            "type": "string",
            "description": "Okta's id of the event; replays are recognised by it",
        },
        "published": {
            "type": "string",
            "format": "date-time",
            "description": "When the event happened",
        },
        "eventType": {
            "type": "string",
            "minLength": 1,
            "description": "Okta event type, e.g. user.session.start",
        },
        "actor": {
            "type": "object",
            "description": "Who acted: the identity scored",
            "properties": {
                "id": {"type": "string", "description": "Okta id of the actor"},
                "type": {"type": "string", "description": "User, PublicClientApp, ..."},
                "alternateId": {
                    "type": "string",
                    "description": "Login or client name",
                },
            },
        },
        "client": {
            "type": "object",
            "description": "Address, user agent and place of the client",
        },
        "outcome": {
            "type": "object",
            "description": "result (SUCCESS, FAILURE, ...) and reason",
        },
        "securityContext": {"type": "object", "description": "asNumber, isp, isProxy"},
        "authenticationContext": {
            "type": "object",
            "description": "externalSessionId and credential details",
        },
        "debugContext": {
            "type": "object",
            "description": "debugData: requestUri, risk, behaviors, ...",
        },
        "transaction": {
            "type": "object",
            "description": "detail.requestApiTokenId names an API token",
        },
    },
}

_WRAPPED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "WrappedEvents",
    "description": "Events under `event` or `events`, as objects or as JSON text "
    "(what a Zapier field mapped from an earlier step holds).",
    "anyOf": [{"required": ["event"]}, {"required": ["events"]}],
    "properties": {
        "event": {
            "description": "One LogEvent, or its JSON text",
            "anyOf": [LOG_EVENT_SCHEMA, {"type": "string", "minLength": 2}],
        },
        "events": {
            "description": "A list of LogEvents, or its JSON text",
            "anyOf": [
                {"type": "array", "items": LOG_EVENT_SCHEMA, "minItems": 1},
                {"type": "string", "minLength": 2},
            ],
        },
    },
}

_IDENTITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "IdentityQuestion",
    "description": "The current risk of an identity this service has scored; no new events.",
    "required": ["identity_id"],
    "properties": {
        "identity_id": {
            "type": "string",
            "minLength": 1,
            "description": "Okta actor id",
        }
    },
}

_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "ZapierForm",
    "description": "Zapier's Form payload: every value is a string. Send `event` (or "
    "`events`) holding the JSON text of the events, or `identity_id`, or a single "
    "event's fields with nested names joined by `__` (actor__id, client__ipAddress).",
    "properties": {
        "event": {
            "type": "string",
            "description": "JSON text of one LogEvent or a list",
        },
        "events": {"type": "string", "description": "JSON text of a list of LogEvents"},
        "identity_id": {"type": "string", "description": "Okta actor id to report on"},
        "eventType": {
            "type": "string",
            "description": "A single event's type, with its other fields",
        },
        "actor__id": {"type": "string", "description": "A single event's actor id"},
    },
}

SCORE_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "One LogEvent, a list of them, events wrapped as `event`/`events`, "
    'or `{"identity_id": ...}`; as JSON or form-encoded.',
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    LOG_EVENT_SCHEMA,
                    {
                        "type": "array",
                        "items": LOG_EVENT_SCHEMA,
                        "maxItems": 1000,
                        "description": "Several events; the answer is about the riskiest identity",
                    },
                    _WRAPPED_SCHEMA,
                    _IDENTITY_SCHEMA,
                ]
            },
            "examples": {
                "one-event": {"summary": "One Okta event", "value": _EXAMPLE_EVENT},
                "zapier-json-field": {
                    "summary": "Zapier JSON payload with the event mapped as text",
                    "value": {
                        "event": '{"eventType": "user.session.start", "uuid": "e1", '
                        '"actor": {"id": "00uSYNCBOT", "type": "User"}}'
                    },
                },
                "identity": {
                    "summary": "Current risk of an identity",
                    "value": {"identity_id": "00uSYNCBOT"},
                },
            },
        },
        "application/x-www-form-urlencoded": {
            "schema": _FORM_SCHEMA,
            "examples": {
                "zapier-form": {
                    "summary": "Zapier Form payload",
                    "value": {"identity_id": "00uSYNCBOT"},
                }
            },
        },
    },
}

HOOK_REQUEST_BODY: dict[str, Any] = {
    "required": False,
    "description": "Okta's Event Hook envelope. It is stored as sent and acknowledged; "
    "events that are not LogEvents are quarantined, never refused.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "title": "EventHookDelivery",
                "description": "Okta's envelope (CloudEvents 0.1)",
                "properties": {
                    "eventType": {
                        "type": "string",
                        "description": "com.okta.event_hook",
                    },
                    "eventTypeVersion": {"type": "string", "description": "1.0"},
                    "cloudEventsVersion": {"type": "string", "description": "0.1"},
                    "source": {
                        "type": "string",
                        "description": "The hook's URL in Okta",
                    },
                    "eventId": {
                        "type": "string",
                        "description": "Id of the delivery; a repeat is skipped",
                    },
                    "eventTime": {"type": "string", "description": "When Okta sent it"},
                    "contentType": {
                        "type": "string",
                        "description": "application/json",
                    },
                    "data": {
                        "type": "object",
                        "description": "The events",
                        "properties": {
                            "events": {
                                "type": "array",
                                "items": LOG_EVENT_SCHEMA,
                                "description": "System Log events",
                            }
                        },
                    },
                },
            },
            "example": {
                "eventType": "com.okta.event_hook",
                "eventTypeVersion": "1.0",
                "cloudEventsVersion": "0.1",
                "source": "https://example.okta.com/api/v1/eventHooks/who7hphp39JoHLni81d7",
                "eventId": "85b60edb-4263-4e13-993b-818e26201052",
                "eventTime": "2026-03-02T09:03:01.093Z",
                "contentType": "application/json",
                "data": {"events": [_EXAMPLE_EVENT]},
            },
        }
    },
}


def error(description: str) -> dict[str, Any]:
    """An error response entry for `responses=`."""
    return {"model": ErrorAnswer, "description": description}


UNAUTHORIZED = {401: error("Missing or wrong credentials")}
KEY_ERRORS = {
    **UNAUTHORIZED,
    403: error("The key's scope does not cover this endpoint"),
    429: {
        "model": ErrorAnswer,
        "description": "The key is over its rate limit",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait",
                "schema": {"type": "string"},
            }
        },
    },
}

"""Answering a scoring request: replay check, scoring, response, the flat answer."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from credwatch.keys import KeyInfo
from credwatch.settings import Settings
from features.identity import Identity
from models.detector import EventScore
from response.flows import policy_for
from response.policy import describe_action
from serving.answers import flat_answer
from serving.bodies import BodyError, ScoreRequest
from serving.idempotency import AnswerStore
from serving.lookups import incidents_of
from serving.metrics import Metrics
from serving.responder import IdentityResponse, needs_response, respond_to
from serving.service import ScoringService

logger = logging.getLogger(__name__)


class UnknownIdentity(LookupError):
    """An identity id the service knows nothing about."""


class Answerer:
    """Turns a parsed scoring request into the JSON answer, once per request."""

    def __init__(
        self,
        *,
        service: ScoringService,
        store: AnswerStore,
        metrics: Metrics,
        settings: Settings,
    ) -> None:
        self.service = service
        self.store = store
        self.metrics = metrics
        self.settings = settings
        # Requests being answered, by stored-answer key; touched only on the loop.
        self._running: dict[str, tuple[str, asyncio.Future[bytes]]] = {}

    async def answer(
        self,
        request: ScoreRequest,
        *,
        key: KeyInfo,
        idempotency_key: str | None,
        request_id: str,
    ) -> tuple[bytes, bool]:
        """The answer's JSON and whether it is a stored one, replayed.

        Runs on the event loop: scoring one event costs a fraction of a
        millisecond, less than handing it to a thread. Whatever may wait (the
        database writes of the response, a model lock held by the hook worker, a
        lookup over the network) goes to a worker thread.
        """
        if request.identity_id is not None:
            # A question about an identity scores nothing, so it needs no storing.
            answer = await run_in_threadpool(
                self._identity_answer, request.identity_id, request_id
            )
            return orjson.dumps(answer), False

        fingerprint = request.fingerprint()
        if idempotency_key:
            store_key = f"{key.id}:key:{idempotency_key}"
        else:
            store_key = f"{key.id}:events:{fingerprint}"
        if self.store.reads_locally:
            stored = self.store.get(store_key)
        else:
            stored = await run_in_threadpool(self.store.get, store_key)
        if stored is not None:
            _check_same_request(stored.request_hash, fingerprint)
            self.metrics.replays.inc()
            return stored.answer, True

        running = self._running.get(store_key)
        if running is not None:
            # The same request is being answered right now: wait for that answer.
            running_hash, future = running
            _check_same_request(running_hash, fingerprint)
            content = await asyncio.shield(future)
            self.metrics.replays.inc()
            return content, True

        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._running[store_key] = (fingerprint, future)
        try:
            content = orjson.dumps(await self._score(request, request_id))
            self.store.put(store_key, fingerprint, content)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so asyncio never warns about it
            raise
        else:
            future.set_result(content)
        finally:
            del self._running[store_key]
        return content, False

    async def _score(self, request: ScoreRequest, request_id: str) -> dict[str, Any]:
        batch = self.service.score(request.events, wait=False)
        if batch is None:
            # The hook worker holds the model: wait for it in a thread, not here.
            batch = await run_in_threadpool(self.service.score, request.events)
        assert batch is not None
        detections = batch.detections()
        responses = {}
        if needs_response(detections):
            responses = await run_in_threadpool(
                lambda: respond_to(
                    detections,
                    settings=self.settings,
                    deployment=self.service.deployment,
                )
            )
        for item in batch.scores:
            self.metrics.scores.labels(item.tier, "api").inc()
        for response in responses.values():
            for kind, status in response.actions:
                self.metrics.actions.labels(kind, status).inc()

        worst = batch.worst()
        if worst is None:
            # Every event was seen before (or named no actor): report where the
            # identity stands rather than nothing.
            worst = self._latest_of(request)
        identity = worst.identity if worst else None
        answer = self._build(
            request_id=request_id,
            identity=identity,
            scored=worst,
            response=responses.get(identity.id) if identity else None,
            model_version=batch.model_version,
        )
        answer.update(
            events_received=batch.received,
            events_scored=len(batch.scores),
            duplicates=batch.duplicates,
        )
        return answer

    def _latest_of(self, request: ScoreRequest) -> EventScore | None:
        for event in request.events:
            if event.actor_id:
                record = self.service.record_of(event.actor_id)
                if record is not None and record.latest is not None:
                    return record.latest
        return None

    def _identity_answer(self, identity_id: str, request_id: str) -> dict[str, Any]:
        record = self.service.record_of(identity_id)
        _ids, open_incident = incidents_of(self.settings, identity_id)
        if record is None and open_incident is None:
            raise UnknownIdentity(
                f"no identity {identity_id!r}: this service has scored none of its "
                "events and it has no open incident"
            )
        response = None
        if open_incident is not None:
            response = IdentityResponse(
                incident_id=open_incident["id"], ticket_url=open_incident["ticket_url"]
            )
        if record is not None and record.latest is not None:
            answer = self._build(
                request_id=request_id,
                identity=record.identity,
                scored=record.latest,
                response=response,
                model_version=self.service.model_version,
            )
        else:
            # Known only from its incident (scored by another process or before a
            # restart): answer with the incident's view.
            assert open_incident is not None
            answer = self._from_incident(open_incident, request_id, response)
        answer.update(events_received=0, events_scored=0, duplicates=0)
        return answer

    def _build(
        self,
        *,
        request_id: str,
        identity: Identity | None,
        scored: EventScore | None,
        response: IdentityResponse | None,
        model_version: str | None,
    ) -> dict[str, Any]:
        detection = scored.detection if scored else None
        reasons = list(detection.reasons) if detection else []
        tier = scored.tier if scored else "none"
        action = "none"
        if identity is not None and tier != "none":
            action = describe_action(
                tier,
                identity.kind,
                identity_id=identity.id,
                deployment_map=self.service.deployment,
                policy=policy_for(self.settings),
            )
        return flat_answer(
            request_id=request_id,
            identity_id=identity.id if identity else None,
            identity_kind=identity.kind if identity else None,
            identity_name=identity.name if identity else None,
            risk=round(scored.risk, 2) if scored else 0.0,
            tier=tier,
            action=action,
            action_taken=bool(response and response.action_taken),
            dry_run=self.settings.response_mode == "dry-run",
            reasons=reasons,
            rules=list(detection.rules) if detection else [],
            incident_id=response.incident_id if response else None,
            incident_url=self._incident_url(response),
            model_version=model_version,
            events_scored=0,
        )

    def _from_incident(
        self,
        incident: dict[str, Any],
        request_id: str,
        response: IdentityResponse | None,
    ) -> dict[str, Any]:
        reasons = list(incident["reasons"])
        return flat_answer(
            request_id=request_id,
            identity_id=incident["identity_id"],
            identity_kind=incident["identity_kind"],
            identity_name=incident["identity_name"],
            risk=round(incident["risk"], 2),
            tier=incident["tier"],
            action=describe_action(
                incident["tier"],
                incident["identity_kind"],
                identity_id=incident["identity_id"],
                deployment_map=self.service.deployment,
                policy=policy_for(self.settings),
            ),
            action_taken=any(item["status"] == "done" for item in incident["actions"]),
            dry_run=self.settings.response_mode == "dry-run",
            reasons=reasons,
            rules=list(incident["rules"]),
            incident_id=incident["id"],
            incident_url=self._incident_url(response),
            model_version=self.service.model_version,
            events_scored=0,
        )

    def _incident_url(self, response: IdentityResponse | None) -> str | None:
        if response is None or response.incident_id is None:
            return None
        if response.ticket_url:
            return response.ticket_url
        if self.settings.public_url:
            return f"{self.settings.public_url.rstrip('/')}/v1/incidents/{response.incident_id}"
        return None


def _check_same_request(stored_hash: str, fingerprint: str) -> None:
    if stored_hash != fingerprint:
        raise BodyError(
            422,
            "this Idempotency-Key was used before with other events; "
            "use a new key for a new request",
        )

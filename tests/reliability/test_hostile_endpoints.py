"""Hostile requests to every endpoint: a clear 4xx (or a quarantine entry), never a 500.

Each endpoint gets property-based bodies, headers, paths and query strings, and a
list of known attacks. Okta Event Hook deliveries are acknowledged whatever they
hold (Okta never retries a 4xx), so for them the promise is that the worker
quarantines what is not an event and no delivery fails.
"""

from __future__ import annotations

import random
from urllib.parse import quote, urlencode

import orjson
import pytest
from hostile_tally import count
from hostile_values import (
    BASE_EVENT,
    EVENT_PATHS,
    NASTY_VALUES,
    deep,
    json_values,
    with_value,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_world import HOOK_SECRET
from sqlalchemy import select

from credwatch.keys import create_key

# Hypothesis warns when a generated value (a 100 kB string) is slow to print.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
CONTENT_TYPES = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded; charset=\u00ff",
]
# Header text as HTTP carries it: latin-1 bytes, without CR, LF or NUL (which
# clients and servers refuse before an application sees them).
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=300,
)


class Client:
    """The app under test, with a key of every power, counting what it answers."""

    def __init__(self, client, key: str) -> None:
        self.client = client
        self.key = key

    def send(
        self, target: str, method: str, url: str, *, auth: str | None = "key", **kwargs
    ):
        headers = dict(kwargs.pop("headers", {}) or {})
        if auth == "key":
            headers.setdefault("X-API-Key", self.key)
        elif auth == "hook":
            headers.setdefault("Authorization", HOOK_SECRET)
        response = self.client.request(method, url, headers=headers, **kwargs)
        assert response.status_code < 500, (
            target,
            response.status_code,
            response.text[:500],
        )
        if 400 <= response.status_code < 500:
            # A refusal says what is wrong, in the one error shape.
            assert "detail" in response.json(), (target, response.text[:200])
        count(f"endpoint {target}", str(response.status_code))
        return response


@pytest.fixture(scope="module")
def api(world, tmp_path_factory):
    from fastapi.testclient import TestClient

    from serving.app import create_app

    home = tmp_path_factory.mktemp("hostile-app")
    settings_ = world.settings(
        home=home, mlflow_uri=f"sqlite:///{world.home / 'mlflow.db'}"
    )
    key, _ = create_key(settings_, "fuzzer", scope="admin", rate_per_minute=10**9)
    with TestClient(create_app(settings_), raise_server_exceptions=False) as client:
        yield Client(client, key)


def live_event(world, n: int) -> dict:
    stream = world.live(seed=n)
    return next(stream)


# /v1/score


@FUZZ
@given(json_values)
def test_score_any_json(api, value):
    api.send(
        "POST /v1/score (any JSON)", "POST", "/v1/score", content=orjson.dumps(value)
    )


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(EVENT_PATHS),
            st.one_of(json_values, st.sampled_from(NASTY_VALUES)),
        ),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(["bare", "list", "events", "event-text", "hook"]),
)
def test_score_events_with_hostile_fields(api, replacements, wrapping):
    event = dict(BASE_EVENT, uuid=f"h-{random.getrandbits(64):x}")
    for path, value in replacements:
        event = with_value(event, path, value)
    try:
        text = orjson.dumps(event)
    except orjson.JSONEncodeError:
        # Nested past what JSON writers write: send it as a reader would refuse it.
        text = b"[" * 2000
    body = {
        "bare": text,
        "list": b"[" + text + b"]",
        "events": b'{"events": [' + text + b"]}",
        "event-text": orjson.dumps({"event": text.decode()}),
        "hook": b'{"eventType": "com.okta.event_hook", "data": {"events": ['
        + text
        + b"]}}",
    }[wrapping]
    api.send(
        "POST /v1/score (hostile fields)",
        "POST",
        "/v1/score",
        content=body,
        headers={"Content-Type": "application/json"},
    )


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from(CONTENT_TYPES))
def test_score_any_bytes(api, body, content_type):
    api.send(
        "POST /v1/score (any bytes)",
        "POST",
        "/v1/score",
        content=body,
        headers={"Content-Type": content_type.encode("latin-1")},
    )


@FUZZ
@given(
    st.dictionaries(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                [
                    "event",
                    "events",
                    "identity_id",
                    "eventType",
                    "actor__id",
                    "published",
                    "client__ipAddress",
                    "a" + "__a" * 100,
                ]
            ),
        ),
        st.one_of(
            st.text(max_size=60),
            st.sampled_from(
                ["[", "null", "{}", "9999-01-01T00:00:00Z", '{"eventType": 1}', "::1"]
            ),
        ),
        max_size=6,
    )
)
def test_score_any_form(api, fields):
    api.send(
        "POST /v1/score (forms)",
        "POST",
        "/v1/score",
        content=urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


@FUZZ
@given(header_text, header_text, header_text)
def test_score_hostile_headers(api, idempotency_key, request_id, content_type):
    event = dict(BASE_EVENT, uuid=f"hh-{random.getrandbits(64):x}")
    api.send(
        "POST /v1/score (headers)",
        "POST",
        "/v1/score",
        content=orjson.dumps(event),
        headers={
            "Idempotency-Key": idempotency_key.encode("latin-1"),
            "X-Request-Id": request_id.encode("latin-1"),
            "Content-Type": content_type.encode("latin-1") or b"application/json",
        },
    )


@FUZZ
@given(header_text)
def test_any_credential_is_refused_with_a_bare_401(api, credential):
    for header in ("X-API-Key", "Authorization"):
        response = api.send(
            "credentials",
            "POST",
            "/v1/score",
            auth=None,
            headers={header: credential.encode("latin-1")},
            content=b"{}",
        )
        assert response.status_code == 401


# Reads.


@FUZZ
@given(st.text(max_size=300))
def test_identity_any_id(api, identity):
    api.send(
        "GET /v1/identities/{id}", "GET", "/v1/identities/" + quote(identity, safe="")
    )


@FUZZ
@given(st.text(max_size=40))
def test_incident_any_id(api, incident):
    api.send(
        "GET /v1/incidents/{id}", "GET", "/v1/incidents/" + quote(incident, safe="")
    )


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["status", "tier", "identity_id", "before", "limit", "other"]),
        st.one_of(
            st.text(max_size=30),
            st.integers().map(str),
            st.sampled_from(["open", "high", "-1", "1e9"]),
        ),
        max_size=5,
    )
)
def test_incidents_any_query(api, query):
    api.send("GET /v1/incidents", "GET", "/v1/incidents?" + urlencode(query))


# The Okta Event Hook.


@FUZZ
@given(header_text)
def test_hook_verification_any_challenge(api, challenge):
    api.send(
        "GET /v1/okta/events",
        "GET",
        "/v1/okta/events",
        auth="hook",
        headers={"x-okta-verification-challenge": challenge.encode("latin-1")},
    )


@settings(FUZZ, max_examples=80)
@given(
    st.one_of(
        st.binary(max_size=2000),
        json_values.map(
            lambda value: orjson.dumps(
                {
                    "eventType": "com.okta.event_hook",
                    "eventId": "x",
                    "data": {"events": [value]},
                }
            )
        ),
        st.lists(
            st.tuples(st.sampled_from(EVENT_PATHS), st.sampled_from(NASTY_VALUES)),
            max_size=3,
        ).map(lambda replacements: _hook_body(replacements)),
    )
)
def test_hook_any_delivery_is_acknowledged(api, body):
    response = api.send(
        "POST /v1/okta/events", "POST", "/v1/okta/events", auth="hook", content=body
    )
    assert response.status_code == 204


def _hook_body(replacements) -> bytes:
    event = dict(BASE_EVENT, uuid=f"hk-{random.getrandbits(64):x}")
    for path, value in replacements:
        event = with_value(event, path, value)
    try:
        encoded = orjson.dumps(event)
    except orjson.JSONEncodeError:
        encoded = b"[" * 2000
    return (
        b'{"eventType": "com.okta.event_hook", "eventId": "'
        + str(random.getrandbits(64)).encode()
        + b'", "data": {"events": ['
        + encoded
        + b"]}}"
    )


KNOWN_ATTACKS = [
    ("deep JSON", b"[" * 100_000 + b"]" * 100_000, 400),
    ("NaN", b'{"eventType": "x", "published": NaN}', 400),
    ("Infinity", b'{"eventType": "x", "risk": Infinity}', 400),
    ("1e999", b'{"eventType": "x", "n": 1e999}', 400),
    ("not UTF-8", b'{"eventType": "\xff\xfe"}', 400),
    ("lone surrogate", b'{"eventType": "\\ud800"}', 400),
    ("empty", b"", 400),
    ("deep event", orjson.dumps({**BASE_EVENT, "x": deep(100)}), 422),
    (
        "year 1",
        orjson.dumps({**BASE_EVENT, "published": "0001-01-01T00:00:00+01:00"}),
        422,
    ),
    (
        "year 9999",
        orjson.dumps({**BASE_EVENT, "published": "9999-12-31T23:59:59Z"}),
        422,
    ),
    ("actor as text", orjson.dumps({**BASE_EVENT, "actor": "00uALICE"}), 422),
    ("too many events", orjson.dumps([BASE_EVENT] * 1001), 413),
    ("body over the limit", b" " * 1_100_000, 413),
]


@pytest.mark.parametrize(
    ("name", "body", "status"), KNOWN_ATTACKS, ids=[a[0] for a in KNOWN_ATTACKS]
)
def test_known_attacks_get_a_clear_refusal(api, name, body, status):
    response = api.send(
        "POST /v1/score (known attacks)",
        "POST",
        "/v1/score",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    "address",
    [
        "::1",
        "fe80::1%eth0",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "10.0.0.1",
        "192.168.0.7",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "999.1.1.1",
        "",
    ],
)
def test_unusual_addresses_are_scored(api, world, address):
    event = live_event(world, hash(address) % 1000)
    event["client"]["ipAddress"] = address
    response = api.send("POST /v1/score (addresses)", "POST", "/v1/score", json=event)
    assert response.status_code == 200
    assert response.json()["identity_id"] == event["actor"]["id"]


def test_an_event_without_an_actor_is_answered_without_an_identity(api, world):
    event = live_event(world, 5)
    del event["actor"]
    response = api.send("POST /v1/score (no actor)", "POST", "/v1/score", json=event)
    assert response.status_code == 200
    assert response.json()["identity_id"] is None


def test_every_delivery_was_read_none_failed(api):
    """Runs last in this module: the worker has read what the hook tests sent."""
    from response.flows import session_factory
    from serving.records import HookDelivery

    app = api.client.app
    assert app.state.worker.wait_idle(60)
    with session_factory(app.state.settings)() as session:
        deliveries = list(session.scalars(select(HookDelivery)))
    assert deliveries, "the hook tests sent nothing"
    failed = [(d.id, d.error) for d in deliveries if d.status != "done"]
    assert failed == []
    quarantined = sum(d.quarantined for d in deliveries)
    scored = sum(d.events for d in deliveries)
    count("POST /v1/okta/events: worker", f"{quarantined} records quarantined")
    count("POST /v1/okta/events: worker", f"{scored} events scored")
    assert quarantined > 0

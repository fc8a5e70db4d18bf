"""The OpenAPI document: complete, and true to the app under schemathesis.

Schemathesis generates requests from the document (valid and invalid ones) and
checks every answer against it: no server errors, only documented status codes,
content types and headers, and bodies that match their schemas.
"""

from __future__ import annotations

import pytest
import schemathesis
from conftest import HOOK_SECRET
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from credwatch.keys import create_key
from serving.app import create_app

MAX_EXAMPLES = 25
# JSON Schema cannot say "the JSON text of a LogEvent" (Zapier's form fields) nor
# every rule that tells an Okta event from other JSON, so a schema-valid body may
# still be refused with a 4xx; and the Okta hook accepts any body by design (bad
# events are quarantined, because Okta never retries a 4xx).
EXCLUDED = [checks.positive_data_acceptance, checks.negative_data_rejection]


@pytest.fixture(scope="module")
def api(make_settings):
    app_settings = make_settings()
    key, _ = create_key(
        app_settings, "schemathesis", scope="admin", rate_per_minute=100_000
    )
    # Schemathesis runs the app's lifespan itself, once, on the first request.
    return schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(app_settings)
    ), key


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_app_keeps_to_its_openapi_document(api, mode):
    schema, key = api
    # The API key rides in X-API-Key, leaving Authorization to the Okta hook secret.
    headers = {"X-API-Key": key, "Authorization": HOOK_SECRET}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_to_the_document(case):
            case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

        try:
            keeps_to_the_document()
        except Unsatisfiable:
            # Nothing to get wrong: an operation without parameters or body has
            # no invalid requests.
            assert mode is GenerationMode.NEGATIVE


def test_every_field_is_described(module_served):
    document = module_served.client.get("/openapi.json").json()
    missing = [
        f"{name}.{field}"
        for name, component in document["components"]["schemas"].items()
        for field, spec in component.get("properties", {}).items()
        if not spec.get("description")
    ]

    assert missing == []
    # Every refusal has the one shape {"detail": "..."}, validation errors included.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    score = document["paths"]["/v1/score"]["post"]
    assert set(score["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert score["responses"]["200"]["content"]["application/json"]["schema"]
    assert document["components"]["schemas"]["ScoreAnswer"]["examples"]
    assert {"BearerKey", "ApiKeyHeader", "OktaHookSecret"} <= set(
        document["components"]["securitySchemes"]
    )

"""The integration API fuzzed against its own OpenAPI description with schemathesis, on both
databases: no request may produce a 500, and every response (status, headers, body) must be
one the description promises. Bounded (a few examples per operation) to stay well under a minute."""
from __future__ import annotations

from datetime import timedelta

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from db.models import ApiToken
from tests import clock
from tests.staff import make_person, make_ticket, make_user
from web import api_spec, api_tokens

FUZZ_TOKEN = "hw_fuzzing-token-for-tests-only-000000000000000"


# The description as served (a test below checks the served JSON is this very document). Loaded
# from the dict so the app, whose database is a per-test fixture, is passed at call time.
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(api_spec.SPEC)))


@pytest.fixture
def api_app(app, db):
    app.config["API_RATE_PER_MINUTE"] = 1_000_000
    now = clock.NOW
    with db.session() as s:
        s.add(ApiToken(name="fuzz", prefix=FUZZ_TOKEN[:10], token_hash=api_tokens.digest(FUZZ_TOKEN),
                       scopes=" ".join(api_tokens.SCOPES), created_at=now))
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    for n in range(3):   # ids 1..3 exist, so generated ids sometimes hit a real person
        pid = make_person(db, f"+1312555{n:04d}", release=clock.NOW.date() + timedelta(days=n), external_id=f"F-{n}")
        make_ticket(db, pid, "emergency", "urgent", created=now - timedelta(hours=n))
    return app


def test_the_served_description_is_the_one_fuzzed(client):
    assert client.get("/api/v1/openapi.json").json == json.loads(json.dumps(api_spec.SPEC))


@schema.parametrize()
@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_the_promises_of_its_description(case, api_app):
    # Every check but one: "schema-valid data must be accepted" cannot hold for rules JSON Schema
    # cannot say (a release date within three years of today, a real IANA zone, a dialable
    # number, an existing peer). Those get a 422 with error.fields, which the description lists.
    case.operation.app = case.operation.schema.app = api_app    # this test's app, on this test's database
    case.call_and_validate(headers={"Authorization": f"Bearer {FUZZ_TOKEN}"},
                           excluded_checks=[positive_data_acceptance])

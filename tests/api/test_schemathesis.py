"""Schemathesis against the OpenAPI schema the portal serves, authenticated with a test
key, with all default checks: every response must match what the schema promises."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from apps.apikeys.models import ALL_SCOPES
from apps.apikeys.services import apikey_create
from portal.wsgi import application

from ..models import make_version

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection_open():
    # Requests go straight to the WSGI app, as Django's test client does; like the test
    # client, keep Django from closing the test transaction's connection after each one.
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(db, fixed_head_artifact, django_user_model):
    make_version(fixed_head_artifact)
    owner = django_user_model.objects.create_user(username="fuzz", email="fuzz@example.com", password="x" * 12)
    _key, raw = apikey_create(owner=owner, name="schemathesis", scopes=ALL_SCOPES, rpm=100_000, quota=10_000_000)
    return raw


OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_the_api_keeps_the_promises_of_its_schema(operation, api_key):
    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        if operation.path == "/api/v1/classify" and isinstance(case.body, dict):
            case.body["wait"] = 0  # no worker in this test: jobs stay queued (202)
        case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"})

    run()

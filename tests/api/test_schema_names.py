"""The names of the OpenAPI document's components, as clients and generated SDKs see them."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_no_schema_component_repeats_the_request_suffix(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    names = set(response.json()["components"]["schemas"])
    # drf-spectacular appends "Request" to the body of a request (COMPONENT_SPLIT_REQUEST).
    assert "ClassifyRequest" in names
    assert not [name for name in names if name.endswith("RequestRequest")]

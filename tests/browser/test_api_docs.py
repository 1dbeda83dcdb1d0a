import pytest

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_every_endpoint_from_local_assets_under_the_csp(page):
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page.base + "/api/docs/")
    page.get_by_text("/api/v1/classify").first.wait_for()
    for path in ("/api/v1/models", "/api/v1/jobs/{job_id}", "/api/v1/usage"):
        assert page.get_by_text(path, exact=True).count() >= 1
    assert blocked == []
    assert all(url.startswith(page.base) for url in requests), [u for u in requests if not u.startswith(page.base)]
    screenshot(page, "api-docs")

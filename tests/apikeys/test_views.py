"""The key pages of a signed-in developer: create, reveal once, revoke, rotate, usage,
plan requests; outsiders get 404, POSTs need CSRF, the list's queries stay flat."""

# ruff: noqa: S314  (parses SVG the project itself generated, to check it is well formed)

import re
from datetime import datetime, time, timedelta
from xml.etree import ElementTree

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.apikeys import keyformat
from apps.apikeys.models import APIKey, KeyEvent, KeyRequest, Plan, RequestStatus, UsageDaily, UsageRecord
from apps.apikeys.services import apikey_issue, apikey_revoke, apikey_rotate, key_request_decide

from ..models import make_version
from .conftest import KeyClient, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

KEY_RE = re.compile(r"pk_[0-9A-Za-z]{8}_[0-9A-Za-z]{38}")


def _keys_in(response) -> list[str]:
    return KEY_RE.findall(response.content.decode())


def _create(client, name="ci server", scopes=("models:read", "inference:write"), days=90, **extra):
    data = {"name": name, "scopes": list(scopes), "expires_in_days": days, **extra}
    return client.post(reverse("apikeys:key_create"), data)


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def test_a_new_key_is_shown_once_and_a_reload_shows_nothing(signed_in, owner):
    response = _create(signed_in)
    key = APIKey.objects.get(owner=owner)
    assert response.status_code == 302
    secret_url = reverse("apikeys:key_secret", args=[key.pk])
    assert response["Location"] == secret_url
    page = signed_in.get(secret_url)
    (raw,) = set(_keys_in(page))
    assert keyformat.parse(raw).key_id == key.key_id
    assert "won't see it again" in page.content.decode()
    assert 'data-copy-target="new-key"' in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert raw not in response["Location"]

    reloaded = signed_in.get(secret_url)
    assert reloaded.status_code == 200
    assert _keys_in(reloaded) == []
    assert "already shown" in reloaded.content.decode()
    # Gone from the session store too, not only from the page.
    secret = raw.split("_", 2)[2]
    assert all(secret not in str(s.get_decoded()) for s in Session.objects.all())
    # And it works against the API.
    assert KeyClient(Client(), raw).get("models").status_code == 200


def test_the_new_key_gets_the_chosen_scopes_expiry_models_and_the_free_plan(signed_in, owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    form = signed_in.get(reverse("apikeys:key_create")).content.decode()
    assert 'value="fixed-head"' in form
    assert 'name="expires_in_days"' in form
    assert 'value="90"' in form
    _create(signed_in, scopes=["models:read"], days=30, allowed_models=["fixed-head"])
    key = APIKey.objects.get(owner=owner)
    assert key.scopes == ["models:read"]
    assert key.allowed_models == ["fixed-head"]
    assert key.plan.slug == "free"
    assert timedelta(days=29, hours=23) < key.expires_at - timezone.now() <= timedelta(days=30)
    assert KeyEvent.objects.filter(key=key, action="created", actor=owner, ip="127.0.0.1").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"days": 366}, "at most 365 days"),
        ({"days": 0}, "at least 1 day"),
        ({"scopes": []}, "Choose at least one scope"),
        ({"name": "   "}, "Give the key a name"),
        ({"scopes": ["admin:all"]}, "Select a valid choice"),
    ],
)
def test_the_create_form_refuses_bad_input_and_makes_no_key(signed_in, owner, data, message):
    response = _create(signed_in, **data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not APIKey.objects.filter(owner=owner).exists()


def test_the_key_list_shows_prefix_name_scopes_plan_dates_and_status_but_never_a_secret(signed_in, owner, outsider):
    key, raw = make_key(owner, scopes=["models:read"])
    revoked, _raw = make_key(owner)
    apikey_revoke(key=revoked, actor=owner)
    make_key(outsider)
    html = signed_in.get(reverse("apikeys:key_list")).content.decode()
    assert f"{key.prefix}…" in html
    assert raw.split("_", 2)[2] not in html
    assert "<code>models:read</code>" in html
    assert "Free" in html
    assert "Never" in html
    assert "Active" in html
    assert "Revoked" in html
    assert APIKey.objects.get(owner=outsider).prefix not in html
    assert reverse("apikeys:key_revoke", args=[key.pk]) in html
    assert reverse("apikeys:key_revoke", args=[revoked.pk]) not in html


def test_the_key_list_makes_the_same_number_of_queries_for_3_or_30_keys(
    signed_in, owner, django_assert_max_num_queries
):
    for _ in range(3):
        make_key(owner)
    signed_in.get(reverse("apikeys:key_list"))  # the first visit also writes the session
    with django_assert_max_num_queries(10) as few:
        signed_in.get(reverse("apikeys:key_list"))
    for _ in range(26):
        make_key(owner)
    rotated, _raw = make_key(owner)
    apikey_rotate(key=rotated, actor=owner, grace=timedelta(hours=1))  # adds a key with a successor
    apikey_issue(owner=owner, name="issued", scopes=["models:read"], actor=owner)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = signed_in.get(reverse("apikeys:key_list"))
    assert response.content.decode().count('class="card key-card') == 32


def test_revoking_on_the_page_makes_the_next_api_request_401(signed_in, owner):
    key, raw = make_key(owner)
    api = KeyClient(Client(), raw)
    assert api.get("models").status_code == 200
    confirm = signed_in.get(reverse("apikeys:key_revoke", args=[key.pk]))
    assert "cannot be undone" in confirm.content.decode()
    assert api.get("models").status_code == 200  # the confirmation page changes nothing
    response = signed_in.post(reverse("apikeys:key_revoke", args=[key.pk]), follow=True)
    assert "was revoked" in response.content.decode()
    after = api.get("models")
    assert after.status_code == 401
    assert after.json()["type"] == "api_key_revoked"
    assert KeyEvent.objects.filter(key=key, action="revoked", actor=owner).exists()


def test_rotating_shows_the_new_key_once_and_the_old_one_works_until_the_grace_ends(signed_in, owner):
    old, old_raw = make_key(owner)
    form = signed_in.get(reverse("apikeys:key_rotate", args=[old.pk])).content.decode()
    for choice in ("now", "1h", "24h", "7d"):
        assert f'value="{choice}"' in form
    response = signed_in.post(reverse("apikeys:key_rotate", args=[old.pk]), {"grace": "1h"}, follow=True)
    (new_raw,) = set(_keys_in(response))
    assert new_raw != old_raw
    old.refresh_from_db()
    assert old.replaced_by is not None
    assert timedelta(minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=1)
    assert KeyClient(Client(), old_raw).get("models").status_code == 200
    assert KeyClient(Client(), new_raw).get("models").status_code == 200
    assert _keys_in(signed_in.get(reverse("apikeys:key_secret", args=[old.replaced_by.pk]))) == []
    # The grace ends (saved as the admin would: a raw UPDATE would bypass the signal that
    # drops every process's copy of the key, apps/core/hotcache.py).
    old.refresh_from_db()
    old.expires_at = timezone.now() - timedelta(seconds=1)
    old.save(update_fields=["expires_at"])
    assert KeyClient(Client(), old_raw).get("models").json()["type"] == "api_key_expired"
    assert KeyClient(Client(), new_raw).get("models").status_code == 200


def test_rotating_with_no_grace_stops_the_old_key_at_once(signed_in, owner):
    old, old_raw = make_key(owner)
    signed_in.post(reverse("apikeys:key_rotate", args=[old.pk]), {"grace": "now"})
    assert KeyClient(Client(), old_raw).get("models").status_code == 401


def test_a_rotated_key_cannot_be_rotated_again_so_a_double_submit_makes_one_new_key(signed_in, owner):
    old, _raw = make_key(owner)
    url = reverse("apikeys:key_rotate", args=[old.pk])
    signed_in.post(url, {"grace": "24h"})
    again = signed_in.post(url, {"grace": "24h"})
    assert "already rotated" in again.content.decode()
    assert APIKey.objects.filter(owner=owner).count() == 2


def test_a_new_key_that_was_never_shown_leaves_the_session(signed_in, owner):
    _create(signed_in)  # the redirect to the secret page is not followed (a closed tab)
    key = APIKey.objects.get(owner=owner)
    signed_in.get(reverse("apikeys:key_list"))
    assert _keys_in(signed_in.get(reverse("apikeys:key_secret", args=[key.pk]))) == []


PAGES = ["key_secret", "key_reveal", "key_rotate", "key_revoke", "key_usage"]


@pytest.mark.parametrize("page", PAGES)
def test_an_outsider_gets_404_on_every_page_of_another_users_key(client, owner, outsider, page):
    key, raw = make_key(owner)
    client.force_login(outsider)
    url = reverse(f"apikeys:{page}", args=[key.pk])
    assert client.get(url).status_code == 404
    if page not in {"key_usage", "key_secret"}:
        assert client.post(url, {"grace": "now"}).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    assert key.replaced_by is None
    assert KeyClient(Client(), raw).get("models").status_code == 200


def test_an_unknown_key_id_is_a_404_too(signed_in):
    assert signed_in.get("/account/keys/00000000-0000-0000-0000-000000000000/usage/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, owner):
    key, _raw = make_key(owner)
    for url in (
        reverse("apikeys:key_list"),
        reverse("apikeys:key_create"),
        reverse("apikeys:key_usage", args=[key.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_every_post_needs_a_csrf_token(owner):
    key, raw = make_key(owner)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    posts = [
        (reverse("apikeys:key_create"), {"name": "x", "scopes": ["models:read"], "expires_in_days": 90}),
        (reverse("apikeys:key_revoke", args=[key.pk]), {}),
        (reverse("apikeys:key_rotate", args=[key.pk]), {"grace": "now"}),
        (
            reverse("apikeys:key_request"),
            {"plan": Plan.objects.get(slug="pro").pk, "reason": "A big launch next week."},
        ),
    ]
    for url, data in posts:
        assert strict.post(url, data).status_code == 403, url
    assert APIKey.objects.filter(owner=owner).count() == 1
    assert KeyRequest.objects.count() == 0
    assert KeyClient(Client(), raw).get("models").status_code == 200
    # With the token from the form, the same POST goes through.
    strict.get(reverse("apikeys:key_revoke", args=[key.pk]))
    token = strict.cookies["csrftoken"].value
    assert strict.post(reverse("apikeys:key_revoke", args=[key.pk]), {"csrfmiddlewaretoken": token}).status_code == 302
    assert KeyClient(Client(), raw).get("models").status_code == 401


def test_an_issued_key_is_offered_on_the_list_and_revealed_once(signed_in, owner, admin_user):
    key = apikey_issue(owner=owner, name="from the admins", scopes=["models:read"], actor=admin_user)
    html = signed_in.get(reverse("apikeys:key_list")).content.decode()
    assert "An administrator issued you a key" in html
    reveal_url = reverse("apikeys:key_reveal", args=[key.pk])
    assert reveal_url in html
    assert reverse("apikeys:key_rotate", args=[key.pk]) not in html
    # GET only asks: a link preview must not use the reveal up.
    assert _keys_in(signed_in.get(reveal_url)) == []
    key.refresh_from_db()
    assert key.awaiting_reveal
    (raw,) = set(_keys_in(signed_in.post(reveal_url, follow=True)))
    assert KeyClient(Client(), raw).get("models").status_code == 200
    again = signed_in.post(reveal_url, follow=True)
    assert _keys_in(again) == []
    assert "already revealed" in again.content.decode()
    assert "An administrator issued you a key" not in signed_in.get(reverse("apikeys:key_list")).content.decode()


def _usage(key, day, *, status=200, error="", inputs=1, queue=None, inference=None):
    moment = timezone.make_aware(datetime.combine(day, time(12)))
    UsageRecord.objects.create(
        key=key, endpoint="POST /classify", status_code=status, error_type=error, inputs=inputs, latency_ms=10,
        queue_ms=queue, inference_ms=inference, created_at=moment,
    )  # fmt: skip


def test_the_usage_page_charts_requests_errors_latency_and_quota_with_text_alternatives(signed_in, owner):
    key, _raw = make_key(owner, quota=1000)
    today = timezone.localdate()
    UsageDaily.objects.create(
        key=key, day=today - timedelta(days=5), requests=40, inputs=120, errors={"rate_limited": 3},
        p50_queue_ms=4, p95_queue_ms=9, p50_inference_ms=20, p95_inference_ms=45,
    )  # fmt: skip
    _usage(key, today, inputs=5, queue=3.0, inference=18.0)
    _usage(key, today, status=429, error="quota_exceeded", inputs=0)
    _usage(key, today, status=400, error="invalid_input", inputs=0)
    other, _ = make_key(owner)
    _usage(other, today, status=500, error="boom")
    response = signed_in.get(reverse("apikeys:key_usage", args=[key.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    svgs = re.findall(r"<svg xmlns=.*?</svg>", html, flags=re.S)
    assert len(svgs) == 5
    for svg in svgs:
        root = ElementTree.fromstring(svg)
        assert root.get("role") == "img"
        title, desc = root.get("aria-labelledby").split()
        assert root.find(f".//*[@id='{title}']").text
        assert root.find(f".//*[@id='{desc}']").text
        assert "style" not in svg
        assert "<script" not in svg
    assert "43 requests in the last 30 days, 5 of them errors" in html
    assert "rate_limited: 3" in html
    assert "quota_exceeded" in html
    assert "boom" not in html  # another key's error
    assert "125 of 1,000 inputs used" in html or "5 of 1,000 inputs used" in html
    assert "Quota left this month" in html
    assert "p95 latency per day" in html
    assert "<table" in html
    assert " style=" not in html


def test_the_usage_page_says_plainly_when_there_is_nothing_yet(signed_in, owner):
    key, _raw = make_key(owner)
    html = signed_in.get(reverse("apikeys:key_usage", args=[key.pk])).content.decode()
    assert "No requests in the last 30 days" in html
    assert "No errors" in html
    assert "no latency to show" in html


def test_a_developer_asks_for_a_higher_plan_once_and_hears_the_decision_on_the_site(
    signed_in, owner, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    pro = Plan.objects.get(slug="pro")
    form = signed_in.get(reverse("apikeys:key_request")).content.decode()
    assert "Enterprise" in form
    assert f'<option value="{Plan.objects.get(slug="free").pk}"' not in form
    short = signed_in.post(reverse("apikeys:key_request"), {"plan": pro.pk, "reason": "pls"})
    assert "in a sentence or two" in short.content.decode()
    response = signed_in.post(
        reverse("apikeys:key_request"), {"plan": pro.pk, "reason": "We launch a review classifier in May."}
    )
    assert response.status_code == 302
    request = KeyRequest.objects.get(user=owner)
    assert request.status == RequestStatus.PENDING
    waiting = signed_in.get(reverse("apikeys:key_request")).content.decode()
    assert "is waiting for a decision" in waiting
    assert signed_in.post(reverse("apikeys:key_request"), {"plan": pro.pk, "reason": "Again, more please."})
    assert KeyRequest.objects.filter(user=owner).count() == 1

    signed_in.get(reverse("apikeys:key_list"))  # a visit before the decision
    with django_capture_on_commit_callbacks(execute=True):
        key_request_decide(request=request, actor=admin_user, approve=True, note="Enjoy.")
    assert len(mailoutbox) == 1
    first = signed_in.get(reverse("apikeys:key_list")).content.decode()
    assert "Your request for the Pro plan was approved" in first
    assert "Enjoy." in first
    second = signed_in.get(reverse("apikeys:key_list")).content.decode()
    assert "Your request for the Pro plan was approved" not in second  # the notice is shown once
    assert "Approved" in second  # the request's state stays on the page


def test_key_pages_have_no_inline_styles_or_scripts(signed_in, owner):
    key, _raw = make_key(owner)
    urls = [reverse("apikeys:key_list"), reverse("apikeys:key_create"), reverse("apikeys:key_request")]
    urls += [reverse(f"apikeys:{page}", args=[key.pk]) for page in ("key_rotate", "key_revoke", "key_usage")]
    for url in urls:
        html = signed_in.get(url).content.decode()
        assert " style=" not in html, url
        assert "<style" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "/static/css/keys.css" in html, url


def test_the_chinese_key_list_is_translated(signed_in, owner):
    make_key(owner)
    html = signed_in.get("/zh-hans/account/keys/").content.decode()
    assert "创建密钥" in html
    assert "上次使用" in html
    assert "Create a key" not in html


def test_the_charts_escape_their_text_and_stay_well_formed():
    from apps.apikeys.charts import Series, horizontal_bars_svg, stacked_bars_svg

    svg = horizontal_bars_svg(title="T<", desc='D"&', items=[("<script>x</script>", 3)], empty="none")
    root = ElementTree.fromstring(svg)
    assert "<script>" not in svg
    assert root.find(".//{http://www.w3.org/2000/svg}desc").text == 'D"&'
    bars = stacked_bars_svg(title="t", desc="d", labels=["a", "b"], series=[Series("s", "c", [1, None])], unit="ms",
                            y_label="y")  # fmt: skip
    assert "b: s: no data" in bars
    ElementTree.fromstring(bars)

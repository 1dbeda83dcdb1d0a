"""A key's own limits: an override of 0 is a limit of 0 (empty means the plan's figure),
and rotating a key carries the month's used inputs over to the new key."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from apps.apikeys.models import APIKey, Plan
from apps.apikeys.services import apikey_create, apikey_rotate

from ..models import make_version
from .conftest import KeyClient, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

KEY_RE = re.compile(r"pk_[0-9A-Za-z]{8}_[0-9A-Za-z]{38}")


def _classify(raw, inputs):
    return KeyClient(Client(), raw).post("classify", {"model": "fixed-head", "inputs": inputs, "wait": 0})


def _problem_type(response):
    return response.json().get("type") if response["Content-Type"] == "application/problem+json" else None


def _rotate_on_the_page(owner, key) -> str:
    client = Client()
    client.force_login(owner)
    response = client.post(reverse("apikeys:key_rotate", args=[key.pk]), {"grace": "24h"}, follow=True)
    (raw,) = set(KEY_RE.findall(response.content.decode()))
    return raw


def test_overrides_of_zero_are_limits_of_zero_and_empty_ones_are_the_plans(owner):
    free = Plan.objects.get(slug="free")
    zero, _raw = make_key(owner, rpm=0, quota=0, concurrency=0)
    assert (zero.requests_per_minute, zero.inputs_per_month, zero.max_concurrent_jobs) == (0, 0, 0)
    unset, _raw = make_key(owner)
    assert (unset.requests_per_minute, unset.inputs_per_month, unset.max_concurrent_jobs) == (
        free.requests_per_minute,
        free.inputs_per_month,
        free.max_concurrent_jobs,
    )


def test_a_key_with_zero_requests_a_minute_is_refused_every_call(owner):
    _key, raw = make_key(owner, rpm=0)
    response = KeyClient(Client(), raw).get("models")
    assert response.status_code == 429
    assert _problem_type(response) == "rate_limited"
    assert int(response["Retry-After"]) >= 1
    assert response["RateLimit-Limit"] == "0"


def test_a_key_with_zero_concurrent_jobs_may_not_start_one(owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    _key, raw = make_key(owner, concurrency=0)
    response = _classify(raw, ["fine"])
    assert response.status_code == 429
    assert _problem_type(response) == "concurrency_limited"
    # The plan's limit where the override is empty.
    _key, raw = make_key(owner)
    assert _classify(raw, ["fine"]).status_code == 202


def test_the_admin_issue_form_takes_zero_as_a_limit_and_empty_as_the_plan(admin_user, owner):
    admin = Client()
    admin.force_login(admin_user)
    data = {
        "email": owner.email, "name": "suspended partner", "scopes": ["models:read"],
        "plan": Plan.objects.get(slug="pro").pk, "rpm": "0", "quota": "", "concurrency": "0", "expires_in_days": 30,
    }  # fmt: skip
    assert admin.post(reverse("admin:apikeys_apikey_issue"), data).status_code == 302
    key = APIKey.objects.get(owner=owner)
    assert (key.rpm_override, key.quota_override, key.concurrency_override) == (0, None, 0)
    assert key.requests_per_minute == 0
    assert key.inputs_per_month == Plan.objects.get(slug="pro").inputs_per_month
    refused = admin.post(reverse("admin:apikeys_apikey_issue"), {**data, "rpm": "-1"})
    assert refused.status_code == 200
    assert APIKey.objects.filter(owner=owner).count() == 1


def test_negative_overrides_are_refused_by_the_service_and_the_command(owner):
    with pytest.raises(ValidationError):
        apikey_create(owner=owner, name="bad", scopes=["models:read"], rpm=-1)
    with pytest.raises(CommandError, match="0 or more"):
        call_command("issue_key", email=owner.email, scopes="models:read", quota=-5, stdout=StringIO())
    call_command("issue_key", email=owner.email, scopes="models:read", rpm=0, stdout=StringIO())
    assert APIKey.objects.get(owner=owner).rpm_override == 0


def test_rotating_an_exhausted_key_does_not_give_a_fresh_quota(owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    old, old_raw = make_key(owner, quota=2)
    assert _classify(old_raw, ["one", "two"]).status_code == 202
    assert _problem_type(_classify(old_raw, ["three"])) == "quota_exceeded"

    new_raw = _rotate_on_the_page(owner, old)
    response = _classify(new_raw, ["three"])
    assert response.status_code == 429
    assert _problem_type(response) == "quota_exceeded"
    usage = KeyClient(Client(), new_raw).get("usage").json()
    assert (usage["inputs_used"], usage["inputs_remaining"]) == (2, 0)


def test_a_rotated_key_keeps_what_is_left_of_the_month_and_no_more(owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    old, old_raw = make_key(owner, quota=5)
    assert _classify(old_raw, ["a", "b", "c"]).status_code == 202
    _new, new_raw = apikey_rotate(key=old, actor=owner, grace=timedelta(hours=1))
    assert _problem_type(_classify(new_raw, ["d", "e", "f"])) == "quota_exceeded"
    assert _classify(new_raw, ["d", "e"]).status_code == 202
    assert _problem_type(_classify(new_raw, ["f"])) == "quota_exceeded"


def test_a_key_cannot_be_rotated_twice(owner):
    key, _raw = make_key(owner)
    apikey_rotate(key=key, actor=owner, grace=timedelta(hours=1))
    stale = APIKey.objects.get(pk=key.pk)
    stale.replaced_by_id = None  # a second request that read the key before the first committed
    with pytest.raises(ValidationError, match="already rotated"):
        apikey_rotate(key=stale, actor=owner, grace=timedelta(hours=1))
    assert APIKey.objects.filter(owner=owner).count() == 2

"""The key admin: issuing with a one-time link, approving and denying plan requests,
revoking with a reason, the read-only audit log, and who may open these pages."""

import re
import time
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.apikeys import selectors
from apps.apikeys.models import APIKey, KeyEvent, KeyRequest, Plan, RequestStatus, UsageRecord
from apps.apikeys.services import apikey_issue_and_notify, key_request_create

from .conftest import KeyClient, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

KEY_RE = re.compile(r"pk_[0-9A-Za-z]{8}_[0-9A-Za-z]{38}")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _issue(admin_client, owner, **extra):
    data = {
        "email": owner.email.upper(), "name": "partner key", "scopes": ["models:read", "inference:write"],
        "plan": Plan.objects.get(slug="pro").pk, "rpm": 5, "quota": "", "concurrency": "", "expires_in_days": 30,
        **extra,
    }  # fmt: skip
    return admin_client.post(reverse("admin:apikeys_apikey_issue"), data)


def _link_path(message) -> str:
    (link,) = re.findall(r"https?://\S+/account/keys/reveal/\S+/", message.body)
    return "/" + link.split("/", 3)[3]


def test_an_admin_issues_a_key_and_only_its_owner_reveals_it_once_through_the_emailed_link(
    admin_client, admin_user, owner, outsider, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _issue(admin_client, owner)
    key = APIKey.objects.get(owner=owner)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:apikeys_apikey_change", args=[key.pk])
    assert key.awaiting_reveal
    assert key.hashed_key == ""
    assert key.plan.slug == "pro"
    assert key.requests_per_minute == 5
    assert key.created_by == admin_user
    assert KeyEvent.objects.filter(key=key, action="issued", actor=admin_user).exists()
    (mail,) = mailoutbox
    assert mail.to == [owner.email]
    assert key.prefix in mail.subject
    assert KEY_RE.search(mail.body) is None
    link = _link_path(mail)

    anonymous = Client().get(link)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))
    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.get(link).status_code == 404
    assert stranger.post(link).status_code == 404
    assert admin_client.get(link).status_code == 404  # not even the admin who issued it

    user = Client()
    user.force_login(owner)
    page = user.get(link)
    assert page.status_code == 200
    assert KEY_RE.search(page.content.decode()) is None  # GET only asks
    (raw,) = set(KEY_RE.findall(user.post(link, follow=True).content.decode()))
    assert KeyClient(Client(), raw).get("models").status_code == 200
    again = user.post(link, follow=True).content.decode()
    assert KEY_RE.search(again) is None
    assert "already revealed" in again
    assert KeyEvent.objects.filter(key=key, action="revealed", actor=owner).count() == 1


def test_a_tampered_link_is_a_404_and_an_old_one_says_it_expired(client, owner, admin_user, monkeypatch):
    key = apikey_issue_and_notify(owner=owner, name="x", scopes=["models:read"], actor=admin_user)
    token = selectors.apikey_reveal_token(key=key)
    client.force_login(owner)
    assert client.get(reverse("apikeys:reveal_link", args=[token[:-2] + "xx"])).status_code == 404
    # A link signed longer ago than it lives: the clock (outside the project) is set back
    # while it is signed.
    signed_at = time.time() - selectors.REVEAL_LINK_MAX_AGE.total_seconds() - 60
    with monkeypatch.context() as past:
        past.setattr(signing.time, "time", lambda: signed_at)
        old = selectors.apikey_reveal_token(key=key)
    assert client.get(reverse("apikeys:reveal_link", args=[token])).status_code == 200
    expired = client.get(reverse("apikeys:reveal_link", args=[old]))
    assert expired.status_code == 410
    assert "expired" in expired.content.decode()
    assert APIKey.objects.get(pk=key.pk).awaiting_reveal  # still waiting on the key list


def test_the_issue_form_refuses_an_unknown_user_and_a_too_long_expiry(admin_client, owner):
    response = _issue(admin_client, owner, email="nobody@example.com", expires_in_days=400)
    html = response.content.decode()
    assert response.status_code == 200
    assert "No active user has this email address" in html
    assert "at most 365 days" in html
    assert not APIKey.objects.exists()


def _action(client, changelist, action, ids, **extra):
    return client.post(reverse(changelist), {"action": action, ACTION_CHECKBOX_NAME: ids, **extra})


def test_approving_a_request_moves_the_users_keys_to_the_plan_and_tells_them_by_email_and_on_the_site(
    admin_client, admin_user, owner, mailoutbox, django_capture_on_commit_callbacks
):
    key, _raw = make_key(owner)
    request = key_request_create(user=owner, plan=Plan.objects.get(slug="pro"), reason="A launch in May, 1M/month.")
    changelist = "admin:apikeys_keyrequest_changelist"
    listing = admin_client.get(reverse(changelist)).content.decode()
    assert owner.email in listing
    assert "A launch in May" in listing
    confirm = _action(admin_client, changelist, "approve_selected", [request.pk])
    assert confirm.status_code == 200
    assert 'name="note"' in confirm.content.decode()
    assert KeyRequest.objects.get(pk=request.pk).status == RequestStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        done = _action(admin_client, changelist, "approve_selected", [request.pk], apply="1", note="Welcome aboard.")
    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert request.decided_by == admin_user
    key.refresh_from_db()
    assert key.plan.slug == "pro"
    (mail,) = mailoutbox
    assert mail.to == [owner.email]
    assert "approved" in mail.subject
    assert "Welcome aboard." in mail.body
    user = Client()
    user.force_login(owner)
    assert "Your request for the Pro plan was approved" in user.get(reverse("apikeys:key_list")).content.decode()


def test_denying_a_request_emails_the_user_and_leaves_decided_ones_alone(
    admin_client, owner, outsider, mailoutbox, django_capture_on_commit_callbacks
):
    pro = Plan.objects.get(slug="pro")
    first = key_request_create(user=owner, plan=pro, reason="For a hobby project, please.")
    second = key_request_create(user=outsider, plan=pro, reason="For a school project, please.")
    changelist = "admin:apikeys_keyrequest_changelist"
    with django_capture_on_commit_callbacks(execute=True):
        _action(admin_client, changelist, "approve_selected", [second.pk], apply="1", note="")
        _action(admin_client, changelist, "deny_selected", [first.pk, second.pk], apply="1", note="Not now.")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == RequestStatus.DENIED
    assert second.status == RequestStatus.APPROVED
    assert sorted(m.to[0] for m in mailoutbox) == sorted([owner.email, outsider.email])
    denial = next(m for m in mailoutbox if m.to == [owner.email])
    assert "denied" in denial.subject
    user = Client()
    user.force_login(owner)
    assert "Your request for the Pro plan was denied" in user.get(reverse("apikeys:key_list")).content.decode()


def test_revoking_selected_keys_asks_for_a_reason_and_revokes_them_at_once(admin_client, admin_user, owner):
    key, raw = make_key(owner)
    changelist = "admin:apikeys_apikey_changelist"
    confirm = _action(admin_client, changelist, "revoke_selected", [key.pk])
    assert confirm.status_code == 200
    assert 'name="reason"' in confirm.content.decode()
    assert _action(admin_client, changelist, "revoke_selected", [key.pk], apply="1", reason="").status_code == 200
    assert KeyClient(Client(), raw).get("models").status_code == 200
    _action(admin_client, changelist, "revoke_selected", [key.pk], apply="1", reason="leaked in a gist")
    assert KeyClient(Client(), raw).get("models").json()["type"] == "api_key_revoked"
    event = KeyEvent.objects.get(key=key, action="revoked")
    assert event.actor == admin_user
    assert event.details["reason"] == "leaked in a gist"


def test_the_key_list_flags_idle_and_never_used_keys_and_searches_by_prefix_and_email(admin_client, owner, outsider):
    fresh, _ = make_key(owner)
    idle, _ = make_key(owner)
    used, _ = make_key(outsider)
    old = timezone.now() - timedelta(days=45)
    APIKey.objects.filter(pk=idle.pk).update(created_at=old, last_used_at=old)
    APIKey.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    url = reverse("admin:apikeys_apikey_changelist")
    html = admin_client.get(url).content.decode()
    assert "idle (unused 30+ days)" in html
    assert "never used" in html

    def shown(**params):
        page = admin_client.get(url, params).content.decode()
        return {k.prefix for k in (fresh, idle, used) if f"{k.prefix}…" in page}

    assert shown(use="idle") == {idle.prefix}
    assert shown(use="never") == {fresh.prefix}
    assert shown(q=f"{used.prefix}…") == {used.prefix}
    assert shown(q=used.key_id) == {used.prefix}
    assert shown(q=owner.email) == {fresh.prefix, idle.prefix}
    assert shown(status="active") == {fresh.prefix, idle.prefix, used.prefix}


def test_the_admin_never_shows_a_key_hash(admin_client, owner):
    key, _raw = make_key(owner)
    pages = [
        reverse("admin:apikeys_apikey_changelist"),
        reverse("admin:apikeys_apikey_change", args=[key.pk]),
        reverse("admin:apikeys_keyevent_changelist"),
    ]
    for url in pages:
        html = admin_client.get(url).content.decode()
        assert key.hashed_key not in html, url
        assert "hashed_key" not in html, url


def test_the_audit_log_is_read_only_in_the_admin(admin_client, owner):
    key, _raw = make_key(owner)
    event = KeyEvent.objects.get(key=key)
    listing = admin_client.get(reverse("admin:apikeys_keyevent_changelist"))
    assert listing.status_code == 200
    assert "delete_selected" not in listing.content.decode()
    change = reverse("admin:apikeys_keyevent_change", args=[event.pk])
    assert admin_client.get(change).status_code == 200  # viewable
    assert admin_client.post(change, {"action": "forged"}).status_code == 403
    assert admin_client.get(reverse("admin:apikeys_keyevent_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:apikeys_keyevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    )
    assert KeyEvent.objects.get(pk=event.pk).action == "created"
    filtered = admin_client.get(reverse("admin:apikeys_keyevent_changelist"), {"action": "created"})
    assert key.prefix in filtered.content.decode()


def test_usage_records_are_read_only_and_plans_are_editable(admin_client, owner):
    key, _raw = make_key(owner)
    record = UsageRecord.objects.create(key=key, endpoint="GET /models", status_code=200, latency_ms=3)
    assert admin_client.get(reverse("admin:apikeys_usagerecord_changelist")).status_code == 200
    change = reverse("admin:apikeys_usagerecord_change", args=[record.pk])
    assert admin_client.post(change, {"status_code": 500}).status_code == 403
    free = Plan.objects.get(slug="free")
    data = {"slug": "free", "name": "Free", "requests_per_minute": 30, "inputs_per_month": 5000,
            "max_concurrent_jobs": 2, "is_default": "on", "order": 0}  # fmt: skip
    response = admin_client.post(reverse("admin:apikeys_plan_change", args=[free.pk]), data)
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.requests_per_minute == 30


def test_plan_edits_in_the_list_and_the_form_are_logged_with_the_staff_member_and_the_values(admin_client, admin_user):
    from django.contrib.admin.models import LogEntry

    plans = list(Plan.objects.order_by("order", "slug"))
    data = {"form-TOTAL_FORMS": len(plans), "form-INITIAL_FORMS": len(plans), "form-MIN_NUM_FORMS": 0,
            "form-MAX_NUM_FORMS": 1000, "_save": "Save"}  # fmt: skip
    for i, plan in enumerate(plans):
        data |= {f"form-{i}-id": plan.pk, f"form-{i}-requests_per_minute": plan.requests_per_minute,
                 f"form-{i}-inputs_per_month": plan.inputs_per_month,
                 f"form-{i}-max_concurrent_jobs": plan.max_concurrent_jobs, f"form-{i}-order": plan.order}  # fmt: skip
    pro_index = next(i for i, plan in enumerate(plans) if plan.slug == "pro")
    pro = plans[pro_index]
    data[f"form-{pro_index}-inputs_per_month"] = 2_000_000
    response = admin_client.post(reverse("admin:apikeys_plan_changelist"), data)
    assert response.status_code == 302
    (entry,) = LogEntry.objects.filter(object_id=str(pro.pk))
    assert entry.user == admin_user
    assert entry.object_repr == str(pro)
    assert entry.get_change_message() == f"Changed inputs per month from {pro.inputs_per_month} to 2000000."


def test_the_plan_list_gives_its_number_boxes_room_for_a_million(admin_client):
    page = admin_client.get(reverse("admin:apikeys_plan_changelist")).content.decode()
    (box,) = re.findall(r'<input[^>]*name="form-\d+-inputs_per_month"[^>]*>', page)[:1]
    assert 'class="vBigIntegerField"' in box


def test_the_approval_page_names_the_user_the_plan_and_the_state(admin_client, owner):
    request = key_request_create(user=owner, plan=Plan.objects.get(slug="pro"), reason="A launch in May.")
    confirm = _action(admin_client, "admin:apikeys_keyrequest_changelist", "approve_selected", [request.pk])
    page = confirm.content.decode()
    assert f"<li>{owner.email} asks for the Pro plan (Pending)</li>" in page
    assert f"{owner.pk} -&gt;" not in page


def test_daily_usage_has_a_readable_name_in_the_admin(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Daily usage" in page
    assert "Usage dailys" not in page


ADMIN_PAGES = [
    ("admin:apikeys_apikey_changelist", False),
    ("admin:apikeys_apikey_issue", False),
    ("admin:apikeys_apikey_change", True),
    ("admin:apikeys_keyrequest_changelist", False),
    ("admin:apikeys_keyevent_changelist", False),
    ("admin:apikeys_usagerecord_changelist", False),
    ("admin:apikeys_plan_changelist", False),
]


@pytest.mark.parametrize("role", ["owner", "moderator"])
def test_developers_and_moderators_cannot_open_any_key_admin_page(client, request, role, owner):
    user = request.getfixturevalue(role)
    key, raw = make_key(owner)
    client.force_login(user)
    for name, needs_key in ADMIN_PAGES:
        url = reverse(name, args=[key.pk] if needs_key else [])
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    response = client.post(
        reverse("admin:apikeys_apikey_changelist"),
        {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [key.pk], "apply": "1", "reason": "x"},
    )
    assert response.status_code == 302
    response = client.post(reverse("admin:apikeys_apikey_issue"), {"email": user.email})
    assert response.status_code == 302
    assert KeyClient(Client(), raw).get("models").status_code == 200
    assert APIKey.objects.count() == 1

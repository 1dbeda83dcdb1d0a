"""What the audit log records about targets other than posts and threads, and that it
refuses what it could not identify."""

from __future__ import annotations

import json

import pytest

from apps.forum.models import AuditLogEntry, Category
from apps.forum.services.audit import audit_record, snapshot

from .factories import make_thread

pytestmark = pytest.mark.django_db

CATEGORY_FORM = {
    "slug": "sdk-help",
    "name": "SDK help",
    "description": "Questions about the Python SDK.",
    "color": "teal",
    "kind": "qa",
    "read_access": "everyone",
    "post_access": "everyone",
    "position": "3",
}


def test_an_admin_creating_changing_and_deleting_a_category_is_audited(client, admin_user):
    client.force_login(admin_user)
    assert client.post("/admin/forum/category/add/", CATEGORY_FORM).status_code == 302
    category = Category.objects.get(slug="sdk-help")
    created = AuditLogEntry.objects.get(action="category.create")
    assert (created.target_type, created.target_id, created.target_label) == ("category", str(category.pk), "SDK help")
    assert created.actor_label == "admin" and created.before == {}
    assert created.after["kind"] == "qa" and created.after["position"] == 3

    change = f"/admin/forum/category/{category.pk}/change/"
    assert client.post(change, {**CATEGORY_FORM, "name": "Python SDK"}).status_code == 302
    changed = AuditLogEntry.objects.get(action="category.change")
    assert changed.target_id == str(category.pk) and changed.target_label == "Python SDK"
    assert (changed.before["name"], changed.after["name"]) == ("SDK help", "Python SDK")

    assert client.post(f"/admin/forum/category/{category.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Category.objects.filter(pk=category.pk).exists()
    deleted = AuditLogEntry.objects.get(action="category.delete")
    assert deleted.target_id == str(category.pk) and deleted.before["slug"] == "sdk-help"

    page = client.get("/forum/audit/", {"target_type": "category"}).content.decode()
    assert page.count("category: Python SDK") == 2 and "category: SDK help" in page


def test_something_the_log_cannot_identify_is_refused_and_nothing_is_written(forum_moderator):
    with pytest.raises(TypeError, match="cannot audit a dict"):
        audit_record(actor=forum_moderator, action="thread.lock", target={"id": 1}, reason="x")
    assert not AuditLogEntry.objects.exists()


def test_a_snapshot_of_any_field_can_be_stored(developer, general):
    thread = make_thread(category=general, author=developer)
    state = snapshot(thread, ["id", "category", "created_at", "is_locked", "pin", "solution"])
    assert json.loads(json.dumps(state)) == state
    assert state == {
        "id": str(thread.pk),
        "category": str(general.pk),
        "created_at": thread.created_at.isoformat(),
        "is_locked": False,
        "pin": "",
        "solution": None,
    }
    entry = audit_record(actor=None, action="thread.lock", target=thread, after=state)
    entry.refresh_from_db()
    assert entry.after == state and entry.actor_label == "system" and entry.target_type == "thread"

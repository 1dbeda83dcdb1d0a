"""The permission matrix: every role against every action, through the pages and forms a
person would use, with the outcome checked in the database (not only the status code).

Roles: anonymous, a new member (first day), an established developer, the author of the
content acted on, a moderator and an admin. Outcomes: ``ok`` (done), ``denied`` (refused,
nothing changed), ``login`` (sent to log in), ``404`` (the page does not exist for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts import roles
from apps.forum.models import (
    AuditLogEntry,
    Flag,
    Like,
    PinScope,
    Post,
    Sanction,
    SanctionKind,
    Thread,
)

from ..factories import UserFactory
from .conftest import _established
from .factories import make_thread

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "new_user", "developer", "author", "moderator", "admin"]


@dataclass
class World:
    users: dict[str, Any]
    thread: Thread
    question: Thread
    closed: Thread
    staff_thread: Thread
    hidden: Post
    deleted: Post
    target: Any
    sanction: Sanction
    general: Any
    qa: Any
    announcements: Any
    staff_lounge: Any

    def first(self, thread: Thread) -> Post:
        return Post.objects.get(thread=thread, number=1)

    def reply(self, thread: Thread) -> Post:
        return Post.objects.get(thread=thread, number=2)


@pytest.fixture
def world(general: Any, qa: Any, announcements: Any, staff_lounge: Any) -> World:
    author = _established("author")
    other = _established("other")
    moderator = _established("mod", role=roles.MODERATOR)
    users = {
        "new_user": UserFactory(username="newbie"),
        "developer": _established("dev"),
        "author": author,
        "moderator": moderator,
        "admin": _established("boss", role=roles.ADMIN),
    }
    thread = make_thread(category=general, author=author, title="A thread by the author", replies=1, reply_author=other)
    question = make_thread(category=qa, author=author, title="A question by the author", replies=1, reply_author=other)
    closed = make_thread(category=general, author=other, title="A closed thread", is_closed=True)
    staff_thread = make_thread(category=staff_lounge, author=moderator, title="Staff notes for moderators")
    hidden = Post.objects.create(
        thread=thread, number=3, author=author, body="hidden text", html="<p>hidden text</p>", body_hash="h",
        hidden_at=timezone.now(), hidden_reason="moderator", hidden_note="off-topic",
    )  # fmt: skip
    deleted = Post.objects.create(
        thread=thread, number=4, author=author, body="deleted text", html="<p>deleted text</p>", body_hash="d",
        deleted_at=timezone.now(),
    )  # fmt: skip
    Thread.objects.filter(pk=thread.pk).update(post_number_seq=4)
    target = _established("target")
    sanction = Sanction.objects.create(
        user=target, kind=SanctionKind.SILENCE, reason="spam", ends_at=timezone.now() + timedelta(days=3)
    )
    return World(
        users=users, thread=thread, question=question, closed=closed, staff_thread=staff_thread, hidden=hidden,
        deleted=deleted, target=target, sanction=sanction, general=general, qa=qa, announcements=announcements,
        staff_lounge=staff_lounge,
    )  # fmt: skip


def _refresh(obj: Any) -> Any:
    obj.refresh_from_db()
    return obj


# Each action: how to perform it, and how to tell that it took effect.
def _get(url: str, marker: str) -> tuple[Any, Any]:
    return (lambda c, w: c.get(url(w) if callable(url) else url)), (
        lambda w, r: r.status_code == 200 and marker in r.content.decode()
    )


ACTIONS: dict[str, tuple[Any, Any]] = {
    "view thread": (
        lambda c, w: c.get(w.thread.get_absolute_url()),
        lambda w, r: r.status_code == 200 and "A thread by the author" in r.content.decode(),
    ),
    "view a hidden post": (
        lambda c, w: c.get(w.thread.get_absolute_url()),
        lambda w, r: "hidden text" in r.content.decode(),
    ),
    "view a deleted post": (
        lambda c, w: c.get(f"/forum/p/{w.deleted.pk}/"),
        lambda w, r: r.status_code == 302,
    ),
    "read the staff-only category": (
        lambda c, w: c.get("/forum/c/staff/"),
        lambda w, r: r.status_code == 200 and "Staff notes for moderators" in r.content.decode(),
    ),
    "start a thread": (
        lambda c, w: c.post(
            "/forum/new/", {"category": w.general.pk, "title": "A brand new thread", "body": "Hello there, forum!"}
        ),
        lambda w, r: Thread.objects.filter(title="A brand new thread").exists(),
    ),
    "start an announcement": (
        lambda c, w: c.post(
            "/forum/new/", {"category": w.announcements.pk, "title": "An announcement!", "body": "Big news today."}
        ),
        lambda w, r: Thread.objects.filter(title="An announcement!").exists(),
    ),
    "reply": (
        lambda c, w: c.post(f"/forum/t/{w.thread.pk}/reply/", {"body": "A fresh reply."}),
        lambda w, r: Post.objects.filter(thread=w.thread, body="A fresh reply.").exists(),
    ),
    "reply to a closed thread": (
        lambda c, w: c.post(f"/forum/t/{w.closed.pk}/reply/", {"body": "Late reply."}),
        lambda w, r: Post.objects.filter(thread=w.closed, body="Late reply.").exists(),
    ),
    "edit the author's post": (
        lambda c, w: c.post(
            f"/forum/p/{w.first(w.thread).pk}/edit/",
            {"title": "A thread by the author", "body": "Edited body.", "reason": "typo"},
        ),
        lambda w, r: w.first(w.thread).body == "Edited body.",
    ),
    "like the author's post": (
        lambda c, w: c.post(f"/forum/p/{w.first(w.thread).pk}/like/"),
        lambda w, r: Like.objects.filter(post=w.first(w.thread)).exists(),
    ),
    "flag the author's post": (
        lambda c, w: c.post(f"/forum/p/{w.first(w.thread).pk}/flag/", {"reason": "spam"}),
        lambda w, r: Flag.objects.filter(post=w.first(w.thread)).exists(),
    ),
    "mark the solution": (
        lambda c, w: c.post(f"/forum/t/{w.question.pk}/solution/", {"post": str(w.reply(w.question).pk)}),
        lambda w, r: _refresh(w.question).solution_id == w.reply(w.question).pk,
    ),
    "hide a post": (
        lambda c, w: c.post(f"/forum/p/{w.reply(w.thread).pk}/mod/hide/", {"reason": "spam"}),
        lambda w, r: w.reply(w.thread).hidden_at is not None,
    ),
    "unhide a post": (
        lambda c, w: c.post(f"/forum/p/{w.hidden.pk}/mod/unhide/", {"reason": "ok"}),
        lambda w, r: _refresh(w.hidden).hidden_at is None,
    ),
    "delete a post": (
        lambda c, w: c.post(f"/forum/p/{w.reply(w.thread).pk}/mod/delete/", {"reason": "spam"}),
        lambda w, r: w.reply(w.thread).deleted_at is not None,
    ),
    "restore a post": (
        lambda c, w: c.post(f"/forum/p/{w.deleted.pk}/mod/restore/", {"reason": "mistake"}),
        lambda w, r: _refresh(w.deleted).deleted_at is None,
    ),
    "lock a thread": (
        lambda c, w: c.post(f"/forum/t/{w.thread.pk}/mod/lock/", {"reason": "heated"}),
        lambda w, r: _refresh(w.thread).is_locked,
    ),
    "close a thread": (
        lambda c, w: c.post(f"/forum/t/{w.thread.pk}/mod/close/", {"reason": "answered"}),
        lambda w, r: _refresh(w.thread).is_closed,
    ),
    "reopen a thread": (
        lambda c, w: c.post(f"/forum/t/{w.closed.pk}/mod/reopen/", {"reason": ""}),
        lambda w, r: not _refresh(w.closed).is_closed,
    ),
    "pin a thread": (
        lambda c, w: c.post(f"/forum/t/{w.thread.pk}/mod/pin/", {"scope": "global", "reason": ""}),
        lambda w, r: _refresh(w.thread).pin == PinScope.GLOBAL,
    ),
    "move a thread": (
        lambda c, w: c.post(f"/forum/t/{w.thread.pk}/mod/move/", {"category": w.qa.pk, "reason": "a question"}),
        lambda w, r: _refresh(w.thread).category_id == w.qa.pk,
    ),
    "set slow mode": (
        lambda c, w: c.post(f"/forum/t/{w.thread.pk}/mod/slow_mode/", {"seconds": 300, "reason": ""}),
        lambda w, r: _refresh(w.thread).slow_mode_seconds == 300,
    ),
    "split replies": (
        lambda c, w: c.post(
            f"/forum/t/{w.thread.pk}/split/",
            {"posts": [str(w.reply(w.thread).pk)], "title": "The split thread", "reason": "tangent"},
        ),
        lambda w, r: Thread.objects.filter(title="The split thread").exists(),
    ),
    "open the review queue": (
        lambda c, w: c.get("/forum/review/"),
        lambda w, r: r.status_code == 200,
    ),
    "read the audit log": (
        lambda c, w: c.get("/forum/audit/"),
        lambda w, r: r.status_code == 200,
    ),
    "silence a member": (
        lambda c, w: c.post(
            f"/forum/u/{w.users['developer'].username}/sanction/",
            {"kind": "silence", "duration": "7", "reason": "rude"},
        ),
        lambda w, r: Sanction.objects.filter(user=w.users["developer"]).exists(),
    ),
    "suspend a member": (
        lambda c, w: c.post(
            f"/forum/u/{w.target.username}/sanction/", {"kind": "suspend", "duration": "", "reason": "spam"}
        ),
        lambda w, r: Sanction.objects.filter(user=w.target, kind=SanctionKind.SUSPEND).exists(),
    ),
    "lift a sanction": (
        lambda c, w: c.post(f"/forum/sanctions/{w.sanction.pk}/lift/", {"reason": "appeal accepted"}),
        lambda w, r: _refresh(w.sanction).lifted_at is not None,
    ),
    "manage API keys and plans (admin site)": (
        lambda c, w: c.get("/admin/"),
        lambda w, r: r.status_code == 200,
    ),
}

Y, D, L, N = "ok", "denied", "login", "404"  # Y: done; D: refused; L: sent to log in; N: not found
#                                  anonymous new_user developer author moderator admin
EXPECTED: dict[str, tuple[str, ...]] = {
    "view thread":                    (Y, Y, Y, Y, Y, Y),
    "view a hidden post":             (D, D, D, Y, Y, Y),
    "view a deleted post":            (N, N, N, N, Y, Y),
    "read the staff-only category":   (N, N, N, N, Y, Y),
    "start a thread":                 (L, Y, Y, Y, Y, Y),
    "start an announcement":          (L, D, D, D, Y, Y),
    "reply":                          (L, Y, Y, Y, Y, Y),
    "reply to a closed thread":       (L, D, D, D, Y, Y),
    "edit the author's post":         (L, D, D, Y, Y, Y),
    "like the author's post":         (L, Y, Y, D, Y, Y),
    "flag the author's post":         (L, Y, Y, D, Y, Y),
    "mark the solution":              (L, D, D, Y, Y, Y),
    "hide a post":                    (L, D, D, D, Y, Y),
    "unhide a post":                  (L, N, N, D, Y, Y),
    "delete a post":                  (L, D, D, D, Y, Y),
    "restore a post":                 (L, N, N, N, Y, Y),
    "lock a thread":                  (L, D, D, D, Y, Y),
    "close a thread":                 (L, D, D, D, Y, Y),
    "reopen a thread":                (L, D, D, D, Y, Y),
    "pin a thread":                   (L, D, D, D, Y, Y),
    "move a thread":                  (L, D, D, D, Y, Y),
    "set slow mode":                  (L, D, D, D, Y, Y),
    "split replies":                  (L, D, D, D, Y, Y),
    "open the review queue":          (N, N, N, N, Y, Y),
    "read the audit log":             (N, N, N, N, Y, Y),
    "silence a member":               (N, N, N, N, Y, Y),
    "suspend a member":               (N, N, N, N, Y, Y),
    "lift a sanction":                (N, N, N, N, D, Y),
    "manage API keys and plans (admin site)": (D, D, D, D, D, Y),
}  # fmt: skip


def _outcome(response: Any, took_effect: bool) -> str:
    if took_effect:
        return Y
    if response.status_code == 404:
        return N
    if response.status_code == 302 and "/accounts/login/" in response["Location"]:
        return L
    assert response.status_code in (200, 302, 400, 403), response.status_code
    return D


CASES = [(action, role, EXPECTED[action][i]) for action in ACTIONS for i, role in enumerate(ROLES)]


def test_the_matrix_covers_every_action_and_role():
    assert set(EXPECTED) == set(ACTIONS)
    assert all(len(row) == len(ROLES) for row in EXPECTED.values())


@pytest.mark.parametrize(("action", "role", "expected"), CASES, ids=[f"{a}-{r}" for a, r, _ in CASES])
def test_permission_matrix(client, world, action, role, expected):
    if role != "anonymous":
        client.force_login(world.users[role])
    perform, took_effect = ACTIONS[action]
    audit_before = AuditLogEntry.objects.count()
    response = perform(client, world)
    outcome = _outcome(response, took_effect(world, response))
    assert outcome == expected, f"{role} / {action}: {outcome} (status {response.status_code})"
    if expected != Y and action not in ("view a hidden post",):
        assert AuditLogEntry.objects.count() == audit_before, "a refused action left an audit entry"


@pytest.mark.embedded
def test_a_developer_cannot_moderate_and_a_moderator_can(client, world):
    """The two rows that matter most, also on the embedded default (SQLite)."""
    client.force_login(world.users["developer"])
    client.post(f"/forum/p/{world.reply(world.thread).pk}/mod/hide/", {"reason": "spam"})
    assert world.reply(world.thread).hidden_at is None
    client.force_login(world.users["moderator"])
    client.post(f"/forum/p/{world.reply(world.thread).pk}/mod/hide/", {"reason": "spam"})
    assert world.reply(world.thread).hidden_at is not None

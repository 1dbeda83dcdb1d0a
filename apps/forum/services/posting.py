"""Members' writes: threads, replies, edits, likes and solutions.

Every write checks ``permissions`` through the author's ``ForumViewer``, runs the posting
limits inside one transaction with the member's row locked, renders the Markdown with the
portal's sanitiser, and holds any post that contains an API key (``keyleak``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.accounts.models import User

from ..conf import forum_setting
from ..errors import ForumError, InvalidInput
from ..models import Category, HeldReason, Like, NotificationKind, Post, PostRevision, Tag, Thread
from ..permissions import (
    ForumViewer,
    can_edit_post,
    can_like,
    can_mark_solution,
    can_reply,
    can_start_thread,
    can_view_post,
)
from ..rendering import (
    RenderedPost,
    body_fingerprint,
    detect_language,
    mentioned_usernames,
    redact_api_keys,
    render_post,
    thread_slug,
)
from .audit import audit_record
from .common import member_lock, require_can_write, thread_refresh_stats, thread_sync_with_first_post
from .keyleak import key_leak_handle
from .limits import content_limits_check, posting_limits_check
from .notifications import notifications_create, notifications_for_published_post, subscription_watch_default

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class PreparedBody:
    body: str
    rendered: RenderedPost
    fingerprint: str
    leaked_key_ids: list[str]


def _existing_usernames(names: Iterable[str]) -> set[str]:
    names = list(names)[:50]
    if not names:
        return set()
    query = Q()
    for name in names:
        query |= Q(username__iexact=name)
    return set(User.objects.filter(query, is_active=True).values_list("username", flat=True))


def post_body_prepare(*, body: str) -> PreparedBody:
    """Validate, redact API keys from and render a post's Markdown."""
    body = (body or "").replace("\r\n", "\n").strip()
    least, most = forum_setting("MIN_BODY_CHARS"), forum_setting("MAX_BODY_CHARS")
    if len(body) < least:
        raise InvalidInput(_("Write a little more: a post needs at least %(count)d characters.") % {"count": least})
    if len(body) > most:
        raise InvalidInput(
            _("This post has %(found)d characters; the limit is %(count)d.") % {"found": len(body), "count": most}
        )
    if "\x00" in body:
        raise InvalidInput(_("The text contains a NUL character."))
    body, leaked = redact_api_keys(body)
    names = _existing_usernames(mentioned_usernames(body))
    rendered = render_post(body, existing_usernames=names)
    return PreparedBody(body=body, rendered=rendered, fingerprint=body_fingerprint(body), leaked_key_ids=leaked)


def _clean_title(title: str) -> str:
    title = _WS.sub(" ", title or "").strip()
    least = forum_setting("MIN_TITLE_CHARS")
    if len(title) < least:
        raise InvalidInput(_("Write a title of at least %(count)d characters.") % {"count": least})
    if len(title) > 150:
        raise InvalidInput(_("Keep the title under 150 characters."))
    return title


def _tags(raw: Iterable[str] | str, *, viewer: ForumViewer) -> list[Tag]:
    if isinstance(raw, str):
        raw = re.split(r"[,\s]+", raw)
    slugs: list[str] = []
    for name in raw:
        slug = slugify(name.strip(), allow_unicode=True)[:30].strip("-")
        if slug and slug not in slugs:
            slugs.append(slug)
    most = forum_setting("MAX_TAGS")
    if len(slugs) > most:
        raise InvalidInput(
            ngettext("Use at most %(count)d tag.", "Use at most %(count)d tags.", most) % {"count": most}
        )
    existing = {tag.slug: tag for tag in Tag.objects.filter(slug__in=slugs)}
    missing = [s for s in slugs if s not in existing]
    if missing and viewer.is_new:
        raise InvalidInput(
            _("New members can only use existing tags; these do not exist yet: %(tags)s") % {"tags": ", ".join(missing)}
        )
    for slug in missing:
        existing[slug], _created = Tag.objects.get_or_create(slug=slug)
    return [existing[s] for s in slugs]


def _viewer(user: User) -> ForumViewer:
    from ..selectors.viewer import forum_viewer

    return forum_viewer(user)


def _publish_or_hold(*, post: Post, prepared: PreparedBody, author: User) -> None:
    if prepared.leaked_key_ids:
        key_leak_handle(post=post, key_ids=prepared.leaked_key_ids, author=author)
    else:
        notifications_for_published_post(post=post)


@transaction.atomic
def thread_create(*, author: User, category: Category, title: str, body: str, tags: Iterable[str] | str = ()) -> Thread:
    """Start a thread with its first post. Raises ``PermissionDenied``, ``InvalidInput``
    or ``PostingLimited``. A post with an API key is created held (see ``keyleak``)."""
    viewer = _viewer(author)
    require_can_write(viewer)
    if not can_start_thread(viewer, category):
        raise PermissionDenied(_("Only moderators and admins can start threads in this category."))
    title = _clean_title(title)
    prepared = post_body_prepare(body=body)
    member_lock(user=author)
    posting_limits_check(viewer=viewer, fingerprint=prepared.fingerprint, rendered=prepared.rendered)
    tag_objects = _tags(tags, viewer=viewer)
    now = timezone.now()
    held_at = now if prepared.leaked_key_ids else None
    thread = Thread.objects.create(
        category=category,
        title=title,
        slug=thread_slug(title),
        author=author,
        language=detect_language(f"{title} {prepared.body}"),
        bumped_at=now,
        post_number_seq=1,
        held_at=held_at,
        last_poster=author,
    )
    post = Post.objects.create(
        thread=thread,
        number=1,
        author=author,
        body=prepared.body,
        html=prepared.rendered.html,
        body_hash=prepared.fingerprint,
        held_at=held_at,
        held_reason=HeldReason.API_KEY if held_at else "",
    )
    thread.tags.set(tag_objects)
    thread_refresh_stats(thread=thread)
    subscription_watch_default(user=author, thread=thread)
    _publish_or_hold(post=post, prepared=prepared, author=author)
    return thread


@transaction.atomic
def post_create(*, author: User, thread: Thread, body: str, reply_to: Post | None = None) -> Post:
    """Reply to ``thread`` (optionally to one of its posts). Raises ``PermissionDenied``
    (closed, locked, sanctioned), ``InvalidInput`` or ``PostingLimited``."""
    viewer = _viewer(author)
    require_can_write(viewer)
    thread = Thread.objects.select_for_update(of=("self",)).select_related("category").get(pk=thread.pk)
    if not can_reply(viewer, thread):
        if thread.is_locked:
            raise PermissionDenied(_("This thread is locked: nobody can reply."))
        if thread.is_closed:
            raise PermissionDenied(_("This thread is closed to new replies."))
        raise PermissionDenied(_("You cannot reply to this thread."))
    if reply_to is not None:
        if reply_to.thread_id != thread.pk:
            raise InvalidInput(_("You can only reply to a post of this thread."))
        reply_to.thread = thread
        if not can_view_post(viewer, reply_to):
            raise InvalidInput(_("You can only reply to a post of this thread."))
    prepared = post_body_prepare(body=body)
    member_lock(user=author)
    posting_limits_check(viewer=viewer, fingerprint=prepared.fingerprint, rendered=prepared.rendered, thread=thread)
    number = thread.post_number_seq + 1
    Thread.objects.filter(pk=thread.pk).update(post_number_seq=number)
    thread.post_number_seq = number
    held_at = timezone.now() if prepared.leaked_key_ids else None
    post = Post.objects.create(
        thread=thread,
        number=number,
        author=author,
        reply_to=reply_to,
        body=prepared.body,
        html=prepared.rendered.html,
        body_hash=prepared.fingerprint,
        held_at=held_at,
        held_reason=HeldReason.API_KEY if held_at else "",
    )
    thread_refresh_stats(thread=thread)
    subscription_watch_default(user=author, thread=thread)
    _publish_or_hold(post=post, prepared=prepared, author=author)
    return post


@transaction.atomic
def post_edit(
    *,
    post: Post,
    editor: User,
    body: str,
    title: str | None = None,
    tags: Iterable[str] | str | None = None,
    reason: str = "",
) -> Post:
    """Change a post (and, for a first post, the thread's title and tags), keeping the
    previous text as a revision. Authors edit within the edit window; staff edit any post
    but must give a reason when it is not theirs (audited, and the author is told)."""
    viewer = _viewer(editor)
    post = Post.objects.select_for_update(of=("self",)).select_related("thread__category").get(pk=post.pk)
    _require_can_edit(viewer, post)
    staff_edit = viewer.is_staff and not viewer.owns(post)
    reason = (reason or "").strip()
    if staff_edit and not reason:
        raise InvalidInput(_("Give a reason when you edit someone else's post."))
    prepared = post_body_prepare(body=body)
    content_limits_check(viewer=viewer, rendered=prepared.rendered)
    thread = post.thread
    new_title = _clean_title(title) if (title is not None and post.number == 1) else thread.title
    new_tags = _tags(tags, viewer=viewer) if (tags is not None and post.number == 1) else None
    old_tags = sorted(thread.tags.values_list("slug", flat=True)) if new_tags is not None else None
    tags_changed = new_tags is not None and sorted(t.slug for t in new_tags) != old_tags
    if prepared.body == post.body and new_title == thread.title and not tags_changed:
        return post

    old_body = post.body
    old_title = thread.title
    old_names = mentioned_usernames(old_body)
    PostRevision.objects.create(
        post=post,
        number=post.edit_count + 1,
        title=thread.title if post.number == 1 else "",
        body=old_body,
        editor=editor,
        reason=reason,
    )
    post.body = prepared.body
    post.html = prepared.rendered.html
    post.body_hash = prepared.fingerprint
    post.edit_count += 1
    post.edited_at = timezone.now()
    newly_held = bool(prepared.leaked_key_ids) and post.held_at is None
    if newly_held:
        post.held_at = timezone.now()
        post.held_reason = HeldReason.API_KEY
    post.save(
        update_fields=["body", "html", "body_hash", "edit_count", "edited_at", "held_at", "held_reason", "updated_at"]
    )
    if post.number == 1:
        if new_title != thread.title:
            thread.title = new_title
            thread.slug = thread_slug(new_title)
            thread.save(update_fields=["title", "slug", "updated_at"])
        if new_tags is not None and tags_changed:
            thread.tags.set(new_tags)
    if newly_held:
        thread_sync_with_first_post(post=post)
        thread_refresh_stats(thread=thread)
        key_leak_handle(post=post, key_ids=prepared.leaked_key_ids, author=post.author)
    elif prepared.leaked_key_ids:
        key_leak_handle(post=post, key_ids=prepared.leaked_key_ids, author=post.author, already_held=True)
    if staff_edit:
        _staff_edit_record(post=post, editor=editor, reason=reason, old_body=old_body, old_title=old_title)
    added = mentioned_usernames(post.body) - old_names
    if added and post.is_visible and thread.is_visible:
        ids = User.objects.filter(username__in=added, is_active=True).values_list("pk", flat=True)
        notifications_create(
            recipients={user_id: NotificationKind.MENTION for user_id in ids},
            actor=post.author,
            thread=thread,
            post=post,
        )
    return post


def _require_can_edit(viewer: ForumViewer, post: Post) -> None:
    if not can_edit_post(viewer, post):
        if viewer.user is not None and viewer.owns(post) and viewer.can_write:
            raise PermissionDenied(_("The time for editing this post has passed, or the thread is locked."))
        require_can_write(viewer)
        raise PermissionDenied(_("You cannot edit this post."))


def _staff_edit_record(*, post: Post, editor: User, reason: str, old_body: str, old_title: str) -> None:
    """Audit a staff member's edit of someone else's post and tell the author why."""
    from .notifications import notify_moderation

    thread = post.thread
    audit_record(
        actor=editor,
        action="post.edit",
        target=post,
        reason=reason,
        before={"body": old_body, "title": old_title},
        after={"body": post.body, "title": thread.title},
    )
    notify_moderation(
        user=post.author,
        actor=editor,
        thread=thread,
        post=post,
        message=_("A moderator edited your post in “%(title)s”. Reason: %(reason)s")
        % {"title": thread.title, "reason": reason},
    )


@transaction.atomic
def post_like(*, post: Post, user: User) -> bool:
    """Like ``post`` once. Returns True if this call added the like."""
    viewer = _viewer(user)
    require_can_write(viewer)
    if not can_like(viewer, post):
        raise PermissionDenied(_("You cannot like this post."))
    try:
        with transaction.atomic():
            Like.objects.create(user=user, post=post)
    except IntegrityError:
        return False
    Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)
    Thread.objects.filter(pk=post.thread_id).update(like_count=F("like_count") + 1)
    post.like_count += 1
    notifications_create(recipients={post.author_id: NotificationKind.LIKE}, actor=user, thread=post.thread, post=post)
    return True


@transaction.atomic
def post_unlike(*, post: Post, user: User) -> bool:
    """Take a like back. Returns True if there was one."""
    viewer = _viewer(user)
    require_can_write(viewer)
    deleted, _details = Like.objects.filter(user=user, post=post).delete()
    if not deleted:
        return False
    Post.objects.filter(pk=post.pk, like_count__gt=0).update(like_count=F("like_count") - 1)
    Thread.objects.filter(pk=post.thread_id, like_count__gt=0).update(like_count=F("like_count") - 1)
    post.like_count = max(post.like_count - 1, 0)
    return True


@transaction.atomic
def thread_solution_mark(*, thread: Thread, post: Post, actor: User) -> Thread:
    """Mark ``post`` as the answer of a Q&A thread (its author or staff)."""
    viewer = _viewer(actor)
    if not can_mark_solution(viewer, thread, post):
        if not thread.category.is_qa:
            raise ForumError(_("Only threads in a Q&A category have solutions."))
        raise PermissionDenied(_("Only the thread's author or a moderator can choose the solution."))
    before = {"solution": str(thread.solution_id) if thread.solution_id else None}
    thread.solution = post
    thread.solved_at = timezone.now()
    thread.save(update_fields=["solution", "solved_at", "updated_at"])
    notifications_create(recipients={post.author_id: NotificationKind.SOLUTION}, actor=actor, thread=thread, post=post)
    if viewer.is_staff and not viewer.owns(thread):
        audit_record(actor=actor, action="thread.solve", target=thread, before=before, after={"solution": str(post.pk)})
    return thread


@transaction.atomic
def thread_solution_clear(*, thread: Thread, actor: User) -> Thread:
    viewer = _viewer(actor)
    if not can_mark_solution(viewer, thread):
        raise PermissionDenied(_("Only the thread's author or a moderator can choose the solution."))
    if thread.solution_id is None:
        return thread
    before = {"solution": str(thread.solution_id)}
    thread.solution = None
    thread.solved_at = None
    thread.save(update_fields=["solution", "solved_at", "updated_at"])
    if viewer.is_staff and not viewer.owns(thread):
        audit_record(actor=actor, action="thread.unsolve", target=thread, before=before, after={"solution": None})
    return thread

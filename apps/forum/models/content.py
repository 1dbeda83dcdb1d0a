"""Categories, tags, threads, posts, their revisions and likes."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.core.models import BaseModel


class CategoryColor(models.TextChoices):
    """A fixed palette: the Content-Security-Policy forbids inline styles, so each colour
    is a CSS class (``forum-color-<value>`` in static/css/forum.css)."""

    INDIGO = "indigo", _("Indigo")
    BLUE = "blue", _("Blue")
    TEAL = "teal", _("Teal")
    GREEN = "green", _("Green")
    AMBER = "amber", _("Amber")
    ORANGE = "orange", _("Orange")
    RED = "red", _("Red")
    PINK = "pink", _("Pink")
    PURPLE = "purple", _("Purple")
    GRAY = "gray", _("Gray")


class CategoryKind(models.TextChoices):
    DISCUSSION = "discussion", _("Discussion")
    QA = "qa", _("Questions and answers")


class Access(models.TextChoices):
    EVERYONE = "everyone", _("Everyone")
    STAFF = "staff", _("Moderators and admins")


class PinScope(models.TextChoices):
    NONE = "", _("Not pinned")
    CATEGORY = "category", _("Pinned in its category")
    GLOBAL = "global", _("Pinned everywhere")


def pin_rank(*, in_category: bool) -> models.Case:
    """0 for a thread pinned on the list (pinned everywhere, or on its category's list when
    ``in_category``), else 1: the first sort key of the "latest" lists."""
    pinned = Q(pin=PinScope.GLOBAL) | Q(pin=PinScope.CATEGORY) if in_category else Q(pin=PinScope.GLOBAL)
    return models.Case(
        models.When(pinned, then=models.Value(0)), default=models.Value(1), output_field=models.IntegerField()
    )


class HiddenReason(models.TextChoices):
    FLAGGED = "flagged", _("Hidden after flags, awaiting review")
    MODERATOR = "moderator", _("Hidden by a moderator")


class HeldReason(models.TextChoices):
    API_KEY = "api_key", _("Contains an API key")


class Category(BaseModel):
    """A place for threads. ``read_access=staff`` hides the category and everything in it
    from non-staff; ``post_access=staff`` lets only staff start threads (announcements)."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True, allow_unicode=True)
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=300, blank=True)
    color = models.CharField(_("colour"), max_length=12, choices=CategoryColor.choices, default=CategoryColor.INDIGO)
    kind = models.CharField(_("kind"), max_length=12, choices=CategoryKind.choices, default=CategoryKind.DISCUSSION)
    read_access = models.CharField(_("who can read"), max_length=10, choices=Access.choices, default=Access.EVERYONE)
    post_access = models.CharField(
        _("who can start threads"), max_length=10, choices=Access.choices, default=Access.EVERYONE
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.CheckConstraint(condition=Q(color__in=CategoryColor.values), name="forum_category_color_valid"),
            models.CheckConstraint(condition=Q(kind__in=CategoryKind.values), name="forum_category_kind_valid"),
            models.CheckConstraint(condition=Q(read_access__in=Access.values), name="forum_category_read_valid"),
            models.CheckConstraint(condition=Q(post_access__in=Access.values), name="forum_category_post_valid"),
            models.CheckConstraint(condition=~Q(slug=""), name="forum_category_slug_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_qa(self) -> bool:
        return self.kind == CategoryKind.QA

    @property
    def is_staff_only(self) -> bool:
        return self.read_access == Access.STAFF

    @property
    def is_announcements(self) -> bool:
        return self.post_access == Access.STAFF and self.read_access == Access.EVERYONE

    def get_absolute_url(self) -> str:
        return reverse("forum:category", kwargs={"slug": self.slug})


class Tag(models.Model):
    slug = models.SlugField(_("tag"), max_length=30, unique=True, allow_unicode=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.CheckConstraint(condition=~Q(slug=""), name="forum_tag_slug_not_empty")]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("forum:tag", kwargs={"slug": self.slug})


class Thread(BaseModel):
    """A title and its posts. The thread's visibility mirrors its first post's (held,
    hidden, deleted); the counters count posts that everyone may see, and are kept by
    ``services.thread_refresh_stats``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="threads")
    title = models.CharField(_("title"), max_length=150)
    slug = models.SlugField(max_length=160, allow_unicode=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="forum_threads"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="threads")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en")

    pin = models.CharField(max_length=10, choices=PinScope.choices, default=PinScope.NONE, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True)
    is_locked = models.BooleanField(_("locked"), default=False)
    is_closed = models.BooleanField(_("closed"), default=False)
    slow_mode_seconds = models.PositiveIntegerField(_("slow mode (seconds between posts)"), default=0)

    held_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    solution = models.ForeignKey("Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    solved_at = models.DateTimeField(null=True, blank=True)

    # Post numbers are allocated from this counter under a row lock; never reused.
    post_number_seq = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0)
    like_count = models.PositiveIntegerField(default=0)
    last_post_number = models.PositiveIntegerField(default=0)
    bumped_at = models.DateTimeField(db_index=True)
    last_poster = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Not columns: set on listed threads by ``selectors.threads_mark_unread`` and the feed.
    is_new: bool
    unread_count: int
    first_post: Post | None

    class Meta:
        ordering = ["-bumped_at"]
        verbose_name = _("thread")
        verbose_name_plural = _("threads")
        indexes = [
            models.Index(fields=["category", "-bumped_at"], name="forum_thread_cat_bumped"),
            # A category's first page walks this and stops after one page, instead of
            # sorting every thread in the category.
            models.Index(
                models.F("category"),
                pin_rank(in_category=True),
                models.F("bumped_at").desc(),
                name="forum_thread_cat_pin_bumped",
            ),
            models.Index(fields=["pin", "-bumped_at"], name="forum_thread_pin_bumped"),
            models.Index(fields=["author", "-created_at"], name="forum_thread_author_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(pin__in=PinScope.values), name="forum_thread_pin_valid"),
            models.CheckConstraint(
                condition=(Q(pin="") & Q(pinned_at__isnull=True)) | (~Q(pin="") & Q(pinned_at__isnull=False)),
                name="forum_thread_pinned_at_matches_pin",
            ),
            models.CheckConstraint(condition=Q(slow_mode_seconds__lte=86400), name="forum_thread_slow_mode_max_day"),
            models.CheckConstraint(
                condition=Q(solution__isnull=True) | Q(solved_at__isnull=False), name="forum_thread_solved_at_set"
            ),
            models.CheckConstraint(condition=~Q(title=""), name="forum_thread_title_not_empty"),
            models.CheckConstraint(
                condition=Q(last_post_number__lte=models.F("post_number_seq")), name="forum_thread_last_number_seq"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("forum:thread", kwargs={"pk": self.pk, "slug": self.slug or "-"})

    @property
    def is_solved(self) -> bool:
        return self.solution_id is not None

    @property
    def is_pinned(self) -> bool:
        return bool(self.pin)

    @property
    def is_visible(self) -> bool:
        return self.held_at is None and self.hidden_at is None and self.deleted_at is None


class Post(BaseModel):
    """One message in a thread. ``body`` is the Markdown source, ``html`` its sanitised
    rendering (made on write by ``apps.core.markdown.render_markdown``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="forum_posts"
    )
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("message"))
    html = models.TextField(editable=False)
    body_hash = models.CharField(max_length=64, db_index=True, editable=False)
    like_count = models.PositiveIntegerField(default=0)
    edit_count = models.PositiveIntegerField(default=0)
    edited_at = models.DateTimeField(null=True, blank=True)

    held_at = models.DateTimeField(null=True, blank=True)
    held_reason = models.CharField(max_length=20, choices=HeldReason.choices, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=20, choices=HiddenReason.choices, blank=True)
    hidden_note = models.CharField(max_length=500, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Not columns: annotated on a thread page's posts by ``selectors.post_page``.
    author_username: str | None
    author_display_name: str | None
    reply_to_thread_id: Any
    reply_to_number: int | None
    reply_to_username: str | None
    page_total: int

    class Meta:
        ordering = ["thread", "number"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        indexes = [models.Index(fields=["author", "-created_at"], name="forum_post_author_created")]
        constraints = [
            models.UniqueConstraint(fields=["thread", "number"], name="forum_post_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="forum_post_number_positive"),
            models.CheckConstraint(
                condition=(Q(held_at__isnull=True) & Q(held_reason=""))
                | (Q(held_at__isnull=False) & ~Q(held_reason="")),
                name="forum_post_held_reason_matches",
            ),
            models.CheckConstraint(
                condition=(Q(hidden_at__isnull=True) & Q(hidden_reason=""))
                | (Q(hidden_at__isnull=False) & ~Q(hidden_reason="")),
                name="forum_post_hidden_reason_matches",
            ),
            models.CheckConstraint(condition=~Q(body=""), name="forum_post_body_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.thread_id} #{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("forum:post", kwargs={"pk": self.pk})

    @property
    def is_first(self) -> bool:
        return self.number == 1

    @property
    def is_visible(self) -> bool:
        return self.held_at is None and self.hidden_at is None and self.deleted_at is None

    @property
    def anchor(self) -> str:
        return f"post-{self.number}"


class PostRevision(models.Model):
    """The body (and title, for a first post) as it was before an edit: the edit history."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=150, blank=True)
    body = models.TextField()
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post", "number"]
        constraints = [models.UniqueConstraint(fields=["post", "number"], name="forum_revision_number_unique")]

    def __str__(self) -> str:
        return f"{self.post_id} r{self.number}"


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_likes")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="forum_like_once")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.post_id}"

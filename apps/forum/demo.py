# ruff: noqa: RUF001  (full-width punctuation is correct in the Chinese demo text)
"""A lively demo forum: categories (a staff-only announcements category with a pinned
welcome post, Q&A, Show and tell, Models & API, 中文讨论, a staff-only moderators' room),
threads in English and Chinese, a solved question, replies, likes, tags and a few
notifications for the demo developer.

``python manage.py demo_setup`` calls ``load`` after creating the demo users (admin,
moderator, developer @example.com). Idempotent: a thread that exists (same category and
title) is left alone. Rows are written directly, with past timestamps, so that loading
sends no email and hits no posting limit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import profile_update, role_grant

from .models import (
    Access,
    Category,
    CategoryKind,
    Like,
    Notification,
    NotificationKind,
    PinScope,
    Post,
    Subscription,
    SubscriptionLevel,
    Tag,
    Thread,
)
from .rendering import body_fingerprint, detect_language, render_post, thread_slug
from .services.common import thread_refresh_stats

CATEGORIES = [
    # slug, name, description, colour, kind, read, post
    ("announcements", "Announcements", "News from the team: releases, changes and maintenance.", "red",
     CategoryKind.DISCUSSION, Access.EVERYONE, Access.STAFF),
    ("qa", "Q&A", "Ask a question; mark the answer that solved it.", "green",
     CategoryKind.QA, Access.EVERYONE, Access.EVERYONE),
    ("show-and-tell", "Show and tell", "What you built with the models: demos, bots, write-ups.", "purple",
     CategoryKind.DISCUSSION, Access.EVERYONE, Access.EVERYONE),
    ("models-api", "Models & API", "The models, their accuracy, the REST API and feature requests.", "blue",
     CategoryKind.QA, Access.EVERYONE, Access.EVERYONE),
    ("zh", "中文讨论", "用中文提问和交流：接口、模型、教程。", "teal",
     CategoryKind.QA, Access.EVERYONE, Access.EVERYONE),
    ("moderators", "Moderators", "Staff only: moderation notes and decisions.", "gray",
     CategoryKind.DISCUSSION, Access.STAFF, Access.STAFF),
]  # fmt: skip

COMMUNITY = [
    # email, handle, display name
    ("lin@example.com", "linxiao", "林晓"),
    ("sam@example.com", "samr", "Sam Rivera"),
    ("priya@example.com", "priya", "Priya Nair"),
    ("kenji@example.com", "kenji", "Kenji Watanabe"),
]

# Each thread: category, author, title, tags, days ago, first post, replies
# [(author, body, likers)], the index (1-based reply) of the solution, pin.
THREADS: list[dict[str, Any]] = [
    {
        "category": "announcements",
        "author": "admin",
        "days": 20,
        "pin": PinScope.GLOBAL,
        "title": "Welcome to the developer forum",
        "tags": ["welcome"],
        "body": (
            "Welcome! This is the place to ask questions about the **text-classification API**, share what "
            "you build and tell us what to improve.\n\n"
            "- Ask in **Q&A** and mark the answer that solved it.\n"
            "- Never paste an API key: posts that contain one are held and the key is revoked.\n"
            "- Be kind. Flag anything that breaks the rules; moderators review every flag.\n\n"
            "欢迎使用中文在 **中文讨论** 分类提问。"
        ),
        "replies": [("samr", "Thanks for opening this! Looking forward to it.", ["priya"])],
        "likes": ["samr", "priya", "linxiao", "developer"],
    },
    {
        "category": "announcements",
        "author": "admin",
        "days": 6,
        "title": "sentiment-demo is published: try it in the playground",
        "tags": ["release", "sentiment"],
        "body": (
            "The `sentiment-demo` model is published. It labels text as `positive` or `negative`, "
            'in English and Chinese.\n\n```bash\ncurl -X POST "$PORTAL_URL/api/v1/classify" \\\n'
            '  -H "Authorization: Bearer $PORTAL_API_KEY" \\\n'
            '  -d \'{"model": "sentiment-demo", "inputs": ["I love this"]}\'\n```'
        ),
        "replies": [("kenji", "中文的效果也不错！", [])],
        "likes": ["kenji", "developer"],
    },
    {
        "category": "qa",
        "author": "developer",
        "days": 5,
        "title": "Why does /api/v1/classify return 202 instead of 200?",
        "tags": ["api", "python"],
        "body": (
            "Most of my requests come back with `202` and a job URL instead of results:\n\n"
            '```python\nresponse = requests.post(URL, json={"model": "sentiment-demo", "inputs": texts})\n'
            "print(response.status_code)  # 202\n```\n\nWhat am I doing wrong?"
        ),
        "replies": [
            (
                "samr",
                "Nothing wrong: the API waits up to `wait` seconds (default 10) for the job. If the queue is "
                "busy you get `202` and can poll the job:\n\n"
                '```python\njob = requests.get(response.json()["url"]).json()\n'
                '```\n\nOr send `"wait": 30` to wait longer.',
                ["developer", "priya", "moderator"],
            ),
            ("developer", "That was it, thanks @samr! Polling the job URL works.", ["samr"]),
            ("moderator", "Good answer. The [API docs](/docs/) describe `wait` in the classify section.", []),
        ],
        "solution": 1,
    },
    {
        "category": "qa",
        "author": "priya",
        "days": 3,
        "title": "What does the RateLimit-Reset header mean?",
        "tags": ["api", "rate-limits"],
        "body": "Every response has `RateLimit-Reset: 42`. Is that a timestamp or seconds?",
        "replies": [("moderator", "Seconds until your window resets. A `429` also carries `Retry-After`.", ["priya"])],
    },
    {
        "category": "qa",
        "author": "kenji",
        "days": 1,
        "title": "How many inputs can I send in one request?",
        "tags": ["api"],
        "body": "I have 500 sentences to classify. Can I send them in one call, or do I need to split them?",
        "replies": [],
    },
    {
        "category": "show-and-tell",
        "author": "linxiao",
        "days": 9,
        "title": "A Slack bot that flags angry support tickets",
        "tags": ["slack", "sentiment"],
        "body": (
            "I connected our support inbox to `sentiment-demo`: tickets scored very negative get a 🔥 in "
            "Slack so the on-call person sees them first. About 40 lines of Python; happy to share."
        ),
        "replies": [
            ("priya", "This is great. How do you handle the rate limit when the inbox is busy?", ["linxiao"]),
            ("linxiao", "@priya I batch up to 32 tickets per request and back off on `429`.", ["priya", "samr"]),
        ],
        "likes": ["samr", "priya", "developer", "kenji"],
    },
    {
        "category": "models-api",
        "author": "samr",
        "days": 4,
        "title": "Feature request: more than 32 inputs per request",
        "tags": ["api", "feature-request"],
        "body": "32 inputs per call is a bit low for nightly jobs. Could the limit be 100 on paid plans?",
        "replies": [
            ("admin", "Thanks! We keep 32 so a single request stays fast; we are looking at a batch API.", ["samr"]),
        ],
    },
    {
        "category": "zh",
        "author": "linxiao",
        "days": 7,
        "title": "如何在 Python 中调用分类接口？",
        "tags": ["python", "中文"],
        "body": "我想在 Python 里调用分类接口，需要安装什么库吗？有没有完整的例子？",
        "replies": [
            (
                "kenji",
                "不需要专门的库，用 `requests` 就可以：\n\n```python\nimport requests\n\nr = requests.post(\n"
                '    "https://portal.example.com/api/v1/classify",\n'
                '    headers={"Authorization": "Bearer <你的密钥>"},\n'
                '    json={"model": "sentiment-demo", "inputs": ["这个接口很好用"]},\n)\nprint(r.json())\n```',
                ["linxiao", "developer"],
            ),
            ("linxiao", "成功了，谢谢！", ["kenji"]),
        ],
        "solution": 1,
    },
    {
        "category": "zh",
        "author": "linxiao",
        "days": 2,
        "title": "中文文本的准确率怎么样？",
        "tags": ["中文", "sentiment"],
        "body": "有人测试过中文评论的准确率吗？短句子和长段落差别大吗？",
        "replies": [("moderator", "演示模型主要用英文训练，中文短句效果还可以，长段落建议先分句。", ["linxiao"])],
    },
    {
        "category": "moderators",
        "author": "moderator",
        "days": 15,
        "title": "Moderation guidelines",
        "tags": [],
        "body": "Hide first, ask questions later for spam. Always give a reason: the author sees it.",
        "replies": [],
    },
]


def _user(handle: str) -> User | None:
    return User.objects.filter(username=handle).first()


def _community(stdout: Any) -> None:
    for email, handle, name in COMMUNITY:
        user, created = User.objects.get_or_create(email=email, defaults={"username": handle})
        if created:
            user.set_unusable_password()
            user.date_joined = timezone.now() - timedelta(days=60)
            user.save(update_fields=["password", "date_joined"])
            profile_update(user=user, display_name=name, bio="", website="", github="")
            role_grant(user=user, role="Developer")
            stdout.write(f"Forum: community member @{handle} created (no password; demo content only).")


def _post(thread: Thread, number: int, author: User | None, body: str, when: Any) -> Post:
    rendered = render_post(body, existing_usernames={u for u in User.objects.values_list("username", flat=True)})
    post = Post.objects.create(
        thread=thread, number=number, author=author, body=body, html=rendered.html, body_hash=body_fingerprint(body)
    )
    Post.objects.filter(pk=post.pk).update(created_at=when, updated_at=when)
    post.created_at = when
    return post


def _like(post: Post, handles: list[str]) -> None:
    for handle in handles:
        user = _user(handle)
        if user is None or user.pk == post.author_id:
            continue
        _, created = Like.objects.get_or_create(user=user, post=post)
        if created:
            Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)


def _thread(spec: dict[str, Any], categories: dict[str, Category]) -> bool:
    category = categories[spec["category"]]
    if Thread.objects.filter(category=category, title=spec["title"]).exists():
        return False
    author = _user(spec["author"])
    started = timezone.now() - timedelta(days=spec["days"], hours=3)
    thread = Thread.objects.create(
        category=category,
        title=spec["title"],
        slug=thread_slug(spec["title"]),
        author=author,
        language=detect_language(spec["title"] + " " + spec["body"]),
        bumped_at=started,
        post_number_seq=1 + len(spec["replies"]),
    )
    Thread.objects.filter(pk=thread.pk).update(created_at=started)
    thread.created_at = started
    first = _post(thread, 1, author, spec["body"], started)
    _like(first, spec.get("likes", []))
    replies = []
    for index, (handle, body, likers) in enumerate(spec["replies"], start=1):
        when = started + timedelta(hours=2 * index + 1)
        reply = _post(thread, index + 1, _user(handle), body, when)
        _like(reply, likers)
        replies.append(reply)
        if reply.author_id and reply.author_id != thread.author_id and thread.author_id:
            Subscription.objects.get_or_create(user_id=reply.author_id, thread=thread)
    if thread.author_id:
        Subscription.objects.get_or_create(
            user_id=thread.author_id, thread=thread, defaults={"level": SubscriptionLevel.WATCHING}
        )
    tags = [Tag.objects.get_or_create(slug=slug)[0] for slug in spec.get("tags", [])]
    thread.tags.set(tags)
    fields: dict[str, Any] = {}
    if spec.get("solution"):
        fields.update(solution=replies[spec["solution"] - 1], solved_at=started + timedelta(days=1))
    if spec.get("pin"):
        fields.update(pin=spec["pin"], pinned_at=started)
    if fields:
        Thread.objects.filter(pk=thread.pk).update(**fields)
    thread_refresh_stats(thread=thread)
    developer = _user("developer")
    if developer is not None and thread.author_id == developer.pk:
        for reply in replies:
            if reply.author_id and reply.author_id != developer.pk:
                Notification.objects.create(
                    recipient=developer, kind=NotificationKind.REPLY, actor=reply.author, thread=thread, post=reply,
                    emailed_at=timezone.now(),
                )  # fmt: skip
    return True


@transaction.atomic
def load(*, stdout: Any) -> None:
    """Create the demo forum; a second run adds nothing."""
    _community(stdout)
    categories: dict[str, Category] = {}
    for position, (slug, name, description, color, kind, read, post) in enumerate(CATEGORIES):
        categories[slug], _ = Category.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "color": color,
                "kind": kind,
                "read_access": read,
                "post_access": post,
                "position": position,
            },
        )
    if _user("admin") is None or _user("developer") is None:
        stdout.write("Forum: the demo users are missing; run demo_setup first.")
        return
    created = sum(_thread(spec, categories) for spec in THREADS)
    if created:
        stdout.write(f"Forum: {created} demo threads in {len(categories)} categories.")
    else:
        stdout.write("Forum: the demo threads exist; nothing to add.")

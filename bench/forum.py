"""Latency of the forum's two heaviest pages, rendered through Django's test client.

- a thread page showing 200 posts (all on one page),
- a category page of a category with 1,000 threads (first page of 30),

each as a signed-in developer and as a moderator, after a warm-up. Prints the p50 and p95
(nearest rank, ``apps.core.stats`` as everywhere in the portal) and the mean server time,
and the number of SQL queries per render (the suite holds both to at most 12). Builds its
data in a throwaway test database (never the real one) and drops it afterwards.

    python -m bench.forum [--runs 40]        (or: python bench/forum.py)

Uses the database of the environment: PostgreSQL with DATABASE_URL set, else SQLite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.core.stats import percentiles  # noqa: E402

if TYPE_CHECKING:
    from apps.accounts.models import User


@dataclass(frozen=True)
class Pages:
    """Who looks at the measured pages, and where they are."""

    developer: User
    moderator: User
    thread_url: str
    category_url: str


def build() -> Pages:
    from apps.accounts import roles
    from apps.accounts.models import User
    from apps.accounts.services import role_grant
    from apps.forum.models import Category, Like, Post, Tag, Thread
    from apps.forum.rendering import body_fingerprint, render_post, thread_slug
    from apps.forum.services.common import thread_refresh_stats

    users = []
    for name in ("dev", "helper", "mod"):
        user = User.objects.create(username=name, email=f"{name}@example.com")
        user.date_joined = timezone.now() - timedelta(days=30)
        user.save()
        role_grant(user=user, role=roles.DEVELOPER)
        users.append(user)
    role_grant(user=users[2], role=roles.MODERATOR)
    general = Category.objects.create(slug="general", name="General")
    big = Category.objects.create(slug="big", name="Big category")
    now = timezone.now()

    thread = Thread.objects.create(
        category=general, title="A long discussion", slug="a-long-discussion", author=users[0], bumped_at=now,
        post_number_seq=200,
    )  # fmt: skip
    body = "Try `wait=30`:\n\n```python\nrequests.post(URL, json={'model': 'm', 'inputs': ['hi']})\n```\n[docs](https://example.com)"
    html = render_post(body).html
    Post.objects.bulk_create(
        Post(
            thread=thread, number=n, author=users[n % 3], body=f"{body} {n}", html=html,
            body_hash=body_fingerprint(f"{n}"),
        )
        for n in range(1, 201)
    )  # fmt: skip
    Like.objects.bulk_create(Like(user=users[1], post=p) for p in Post.objects.filter(thread=thread, author=users[0]))
    thread_refresh_stats(thread=thread)

    tags = [Tag.objects.create(slug=f"tag-{n}") for n in range(8)]
    threads = Thread.objects.bulk_create(
        Thread(
            category=big, title=f"Question number {n}", slug=thread_slug(f"Question number {n}"), author=users[n % 3],
            bumped_at=now - timedelta(minutes=n), post_number_seq=1 + n % 9, last_post_number=1 + n % 9,
            reply_count=n % 9, like_count=n % 5, last_poster=users[(n + 1) % 3],
        )
        for n in range(1000)
    )  # fmt: skip
    Thread.tags.through.objects.bulk_create(
        Thread.tags.through(thread_id=t.pk, tag_id=tags[i % len(tags)].pk) for i, t in enumerate(threads)
    )
    return Pages(
        developer=users[0],
        moderator=users[2],
        thread_url=thread.get_absolute_url(),
        category_url=big.get_absolute_url(),
    )


def measure(client: Client, url: str, runs: int) -> tuple[list[float], int, int]:
    for _ in range(3):
        client.get(url)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return timings, len(queries.captured_queries), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    setup_test_environment()
    settings.DEBUG = False
    test = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test["NAME"] = str(Path(settings.VAR_DIR) / "bench-forum.sqlite3")
    else:
        test["NAME"] = f"bench_forum_{connection.settings_dict['NAME']}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        pages = build()
        print(f"Forum page latency ({connection.vendor}, {args.runs} runs after 3 warm-up, Django test client)")
        print(f"{'page':<28} {'viewer':<10} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'queries':>8} {'KiB':>6}")
        measured: list[tuple[str, str, dict[str, int]]] = [
            ("thread, 200 posts", pages.thread_url, {"FORUM_POSTS_PER_PAGE": 200}),
            ("category, 1,000 threads", pages.category_url, {}),
        ]
        viewers = {"developer": pages.developer, "moderator": pages.moderator}
        for label, url, overrides in measured:
            for viewer, user in viewers.items():
                client = Client()
                client.force_login(user)
                with override_settings(**overrides):
                    timings, queries, size = measure(client, url, args.runs)
                spread = percentiles(timings, (50, 95))
                print(
                    f"{label:<28} {viewer:<10} {spread['p50']:8.1f} {spread['p95']:8.1f} "
                    f"{statistics.fmean(timings):8.1f} {queries:8d} {size / 1024:6.0f}"
                )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()

"""The plans every installation has; migrations create them, and they are recreated on
demand if an admin deleted them (a key must always have a plan)."""

from __future__ import annotations

from .models import Plan

DEFAULT_PLANS = [
    # slug, name, requests/minute, inputs/month, concurrent jobs, default, order
    ("free", "Free", 60, 10_000, 4, True, 0),
    ("pro", "Pro", 600, 1_000_000, 32, False, 1),
    ("enterprise", "Enterprise", 6_000, 50_000_000, 256, False, 2),
]


def plan_default() -> Plan:
    plan = Plan.objects.filter(is_default=True).first()
    if plan is None:
        slug, name, rpm, quota, concurrency, _default, order = DEFAULT_PLANS[0]
        plan, _ = Plan.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "requests_per_minute": rpm, "inputs_per_month": quota,
                      "max_concurrent_jobs": concurrency, "is_default": True, "order": order},
        )  # fmt: skip
    return plan

from django.db import migrations

PLANS = [
    # slug, name, requests/minute, inputs/month, concurrent jobs, default
    ("free", "Free", 60, 10_000, 4, True, 0),
    ("pro", "Pro", 600, 1_000_000, 32, False, 1),
    ("enterprise", "Enterprise", 6_000, 50_000_000, 256, False, 2),
]


def create_plans(apps, schema_editor):
    Plan = apps.get_model("apikeys", "Plan")
    for slug, name, rpm, quota, concurrency, default, order in PLANS:
        Plan.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "requests_per_minute": rpm, "inputs_per_month": quota,
                      "max_concurrent_jobs": concurrency, "is_default": default, "order": order},
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("apikeys", "0001_initial")]

    operations = [migrations.RunPython(create_plans, migrations.RunPython.noop)]

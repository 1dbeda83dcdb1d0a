from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.accounts.models import User
from apps.apikeys.models import Plan
from apps.apikeys.services import apikey_create


class Command(BaseCommand):
    help = "Create an API key for a user and print it (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--scopes", required=True, help="comma-separated, e.g. models:read,inference:write")
        parser.add_argument("--name", default="issued from the command line")
        parser.add_argument("--plan", help="plan slug (default: the default plan)")
        parser.add_argument("--rpm", type=int, help="requests per minute, overriding the plan")
        parser.add_argument("--quota", type=int, help="inputs per month, overriding the plan")
        parser.add_argument("--expires-days", type=int, help="days until expiry (default 90, at most 365)")

    def handle(self, *args: object, **options: Any) -> None:
        try:
            owner = User.objects.get(email__iexact=options["email"])
        except User.DoesNotExist:
            raise CommandError(f"no user with email {options['email']}") from None
        plan = None
        if options["plan"]:
            plan = Plan.objects.filter(slug=options["plan"]).first()
            if plan is None:
                raise CommandError(
                    f"no plan {options['plan']!r}; plans: {', '.join(Plan.objects.values_list('slug', flat=True))}"
                )
        days = options["expires_days"]
        try:
            _key, raw = apikey_create(
                owner=owner,
                name=str(options["name"]),
                scopes=[s.strip() for s in str(options["scopes"]).split(",") if s.strip()],
                plan=plan,
                rpm=options["rpm"],
                quota=options["quota"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(raw)

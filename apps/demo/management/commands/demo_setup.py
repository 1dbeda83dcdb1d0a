"""Create the demo users and load every app's demo content. Safe to run again."""

from __future__ import annotations

import importlib
import secrets

from allauth.account.models import EmailAddress
from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from apps.accounts import roles
from apps.accounts.models import User
from apps.accounts.services import profile_update, role_grant

DEMO_USERS = (
    # email, handle, display name, role
    ("admin@example.com", "admin", "Ada Admin", roles.ADMIN),
    ("moderator@example.com", "moderator", "Mo Moderator", roles.MODERATOR),
    ("developer@example.com", "developer", "Dev Developer", roles.DEVELOPER),
)


class Command(BaseCommand):
    help = "Create demo users (admin, moderator, developer) and demo content; idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords", action="store_true", help="give the demo users new passwords and print them"
        )

    def handle(self, *args: object, reset_passwords: bool, **options: object) -> None:
        created = self._users(reset_passwords=reset_passwords)
        if created:
            self.stdout.write(self.style.WARNING("Demo users (passwords are shown only now):"))
            for email, password in created:
                self.stdout.write(f"  {email:<24} {password}")
        else:
            self.stdout.write(
                "Demo users exist; their passwords are unchanged "
                "(python manage.py demo_setup --reset-passwords prints new ones)."
            )
        for config in apps.get_app_configs():
            if not config.name.startswith("apps."):
                continue
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            module.load(stdout=self.stdout)

    @transaction.atomic
    def _users(self, *, reset_passwords: bool) -> list[tuple[str, str]]:
        shown: list[tuple[str, str]] = []
        for email, handle, name, role in DEMO_USERS:
            user, created = User.objects.get_or_create(email=email, defaults={"username": handle})
            if created or reset_passwords:
                password = secrets.token_urlsafe(12)
                user.set_password(password)
                user.save(update_fields=["password"])
                shown.append((email, password))
            if created:
                profile_update(user=user, display_name=name, bio="", website="", github="")
            role_grant(user=user, role=roles.DEVELOPER)
            role_grant(user=user, role=role)
            EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        return shown

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts import roles
from apps.accounts.models import User
from apps.accounts.services import UnknownRole, role_grant, role_revoke


class Command(BaseCommand):
    help = "Give a user a role (Developer, Moderator or Admin), or take it away with --revoke."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("role", help=f"one of: {', '.join(roles.ROLES)} (any case)")
        parser.add_argument("--revoke", action="store_true", help="remove the role instead")

    def handle(self, *args: object, email: str, role: str, revoke: bool, **options: object) -> None:
        role_name = next((r for r in roles.ROLES if r.lower() == role.lower()), role)
        try:
            user = User.objects.get(email__iexact=email)
        except User.DoesNotExist:
            raise CommandError(f"no user with email {email}") from None
        try:
            (role_revoke if revoke else role_grant)(user=user, role=role_name)
        except UnknownRole as exc:
            raise CommandError(str(exc)) from None
        verb = "removed from" if revoke else "granted to"
        self.stdout.write(self.style.SUCCESS(f"{role_name} {verb} {user.email}"))

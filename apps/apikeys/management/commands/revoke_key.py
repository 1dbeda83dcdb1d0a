from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.apikeys.models import APIKey
from apps.apikeys.services import apikey_revoke


class Command(BaseCommand):
    help = "Revoke an API key at once, by its id (the 8 characters after pk_) or its prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", help="key id, e.g. a1B2c3D4 or pk_a1B2c3D4")
        parser.add_argument("--reason", default="revoked from the command line")

    def handle(self, *args: object, id: str, reason: str, **options: object) -> None:
        key_id = id.removeprefix("pk_").split("_", 1)[0]
        key = APIKey.objects.filter(key_id=key_id).first()
        if key is None:
            raise CommandError(f"no key with id {key_id}")
        apikey_revoke(key=key, actor=None, reason=reason)
        self.stdout.write(self.style.SUCCESS(f"revoked pk_{key.key_id}… ({key.name})"))

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import User
from .services import profile_ensure


@receiver(post_save, sender=User, dispatch_uid="accounts_profile_ensure")
def _profile_for_new_user(sender: type[User], instance: User, created: bool, **_: Any) -> None:
    # Every user has a profile row, however the user was made (sign-up, admin, shell).
    if created:
        profile_ensure(user=instance)

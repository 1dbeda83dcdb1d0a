from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.core.models import BaseModel


class User(AbstractUser):
    """A person with an account. Logs in by email; ``username`` is the public handle."""

    email = models.EmailField(_("email address"), unique=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def has_role(self, role: str) -> bool:
        return any(group.name == role for group in self.groups.all())


class Profile(BaseModel):
    """What a user shows of themself: display name, bio and links."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    bio = models.TextField(_("bio"), max_length=600, blank=True)
    website = models.URLField(_("website"), blank=True)
    github = models.CharField(
        _("GitHub username"),
        max_length=39,
        blank=True,
        help_text=_("Letters, digits and single hyphens, as on GitHub."),
    )

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(github="")
                | models.Q(github__regex=r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$"),
                name="profile_github_username_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name to show: the display name, else the handle."""
        return self.display_name or self.user.username

    @property
    def initials(self) -> str:
        """One or two letters for the avatar circle."""
        words = [w for w in self.name.replace("_", " ").replace(".", " ").replace("-", " ").split() if w]
        if not words:
            return "?"
        if len(words) == 1:
            return words[0][:2].upper() if words[0].isascii() else words[0][:1]
        return (words[0][0] + words[-1][0]).upper()

    @property
    def github_url(self) -> str:
        return f"https://github.com/{self.github}" if self.github else ""

    def get_absolute_url(self) -> str:
        return reverse("accounts:public_profile", kwargs={"username": self.user.username})

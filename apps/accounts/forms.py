from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Profile, User


class ProfileForm(forms.ModelForm):
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")

    class Meta:
        model = Profile
        fields = ["display_name", "bio", "website", "github"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}

    def clean_github(self) -> str:
        # People paste "@name" or the whole profile URL; keep the bare name.
        value = self.cleaned_data["github"].strip()
        return value.removeprefix("https://github.com/").removeprefix("@").strip("/")


class AccountDeleteForm(forms.Form):
    """Asks for the password (or, for accounts without one, the email address) again."""

    confirmation = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():
            self.fields["confirmation"] = forms.CharField(label=_("Type your email address"))

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"]
        ok = (
            self.user.check_password(value)
            if self.user.has_usable_password()
            else value.strip().lower() == self.user.email.lower()
        )
        if not ok:
            raise forms.ValidationError(_("That does not match. Your account was not deleted."))
        return value

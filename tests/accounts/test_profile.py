import pytest
from django.urls import reverse

from apps.accounts.models import User

from ..factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_profile_settings_save_display_name_bio_and_links(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("accounts:settings"),
        {"display_name": "Grace Hopper", "bio": "Compilers.", "website": "https://example.org", "github": "@grace"},
    )
    assert response.status_code == 302
    owner.profile.refresh_from_db()
    assert owner.profile.display_name == "Grace Hopper"
    assert owner.profile.initials == "GH"
    assert owner.profile.github == "grace"
    page = client.get(reverse("accounts:public_profile", kwargs={"username": owner.username}))
    assert "Grace Hopper" in page.content.decode()
    assert "https://github.com/grace" in page.content.decode()


def test_an_invalid_github_name_is_refused_and_nothing_is_saved(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("accounts:settings"), {"display_name": "X", "bio": "", "website": "", "github": "bad name!"}
    )
    assert response.status_code == 200
    owner.profile.refresh_from_db()
    assert owner.profile.display_name == ""


def test_profile_pages_need_a_login(client):
    for name in ("accounts:profile", "accounts:settings", "accounts:delete"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]


def test_an_outsider_sees_the_public_profile_but_cannot_edit_it(client, owner, outsider):
    client.force_login(outsider)
    page = client.get(reverse("accounts:public_profile", kwargs={"username": owner.username}))
    assert page.status_code == 200
    assert reverse("accounts:settings") not in page.content.decode().split("<main", 1)[-1]


def test_an_unknown_or_inactive_user_page_is_404(client, owner):
    assert client.get(reverse("accounts:public_profile", kwargs={"username": "nobody"})).status_code == 404
    owner.is_active = False
    owner.save()
    assert client.get(reverse("accounts:public_profile", kwargs={"username": owner.username})).status_code == 404


def test_account_deletion_needs_the_password_and_then_removes_everything(client, owner):
    client.force_login(owner)
    response = client.post(reverse("accounts:delete"), {"confirmation": "wrong"})
    assert response.status_code == 200
    assert User.objects.filter(pk=owner.pk).exists()

    response = client.post(reverse("accounts:delete"), {"confirmation": PASSWORD})
    assert response.status_code == 302
    assert not User.objects.filter(pk=owner.pk).exists()
    assert "_auth_user_id" not in client.session

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.accounts import roles

pytestmark = pytest.mark.django_db


def test_grant_role_makes_a_user_a_moderator(owner):
    call_command("grant_role", owner.email, "moderator")
    owner.refresh_from_db()
    assert owner.has_role(roles.MODERATOR)
    assert not owner.is_staff


def test_grant_role_admin_gives_staff_rights_and_revoking_takes_them_away(owner):
    call_command("grant_role", owner.email.upper(), "Admin")
    owner.refresh_from_db()
    assert owner.has_role(roles.ADMIN)
    assert owner.is_staff
    assert owner.is_superuser
    call_command("grant_role", owner.email, "admin", "--revoke")
    owner.refresh_from_db()
    assert not owner.has_role(roles.ADMIN)
    assert not owner.is_staff
    assert not owner.is_superuser


def test_grant_role_refuses_an_unknown_role_or_email(owner):
    with pytest.raises(CommandError, match="unknown role"):
        call_command("grant_role", owner.email, "overlord")
    with pytest.raises(CommandError, match="no user"):
        call_command("grant_role", "ghost@example.com", "moderator")
    owner.refresh_from_db()
    assert [g.name for g in owner.groups.all()] == [roles.DEVELOPER]


def test_a_developer_cannot_open_the_admin(client, owner):
    client.force_login(owner)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_moderator_cannot_open_the_admin(client, moderator):
    client.force_login(moderator)
    assert client.get(reverse("admin:index")).status_code == 302


def test_an_admin_opens_the_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200

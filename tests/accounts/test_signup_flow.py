import re

import pytest
from django.core import mail
from django.urls import reverse

from apps.accounts import roles
from apps.accounts.models import User

from ..factories import PASSWORD as PASSWORD_OF_FACTORY

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

PASSWORD = "a-long-and-unusual-passphrase"


def _sign_up(client, email="newcomer@example.com"):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}, follow=True
    )


def test_sign_up_sends_a_verification_link_that_then_lets_the_user_log_in(client):
    response = _sign_up(client)
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["newcomer@example.com"]
    link = re.search(r"https?://[^/\s]+(/\S*/accounts/confirm-email/\S+/|/accounts/confirm-email/\S+/)", message.body)
    assert link, message.body
    path = link.group(1)

    # Until the address is verified, logging in does not let the user in.
    client.logout()
    response = client.post(reverse("account_login"), {"login": "newcomer@example.com", "password": PASSWORD})
    assert "_auth_user_id" not in client.session

    confirm_page = client.get(path)
    assert confirm_page.status_code == 200
    client.post(path)
    client.logout()

    response = client.post(
        reverse("account_login"), {"login": "newcomer@example.com", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    user = User.objects.get(email="newcomer@example.com")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert user.emailaddress_set.get().verified


def test_a_new_account_is_a_developer_with_a_profile(client):
    _sign_up(client)
    user = User.objects.get(email="newcomer@example.com")
    assert user.has_role(roles.DEVELOPER)
    assert not user.is_staff
    assert user.profile.initials


def test_signing_up_twice_with_one_email_keeps_one_account(client):
    _sign_up(client)
    client.logout()
    _sign_up(client)
    assert User.objects.filter(email="newcomer@example.com").count() == 1


def test_a_wrong_password_does_not_log_in(client, owner):
    client.post(reverse("account_login"), {"login": owner.email, "password": "not-the-password"})
    assert "_auth_user_id" not in client.session


def test_repeated_failed_logins_lock_the_account_out_for_a_while(client, owner):
    for _ in range(5):
        client.post(reverse("account_login"), {"login": owner.email, "password": "wrong"})
    # allauth's login_failed limit (5 per 5 minutes per account): even the right password
    # is refused until the window passes, with a message that says so.
    response = client.post(reverse("account_login"), {"login": owner.email, "password": PASSWORD_OF_FACTORY})
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_a_fresh_window_lets_the_right_password_in(client, owner):
    client.post(reverse("account_login"), {"login": owner.email, "password": "wrong"})
    client.post(reverse("account_login"), {"login": owner.email, "password": PASSWORD_OF_FACTORY})
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_password_reset_mails_a_working_link(client, owner):
    client.post(reverse("account_reset_password"), {"email": owner.email})
    assert len(mail.outbox) == 1
    path = re.search(r"https?://[^/\s]+(/\S+)", mail.outbox[0].body).group(1)
    response = client.get(path, follow=True)
    assert response.status_code == 200
    form_path = response.redirect_chain[-1][0] if response.redirect_chain else path
    new_password = "another-long-passphrase-42"
    client.post(form_path, {"password1": new_password, "password2": new_password})
    owner.refresh_from_db()
    assert owner.check_password(new_password)

"""The admin's home page: each app's section appears once, under a name of its own."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_admin_index_names_each_app_section_once(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("admin:index")).content.decode()
    sections = re.findall(r'<caption>\s*<a[^>]*class="section"[^>]*>([^<]+)</a>', page)
    assert "Users" in sections
    assert "Accounts" in sections  # allauth's email addresses
    assert len(sections) == len(set(sections)), sections

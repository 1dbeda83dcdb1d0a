from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/settings/", views.account_settings, name="settings"),
    path("accounts/delete/", views.account_delete, name="delete"),
    path("u/<str:username>/", views.public_profile, name="public_profile"),
]

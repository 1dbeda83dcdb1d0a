from django.urls import path

from . import views

app_name = "apikeys"

urlpatterns = [
    path("account/keys/", views.key_list, name="key_list"),
    path("account/keys/new/", views.key_create, name="key_create"),
    path("account/keys/upgrade/", views.key_request, name="key_request"),
    path("account/keys/reveal/<str:token>/", views.key_reveal_link, name="reveal_link"),
    path("account/keys/<uuid:pk>/secret/", views.key_secret, name="key_secret"),
    path("account/keys/<uuid:pk>/reveal/", views.key_reveal, name="key_reveal"),
    path("account/keys/<uuid:pk>/rotate/", views.key_rotate, name="key_rotate"),
    path("account/keys/<uuid:pk>/revoke/", views.key_revoke, name="key_revoke"),
    path("account/keys/<uuid:pk>/usage/", views.key_usage, name="key_usage"),
]

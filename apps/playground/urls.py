from django.urls import path

from . import apis, views

app_name = "playground"

urlpatterns = [
    path("playground/", views.index, name="index"),
    # Two segments, so that no model id can shadow them.
    path("playground/api/runs/", apis.RunListAPI.as_view(), name="runs"),
    path("playground/api/runs/<uuid:run_id>/", apis.RunDetailAPI.as_view(), name="run_api"),
    path("playground/runs/<slug:token>/", views.run_page, name="run"),
    path("playground/<slug:model>/", views.index, name="model"),
]

from django.urls import path

from . import views

app_name = "mlmodels"

urlpatterns = [
    path("models/", views.model_list, name="list"),
    path("models/<slug:slug>/", views.model_detail, name="detail"),
    path("models/<slug:slug>/v<int:version>/", views.model_version, name="version"),
]

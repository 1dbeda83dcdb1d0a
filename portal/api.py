"""Mounts each app's v1 endpoints under /api/v1/ and the OpenAPI documents beside them.

New versions go beside v1 (``v2_patterns``) and are listed in settings.API_VERSIONS;
marking a version "deprecated" there adds Deprecation, Sunset and Link headers to every
response it gives.
"""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from apps.apikeys.apis import UsageAPI
from apps.inference.apis import ClassifyAPI, JobAPI
from apps.mlmodels.apis import ModelDetailAPI, ModelListAPI

v1_patterns = [
    path("models", ModelListAPI.as_view(), name="models"),
    path("models/<str:model_id>", ModelDetailAPI.as_view(), name="model"),
    path("classify", ClassifyAPI.as_view(), name="classify"),
    path("jobs/<str:job_id>", JobAPI.as_view(), name="job"),
    path("usage", UsageAPI.as_view(), name="usage"),
]

# Swagger UI and Redoc set style attributes from their scripts and Redoc runs a blob:
# worker; these two pages (our static files only, no CDN) get exactly that much room.
_reference = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})

urlpatterns = [
    path("api/v1/", include((v1_patterns, "api-v1"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", _reference(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/redoc/", _reference(SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"),
]

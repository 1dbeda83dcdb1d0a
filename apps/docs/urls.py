from django.urls import path, re_path

from . import views

app_name = "docs"

SLUG = r"(?P<slug>[a-z0-9][a-z0-9-]*(?:/[a-z0-9][a-z0-9-]*)*)"
VERSION = r"(?P<version>v[1-9][0-9]*)"

urlpatterns = [
    path("docs/", views.doc_page, name="index"),
    path("docs/_/status/", views.translation_status, name="status"),
    path("docs/_/feedback/<int:page_id>/", views.feedback, name="feedback"),
    path("docs/_/media/<path:path>", views.media, name="media"),
    re_path(rf"^docs/{VERSION}/$", views.doc_page, name="versioned_index"),
    re_path(rf"^docs/{VERSION}/{SLUG}/$", views.doc_page, name="versioned_page"),
    re_path(rf"^docs/{SLUG}/$", views.doc_page, name="page"),
    path("tutorials/", views.course_list, name="tutorials"),
    path("tutorials/<slug:course>/", views.course_detail, name="course"),
    path("tutorials/<slug:course>/<slug:lesson>/", views.lesson_detail, name="lesson"),
    path("tutorials/<slug:course>/<slug:lesson>/complete/", views.lesson_complete, name="lesson_complete"),
    path("search/", views.search, name="search"),
]

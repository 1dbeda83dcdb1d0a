"""Each course names the key scopes a reader picks, and its samples need no others.

A course declares them twice: ``scopes:`` in its front matter (what the tests use) and in
the prerequisites the reader sees. Each API call in a lesson needs the scope of the view
that answers it (read from the API's own views), so a lesson that calls an endpoint outside
the course's scopes fails here, as it would fail for a reader with a 403;
test_samples_live.py runs the same samples with a key holding exactly those scopes.
"""

from __future__ import annotations

import re

import pytest
from django.urls import Resolver404, resolve

from apps.apikeys.models import ALL_SCOPES
from apps.docs.content import SourceFile
from apps.docs.samples import shell_commands

from .test_samples import FILES

pytestmark = pytest.mark.embedded

COURSES = {(source.language, source.course): source for source in FILES if source.kind == "course"}
SCOPE_RE = re.compile(r"\b(?:" + "|".join(re.escape(scope) for scope in ALL_SCOPES) + r")\b")
API_PATH_RE = re.compile(r"/api/v1/[^\s\"'?{}]*")
# A job's URL comes from the classify answer (``job["url"]``): a GET on the jobs endpoint.
JOB_URL_RE = re.compile(r"""job\[["']url["']\]""")
A_JOB = "/api/v1/jobs/00000000-0000-0000-0000-000000000000"


def _scope_of(path: str) -> str:
    try:
        match = resolve(path)
    except Resolver404:
        pytest.fail(f"{path} is not an API endpoint")
    view = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    scope = getattr(view, "required_scope", None)
    assert scope in ALL_SCOPES, f"{path}: no required scope on {view}"
    return scope


def scopes_needed(source: SourceFile) -> dict[str, int]:
    """Each scope the page's API samples need, with the line of the first sample needing it."""
    needed: dict[str, int] = {}
    for sample in source.samples:
        if sample.check != "api":
            continue
        if sample.lang == "sh":
            urls = [arg for args in shell_commands(sample.code) for arg in args if "/api/v1/" in arg]
            paths = [match.group(0) for url in urls for match in API_PATH_RE.finditer(url)]
        else:
            paths = [re.sub(r"/$", "/" + A_JOB.rsplit("/", 1)[1], p) for p in API_PATH_RE.findall(sample.code)]
            if JOB_URL_RE.search(sample.code):
                paths.append(A_JOB)
        for path in paths:
            needed.setdefault(_scope_of(path), sample.line)
    return needed


TUTORIAL_PAGES = [
    pytest.param(source, id=source.rel) for source in FILES if source.kind in ("course", "lesson") and source.samples
]


def test_every_course_declares_the_scopes_a_reader_picks():
    assert COURSES
    for (language, course), source in COURSES.items():
        scopes = source.meta.get("scopes")
        assert scopes, f"{source.display_path}: add 'scopes:' to the front matter"
        assert set(scopes) <= set(ALL_SCOPES), f"{source.display_path}: unknown scopes {set(scopes) - set(ALL_SCOPES)}"
        assert scopes == [scope for scope in ALL_SCOPES if scope in scopes], f"{source.display_path}: keep the order"
        english = COURSES[("en", course)]
        assert scopes == english.meta["scopes"], f"{source.display_path}: the scopes differ from {language}'s source"


@pytest.mark.parametrize("source", COURSES.values(), ids=lambda s: s.rel)
def test_a_courses_prerequisites_name_exactly_its_scopes(source):
    named = {scope for line in source.meta.get("prerequisites", []) for scope in SCOPE_RE.findall(line)}
    assert named == set(source.meta["scopes"]), f"{source.display_path}: the prerequisites name {sorted(named)}"


@pytest.mark.parametrize("source", TUTORIAL_PAGES)
def test_tutorial_samples_need_only_the_scopes_their_course_asks_for(source):
    declared = set(COURSES[(source.language, source.course)].meta.get("scopes", []))
    for scope, line in scopes_needed(source).items():
        assert scope in declared, (
            f"{source.display_path}:{line}: this sample needs {scope!r}, which the course does not ask for"
        )


def test_the_scope_check_sees_every_api_endpoint_the_tutorials_call():
    needed = {scope for source in FILES if source.kind == "lesson" for scope in scopes_needed(source)}
    assert {"models:read", "inference:write", "jobs:read", "usage:read"} <= needed

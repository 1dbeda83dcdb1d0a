"""Pages for the sections whose apps have not opened yet: an honest notice, not a fake page."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise


def section_view(*, heading: Promise, summary: Promise) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest, **_: object) -> HttpResponse:
        return render(request, "core/section.html", {"heading": heading, "summary": summary})

    return view

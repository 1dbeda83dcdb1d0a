"""URLs: health probes and language switching outside the language prefix; every page
inside ``i18n_patterns`` (English at the root, Simplified Chinese under /zh-hans/)."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from apps.core import views as core_views

from . import sitemaps
from . import views as portal_views

# Django's own 400s (a disallowed host, a malformed form) and 404s answer like the
# hostile-input middleware: problem+json under /api/, the portal's own page elsewhere.
handler400 = "apps.core.middleware.bad_request"
handler404 = "apps.core.middleware.not_found"

admin.site.site_header = _("Developer Portal administration")
admin.site.site_title = _("Developer Portal admin")

urlpatterns = [
    path("healthz", portal_views.healthz, name="healthz"),
    path("readyz", portal_views.readyz, name="readyz"),
    # RFC 9116; plain text in one language-neutral place, so outside the language prefix.
    path(".well-known/security.txt", core_views.security_txt, name="security_txt"),
    path("security/policy.txt", core_views.security_policy, name="security_policy"),
    # For crawlers; one file each for every language (sitemap.xml names both).
    path("robots.txt", sitemaps.robots_txt, name="robots_txt"),
    path("sitemap.xml", sitemap_views.sitemap, {"sitemaps": sitemaps.SITEMAPS}, name="sitemap"),
    path("", include("portal.api")),
]

urlpatterns += i18n_patterns(
    path("", portal_views.home, name="home"),
    # Inside the prefix, so that the switcher's request is in the page's own language and
    # Django can translate the "next" URL (a non-prefixed path would resolve as English).
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.mlmodels.urls")),
    path("", include("apps.docs.urls")),
    path("", include("apps.forum.urls")),
    path("", include("apps.playground.urls")),
    path("", include("apps.apikeys.urls")),
    path("admin/", admin.site.urls),
    prefix_default_language=False,
)

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

"""URL map: pages, the API, the admin."""

from django.contrib import admin
from django.urls import include, path

from ningju.api import devices

urlpatterns = [
    path("", include("ningju.core.urls")),
    # The API tokens of one's devices (and, for a street administrator, of the street's staff).
    path("accounts/devices/", devices.devices, name="devices"),
    path("accounts/devices/revoke/", devices.device_revoke, name="device_revoke"),
    path("", include("ningju.registry.urls")),
    path("visits/", include("ningju.visits.urls")),
    path("demands/", include("ningju.demands.urls")),
    path("insights/", include("ningju.insights.urls")),
    path("meetings/", include("ningju.meetings.urls")),
    path("api/", include("ningju.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# Under /api/ a missing path and a server error answer the API's JSON error body; elsewhere the site's pages.
handler404 = "ningju.api.errors.page_not_found"
handler500 = "ningju.api.errors.server_error"

"""API URLs: /api/v1/ (registry), the token endpoint, the OpenAPI schema and its browsable docs."""

from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from ningju.api import views

# Ids in these paths are the database ids, stable across releases: later modules (visits, route maps) link to
# /api/v1/households/<id>/ and /api/v1/residents/<id>/ directly.
v1 = [
    path("auth/token/", views.TokenApi.as_view(), name="api_token"),
    path("auth/tokens/", views.TokenListRevokeApi.as_view(), name="api_tokens"),
    path("areas/", views.AreaListApi.as_view(), name="api_area_list"),
    path("areas/<int:pk>/", views.AreaDetailApi.as_view(), name="api_area_detail"),
    path("compounds/", views.CompoundListApi.as_view(), name="api_compound_list"),
    path("compounds/<int:pk>/", views.CompoundDetailApi.as_view(), name="api_compound_detail"),
    path("buildings/", views.BuildingListApi.as_view(), name="api_building_list"),
    path("buildings/<int:pk>/", views.BuildingDetailApi.as_view(), name="api_building_detail"),
    path("households/", views.HouseholdListApi.as_view(), name="api_household_list"),
    path("households/<int:pk>/", views.HouseholdDetailApi.as_view(), name="api_household_detail"),
    path("residents/", views.ResidentListApi.as_view(), name="api_resident_list"),
    path("residents/<int:pk>/", views.ResidentDetailApi.as_view(), name="api_resident_detail"),
    path("residents/<int:pk>/reveal/", views.ResidentRevealApi.as_view(), name="api_resident_reveal"),
]

# The docs pages run third-party bundles (drf-spectacular's sidecar) that write <style> elements, and Redoc starts
# a worker from a blob: URL. Scripts stay 'self' only (the split Swagger view serves its start-up script as a
# file); every other page keeps the strict policy of settings.CONTENT_SECURITY_POLICY.
DOCS_CSP = {"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]}

urlpatterns = [
    path("v1/", include(v1)),
    path("v1/", include("ningju.visits.api")),
    path("v1/", include("ningju.demands.api")),
    path("v1/", include("ningju.meetings.api")),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "docs/", csp_update(DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api_schema")), name="api_docs"
    ),
    path(
        "redoc/",
        csp_update(DOCS_CSP)(SpectacularRedocView.as_view(url_name="api_schema", template_name="api/redoc.html")),
        name="api_redoc",
    ),
]

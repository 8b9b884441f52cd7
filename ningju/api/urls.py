"""API URLs: /api/v1/ (registry), the token endpoint, the OpenAPI schema and its browsable docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from ningju.api import views

# Ids in these paths are the database ids, stable across releases: later modules (visits, route maps) link to
# /api/v1/households/<id>/ and /api/v1/residents/<id>/ directly.
v1 = [
    path("auth/token/", views.TokenObtainApi.as_view(), name="api_token"),
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

urlpatterns = [
    path("v1/", include(v1)),
    path("v1/", include("ningju.visits.api")),
    path("v1/", include("ningju.demands.api")),
    path("v1/", include("ningju.meetings.api")),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api_schema", template_name="api/redoc.html"),
        name="api_redoc",
    ),
]

"""Registry pages: areas → compounds → buildings → households, search, tags, import/export."""

from django.urls import path

from ningju.registry.views import browse, transfer

urlpatterns = [
    path("areas/", browse.area_list, name="area_list"),
    path("areas/<str:code>/", browse.area_detail, name="area_detail"),
    path("compounds/<int:pk>/", browse.compound_detail, name="compound_detail"),
    path("compounds/<int:pk>/reveal/", browse.compound_contact_reveal, name="compound_contact_reveal"),
    path("buildings/<int:pk>/", browse.building_detail, name="building_detail"),
    path("households/<int:pk>/", browse.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", browse.household_edit, name="household_edit"),
    path("residents/<int:pk>/edit/", browse.resident_edit, name="resident_edit"),
    path("residents/<int:pk>/reveal/", browse.resident_reveal, name="resident_reveal"),
    path("search/", browse.search, name="search"),
    path("tags/", browse.tag_list, name="tag_list"),
    path("tags/new/", browse.tag_edit, name="tag_create"),
    path("tags/<int:pk>/", browse.tag_edit, name="tag_edit"),
    path("registry/import/", transfer.import_page, name="registry_import"),
    path("registry/import/template.xlsx", transfer.import_template, name="registry_import_template"),
    path("registry/export/", transfer.export_start, name="registry_export"),
]

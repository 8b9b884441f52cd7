"""Admin for configuring the registry: streets, areas, departments, tags, patrol site types. Personal data shows
masked here too (the encrypted fields render masked); residents are edited through the pages, which log history."""

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from ningju.registry import models, services


@admin.register(models.Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ("code", "name")

    def save_model(self, request: HttpRequest, obj: models.Street, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:  # a new street gets its own copy of the default configuration
                services.street_defaults_install(obj)


@admin.register(models.ResidentialArea)
class ResidentialAreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "street", "office_address")
    list_filter = ("street",)
    search_fields = ("code", "name")


@admin.register(models.Grid)
class GridAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "street")
    list_filter = ("street",)


@admin.register(models.Compound)
class CompoundAdmin(admin.ModelAdmin):
    list_display = ("name", "area", "owners_committee", "property_company")
    list_filter = ("area",)
    search_fields = ("name",)


@admin.register(models.Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ("address", "compound", "grid", "lat", "lng")
    list_filter = ("compound__area",)
    search_fields = ("road", "lane", "number")
    list_select_related = ("compound",)
    raw_id_fields = ("compound",)


@admin.register(models.Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "street", "category", "high_risk", "sort_order", "active")
    list_filter = ("street", "category", "active")
    list_editable = ("sort_order", "active")


@admin.register(models.Household)
class HouseholdAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "tenure")
    raw_id_fields = ("building",)
    search_fields = ("building__road", "room")
    list_select_related = ("building",)


@admin.register(models.Resident)
class ResidentAdmin(SimpleHistoryAdmin):
    list_display = ("name", "gender", "birth_date", "household", "active")
    raw_id_fields = ("household",)
    search_fields = ("name",)
    readonly_fields = ("id_number", "phone")
    list_select_related = ("household__building",)


@admin.register(models.Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "street", "active")
    list_filter = ("street",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(models.PatrolSiteType)
class PatrolSiteTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "street", "must_patrol", "sort_order")
    list_filter = ("street",)


@admin.register(models.PatrolSite)
class PatrolSiteAdmin(admin.ModelAdmin):
    list_display = ("name", "site_type", "area", "compound", "active")
    list_filter = ("site_type", "area")

"""Admin for configuring the registry: streets, areas, departments, tags, patrol site types. Personal data shows
masked here too (the encrypted fields render masked); residents are edited through the pages, which log history."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from ningju.registry import models


@admin.register(models.Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


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
    list_display = ("name", "category", "high_risk", "sort_order", "active")
    list_filter = ("category", "active")
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
    list_display = ("name", "must_patrol", "sort_order")


@admin.register(models.PatrolSite)
class PatrolSiteAdmin(admin.ModelAdmin):
    list_display = ("name", "site_type", "area", "compound", "active")
    list_filter = ("site_type", "area")

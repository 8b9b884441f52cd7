"""Admin for the visits module: rules and settings are configured in the pages; the admin is for inspection."""

from django.contrib import admin

from ningju.visits import models


@admin.register(models.VisitRule)
class VisitRuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "street", "target", "interval", "active")
    list_filter = ("street", "target", "interval", "active")


@admin.register(models.VisitSettings)
class VisitSettingsAdmin(admin.ModelAdmin):
    list_display = ("street", "min_households_per_day", "max_households_per_day", "gps_flag_metres")


@admin.register(models.Pairing)
class PairingAdmin(admin.ModelAdmin):
    list_display = ("cadre", "building", "patrol_site", "area", "started_on", "ended_on")
    list_filter = ("area", "ended_on")
    raw_id_fields = ("cadre", "building", "patrol_site", "created_by")


@admin.register(models.Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ("visited_at", "cadre", "household", "patrol_site", "mode", "far_from_target")
    list_filter = ("area", "mode", "far_from_target")
    date_hierarchy = "visited_at"
    raw_id_fields = ("cadre", "household", "patrol_site")
    list_select_related = ("cadre", "household__building", "patrol_site")


@admin.register(models.Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("street", "start", "days", "created_at", "created_by")


@admin.register(models.Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ("day", "cadre", "area", "walk_m")
    list_filter = ("area",)
    date_hierarchy = "day"
    raw_id_fields = ("plan", "cadre")

"""Admin for demands: categories are edited here until their page exists; demands and their history are for
inspection (every change goes through `services.demand_act`, so the workflow records are read-only)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ningju.demands import models


@admin.register(models.Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("__str__", "street", "default_department", "active")
    list_filter = ("street", "active")
    search_fields = ("name",)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(ReadOnlyInline):
    model = models.DemandEvent


class DispatchInline(ReadOnlyInline):
    model = models.Dispatch


class ExtensionInline(ReadOnlyInline):
    model = models.ExtensionRequest


@admin.register(models.Demand)
class DemandAdmin(admin.ModelAdmin):
    list_display = ("pk", "created_at", "area", "kind", "source", "state", "owner", "due_at")
    list_filter = ("area", "kind", "source", "state")
    date_hierarchy = "created_at"
    search_fields = ("text", "external_id")
    list_select_related = ("area", "owner")
    inlines = [EventInline, DispatchInline, ExtensionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

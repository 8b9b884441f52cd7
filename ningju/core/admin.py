"""Admin for configuration: users and their roles; the audit log and jobs are read-only."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ningju.core.models import AuditEntry, CalendarYear, Job, User, WorkdayOverride


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "street", "area", "department", "is_active")
    list_filter = ("role", "street", "area", "department", "is_active")
    search_fields = ("username", "full_name")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("角色与范围"), {"fields": ("full_name", "role", "street", "area", "department", "phone")}),
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "username",
        "action",
        "target_type",
        "target_id",
        "field",
        "reason",
        "ip_address",
    )
    list_filter = ("action", "target_type")
    search_fields = ("username", "target_id", "reason")
    date_hierarchy = "created_at"


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "status", "progress", "message", "created_by", "created_at", "finished_at")
    list_filter = ("kind", "status")


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("year", "entered", "notice", "entered_by", "entered_at")


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(admin.ModelAdmin):
    list_display = ("day", "is_workday", "name")
    date_hierarchy = "day"

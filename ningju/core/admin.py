"""Admin for configuration: users and their roles; the audit log and jobs are read-only."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ningju.core.audit import audit
from ningju.core.models import AuditAction, AuditEntry, CalendarYear, Job, User, WorkdayOverride

# What decides what a user may see and do: a change of any of these is a ROLE_CHANGE in the audit log.
ROLE_FIELDS = ("role", "street", "area", "department", "is_active", "is_staff", "is_superuser")
SCOPE_FKS = {"street", "area", "department"}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "street", "area", "department", "is_active")
    list_filter = ("role", "street", "area", "department", "is_active")
    search_fields = ("username", "full_name")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("角色与范围"), {"fields": ("full_name", "role", "street", "area", "department", "phone")}),
    )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """A change of role, scope or admin rights changes what someone may see: it is audited (ROLE_CHANGE)."""
        before = User.objects.filter(pk=obj.pk).values(*ROLE_FIELDS).first() if change else None
        super().save_model(request, obj, form, change)
        after = {name: getattr(obj, f"{name}_id" if name in SCOPE_FKS else name) for name in ROLE_FIELDS}
        changed = {
            name: [None if before is None else before[name], after[name]]
            for name in ROLE_FIELDS
            if before is None or before[name] != after[name]
        }
        if changed and (before is not None or obj.role or obj.is_staff or obj.is_superuser):
            audit(
                user=request.user,
                action=AuditAction.ROLE_CHANGE,
                target=obj,
                field="role",
                detail={"username": obj.username, "created": before is None, **changed},
                request=request,
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

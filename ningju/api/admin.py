"""The admin's view of API tokens: who has which device signed in, and revoking one (deleting it)."""

from django.contrib import admin
from knox.models import AuthToken

from ningju.api.models import DeviceToken

# knox registers its own AuthToken, which this project swaps for DeviceToken (KNOX_TOKEN_MODEL): it has no table.
if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "created", "last_used", "expiry")
    search_fields = ("user__username", "name")
    readonly_fields = ("user", "name", "created", "last_used", "expiry")
    fields = readonly_fields  # never the digest nor token_key

    def has_add_permission(self, request: object) -> bool:
        return False  # a token is issued by signing in (POST /api/v1/auth/token/), shown once there

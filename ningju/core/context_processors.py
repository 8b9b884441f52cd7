"""Template context every page needs: the user's role and scope for the navigation, and the unread notices."""

from functools import cache
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from ningju.core import scoping
from ningju.core.models import NoticeLevel, Notification, Role


def ningju(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "is_street_admin": user.role == Role.STREET_ADMIN,
        "is_area_user": user.role in (Role.AREA_HEAD, Role.CADRE),
        "is_cadre": user.role == Role.CADRE,
        "can_import": scoping.can_import(user),
        "can_export": scoping.can_export(user),
        **_unread(user.pk),
    }


def _unread(user_id: int) -> dict[str, Any]:
    """`unread_notices` (a count) and `unread_red` (any red among them), from one query and only if a template
    reads them: an htmx fragment without the header costs nothing."""

    @cache
    def counts() -> dict[str, int]:
        unread = Notification.objects.filter(user=user_id, read_at__isnull=True)
        return unread.aggregate(total=Count("pk"), red=Count("pk", filter=Q(level=NoticeLevel.RED)))

    return {
        "unread_notices": SimpleLazyObject(lambda: counts()["total"]),
        "unread_red": SimpleLazyObject(lambda: counts()["red"] > 0),
    }

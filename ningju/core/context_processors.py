"""Template context every page needs: the user's role and scope, for the navigation."""

from typing import Any

from django.http import HttpRequest

from ningju.core import scoping
from ningju.core.models import Role


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
    }

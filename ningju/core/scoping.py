"""The one place that decides what a user may see and change. Every page, API endpoint, export and search
fetches through these functions; nothing else filters by role.

- street administrator: the whole street, read and write;
- area head and cadre: their residential area (全岗通: any cadre may handle anything in the area);
- department liaison: nothing of the registry (they see only what is dispatched to them, in later modules);
- a user without a role sees nothing.
"""

from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.http import Http404
from django.utils.translation import gettext as _

from ningju.core.models import Role, User

M = TypeVar("M", bound=models.Model)

AREA_ROLES = (Role.AREA_HEAD, Role.CADRE)


NOTHING = models.Q(pk__in=[])


def scope_q(user: Any, model: type[models.Model]) -> models.Q:
    """The filter that limits `model` to what `user` may see. `model.SCOPE_AREA` is its path to the area:
    "self" for the area itself, "" for street-level objects (everyone in the street reads those)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    # A model whose visibility is not only "its area" (a demand is also seen by the departments it was
    # dispatched to) states its rule in a `visible_to(user)` classmethod, still applied only from here.
    visible_to = getattr(model, "visible_to", None)
    if visible_to is not None:
        return visible_to(user)
    path = getattr(model, "SCOPE_AREA", None)
    if path is None:
        raise TypeError(f"{model.__name__} has no SCOPE_AREA: it cannot be scoped")
    if path == "self":
        area_key, street_key = "pk", "street"
    elif path == "":
        area_key, street_key = None, ("pk" if model._meta.model_name == "street" else "street")
    else:
        area_key, street_key = path, f"{path}__street"

    if user.role == Role.STREET_ADMIN:
        return models.Q(**{street_key: user.street_id})
    if user.role in AREA_ROLES:
        if area_key is None:
            return models.Q(**{street_key: user.area.street_id})
        return models.Q(**{area_key: user.area_id})
    return NOTHING


def visible(user: Any, queryset: "models.QuerySet[M]") -> "models.QuerySet[M]":
    """`queryset` limited to what `user` may see."""
    return queryset.filter(scope_q(user, queryset.model))


def get_for_user(user: Any, queryset: "models.QuerySet[M]", **lookup: Any) -> M:
    """Fetch one object the user may see. A record that exists outside their scope is refused (403), with a
    message that says so; one that does not exist is a 404."""
    try:
        return visible(user, queryset).get(**lookup)
    except ObjectDoesNotExist:
        if queryset.filter(**lookup).exists():
            raise PermissionDenied(_("您无权查看该记录：它不在您负责的范围内。")) from None
        raise Http404(_("记录不存在。")) from None


def can_change(user: Any, obj: models.Model) -> bool:
    """May `user` edit this registry record? Street administrators and the area's own head and cadres."""
    if user.role not in (Role.STREET_ADMIN, *AREA_ROLES):
        return False
    return visible(user, type(obj)._default_manager.filter(pk=obj.pk)).exists()


def can_reveal(user: Any, obj: models.Model) -> bool:
    """May `user` see this record's ID or phone number in clear? Only configured roles, only in scope."""
    return user.role in settings.NINGJU_REVEAL_ROLES and can_change(user, obj)


def is_street_admin(user: Any) -> bool:
    return getattr(user, "is_authenticated", False) and user.role == Role.STREET_ADMIN


def require_street_admin(user: Any) -> None:
    if not is_street_admin(user):
        raise PermissionDenied(_("只有街道管理员可以进行此操作。"))


def user_street_id(user: User) -> int | None:
    if user.role == Role.STREET_ADMIN:
        return user.street_id
    if user.role in AREA_ROLES and user.area is not None:
        return user.area.street_id
    return None


def can_import(user: User | None) -> bool:
    """Street administrators import for their street, area heads for their area. `None` is an operator on the
    command line without --user, who holds the whole database anyway."""
    return user is None or bool(user.is_active and user.role in (Role.STREET_ADMIN, Role.AREA_HEAD))


def can_export(user: User | None) -> bool:
    """Street administrators export their street, area heads and cadres their area (masked); liaisons nothing."""
    return user is None or bool(user.is_active and user.role in (Role.STREET_ADMIN, *AREA_ROLES))


def can_export_unmasked(user: User | None) -> bool:
    """Only a street administrator exports clear ID and phone numbers (with a reason, audited)."""
    return user is not None and is_street_admin(user)

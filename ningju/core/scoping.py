"""The one place that decides what a user may see and change. Every page, API endpoint, export and search
fetches through these functions; nothing else filters by role.

Each app states its rules in its own `permissions.py` (visibility filters registered with `rule`, and
`can_<verb>` predicates); models that only belong to an area name the path in `SCOPE_AREA`. A model with neither
cannot be queried through here at all (TypeError), and `tests/test_permissions.py` fails on a model without a
rule, so a new model cannot be forgotten. Every rule stays inside the user's street. Ids named in a write go
through `fetch_for_write` (API) or `scope_form_fields` (forms): missing and out of scope get the same answer.

- street administrator: the whole street, read and write;
- area head and cadre: their residential area (全岗通: any cadre may handle anything in the area);
- department liaison: nothing of the registry (they see only what is dispatched to them, in later modules);
- a user without a role sees nothing.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.http import Http404
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from ningju.core.models import Role, User

M = TypeVar("M", bound=models.Model)

AREA_ROLES = (Role.AREA_HEAD, Role.CADRE)


NOTHING = models.Q(pk__in=[])

# One answer for an id in a write that the user may not use, whether it exists elsewhere or not at all: two texts
# would tell an attacker which area (or street) any resident, household or demand belongs to.
NOT_FOUND_OR_OUT_OF_SCOPE = gettext_lazy("所选记录不存在或不在您负责的范围内。")

# Ids beyond a database integer column: looked up, they overflow (SQLite) or fail (PostgreSQL) instead of missing.
MAX_ID = 2**63 - 1

Rule = Callable[[Any], models.Q]
_RULES: dict[type[models.Model], Rule] = {}
_discovered = False


def rule(*scoped_models: type[models.Model]) -> Callable[[Rule], Rule]:
    """Register `function(user) -> Q` as the visibility of `scoped_models`. Used only by each app's
    `permissions.py`, which is where an app says who may see what; `scope_q` finds the rules there."""

    def register(function: Rule) -> Rule:
        for model in scoped_models:
            _RULES[model] = function
        return function

    return register


def _rule_for(model: type[models.Model]) -> Rule | None:
    global _discovered
    if not _discovered:
        autodiscover_modules("permissions")  # every installed app's permissions.py registers its rules
        _discovered = True
    return _RULES.get(model)


def scope_q(user: Any, model: type[models.Model]) -> models.Q:
    """The filter that limits `model` to what `user` may see. Its app's `permissions.py` may register a rule
    for it; otherwise `model.SCOPE_AREA` is its path to the area: "self" for the area itself, "" for
    street-level objects (everyone in the street reads those). Each rule stays inside the user's street: an
    area belongs to one street, and street administrators are matched on their own street."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    registered = _rule_for(model)
    if registered is not None:
        return registered(user)
    # A model whose visibility is not only "its area" (a demand is also seen by the departments it was
    # dispatched to) states its rule in a `visible_to(user)` classmethod, still applied only from here.
    visible_to = getattr(model, "visible_to", None)
    if visible_to is not None:
        return visible_to(user)
    path = getattr(model, "SCOPE_AREA", None)
    if path is None:
        raise TypeError(f"{model.__name__} has no SCOPE_AREA nor a rule in its app's permissions.py")
    return area_path_q(user, model, path)


def area_path_q(user: Any, model: type[models.Model], path: str) -> models.Q:
    """The rule of a record that belongs to the area at `path` ("self", or "" for a street-level record)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
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


def get_or_404(user: Any, queryset: "models.QuerySet[M]", **lookup: Any) -> M:
    """Fetch one object the user may see, or 404 whether it is missing or someone else's: for the ids a write
    names (a form's prefill, a notification), where telling "exists elsewhere" apart would be an oracle."""
    found = visible(user, queryset).filter(**lookup).first()
    if found is None:
        raise Http404(_("记录不存在。"))
    return found


def fetch_for_write(user: Any, model: type[M], pk: Any) -> M:
    """The record `pk` of `model` that a write by `user` may refer to. Missing and out of scope give the same
    `ValidationError` (same text), so a write cannot be used to probe which records exist elsewhere."""
    found = None
    if isinstance(pk, str) and pk.isascii() and pk.isdigit():
        pk = int(pk)
    if isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk <= MAX_ID:
        found = visible(user, model._default_manager.all()).filter(pk=pk).first()
    if found is None:
        raise serializers.ValidationError(str(NOT_FOUND_OR_OUT_OF_SCOPE), code="does_not_exist")
    return found


def scope_form_fields(form: forms.BaseForm, user: Any, *names: str) -> None:
    """Limit the form's model-choice fields (`names`, or all of them) to what `user` may see, with the one answer
    for an id that is missing or out of scope. Forms that take ids call this in `__init__`."""
    for name, field in form.fields.items():
        if names and name not in names:
            continue
        if isinstance(field, forms.ModelChoiceField):
            if field.queryset is not None:
                field.queryset = visible(user, field.queryset)
            field.error_messages["invalid_choice"] = NOT_FOUND_OR_OUT_OF_SCOPE
            field.error_messages["invalid_pk_value"] = NOT_FOUND_OR_OUT_OF_SCOPE


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


def staff_street_id(user: Any) -> int | None:
    """The street a signed-in member of staff works for, liaisons included (through their department)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.role == Role.LIAISON and user.department_id is not None:
        return int(user.department.street_id)
    return user_street_id(user)


def in_scope(user: Any, model: type[models.Model], field: str) -> models.Q:
    """`field` (a foreign key to `model`) points at a record the user may see: to scope a row by its parent."""
    return models.Q(**{f"{field}__in": visible(user, model._default_manager.all()).values("pk")})


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

"""Writes to the registry. Every write checks the scope, records who made it (history), and audits reveals."""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.identifiers import validate_id_number, validate_phone
from ningju.core.models import AuditAction, User
from ningju.registry import permissions
from ningju.registry.models import Compound, Household, Resident, Street, Tag

REVEALABLE_FIELDS = ("id_number", "phone")


def resident_reveal(
    *, user: User, resident: Resident, field: str, reason: str, request: HttpRequest | None = None
) -> str:
    """The clear text of one identifier of one resident, for a permitted user who gives a reason; audited."""
    if field not in REVEALABLE_FIELDS:
        raise ApplicationError(_("该字段不能查看明文。"))
    if not scoping.can_reveal(user, resident):
        raise PermissionDenied(_("您的角色无权查看居民的完整身份证号或手机号。"))
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ApplicationError(_("请填写查看事由（例如：电话回访、核对身份）。"))
    value = getattr(resident, field)
    audit(user=user, action=AuditAction.REVEAL, target=resident, field=field, reason=reason, request=request)
    return value.reveal() if value else ""


COMPOUND_CONTACT_FIELDS = ("owners_committee_contact", "property_contact")


def compound_contact_reveal(
    *, user: User, compound: Compound, field: str, reason: str, request: HttpRequest | None = None
) -> str:
    """The clear text of a compound's owners' committee or property contact ("张三 13812345678"), for the compound's
    area and the street, with a reason; audited like a resident's number."""
    if field not in COMPOUND_CONTACT_FIELDS:
        raise ApplicationError(_("该字段不能查看明文。"))
    if not permissions.can_reveal_compound_contact(user, compound):
        raise PermissionDenied(_("只有本居民区和街道的工作人员可以查看小区联系人的完整电话。"))
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ApplicationError(_("请填写查看事由（例如：联系业委会、通知物业）。"))
    value = getattr(compound, field)
    audit(user=user, action=AuditAction.REVEAL, target=compound, field=field, reason=reason, request=request)
    return value.reveal() if value else ""


def _check_change(user: User, obj: Any) -> None:
    if not scoping.can_change(user, obj):
        raise PermissionDenied(_("您无权修改该记录。"))


@transaction.atomic
def household_update(
    *, user: User, household: Household, tags: list[Tag] | None = None, change_reason: str = "", **fields: Any
) -> Household:
    """Change a household's own fields and/or its tags; the history keeps who and what."""
    _check_change(user, household)
    allowed = {"room", "tenure", "notes"}
    unknown = set(fields) - allowed
    if unknown:
        raise ApplicationError(_("不能修改这些字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    for name, value in fields.items():
        setattr(household, name, value)
    household._history_user = user  # type: ignore[attr-defined]
    household._change_reason = change_reason  # type: ignore[attr-defined]
    try:
        household.full_clean(exclude=["building"])
    except ValidationError as error:
        raise ApplicationError(_("数据不合法：%(e)s") % {"e": "; ".join(error.messages)}) from error
    household.save()
    if tags is not None:
        household.tags.set(tags)
    return household


@transaction.atomic
def resident_update(
    *, user: User, resident: Resident, tags: list[Tag] | None = None, change_reason: str = "", **fields: Any
) -> Resident:
    """Change a resident's fields (ID and phone numbers validated, then encrypted) and/or tags, with history."""
    _check_change(user, resident)
    allowed = {"name", "gender", "birth_date", "id_number", "phone", "relation", "notes", "active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ApplicationError(_("不能修改这些字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    try:
        if fields.get("id_number"):
            fields["id_number"] = validate_id_number(fields["id_number"])
        if fields.get("phone"):
            fields["phone"] = validate_phone(fields["phone"])
    except ValidationError as error:
        raise ApplicationError("; ".join(error.messages)) from error
    for name, value in fields.items():
        setattr(resident, name, value)
    if (
        resident.id_number_hash
        and Resident.objects.filter(id_number_hash=resident.id_number_hash).exclude(pk=resident.pk).exists()
    ):
        raise ApplicationError(_("该身份证号已登记在另一位居民名下（重复人员）。"))
    resident._history_user = user  # type: ignore[attr-defined]
    resident._change_reason = change_reason  # type: ignore[attr-defined]
    resident.save()
    if tags is not None:
        resident.tags.set(tags)
    return resident


@transaction.atomic
def street_create(*, code: str, name: str, office_address: str = "") -> Street:
    """The one way a street comes into being: the street with its own copy of the default configuration — tags,
    patrol site types, demand categories, visit rules and settings — which its administrator then edits without
    touching any other street's."""
    street = Street(code=code, name=name, office_address=office_address)
    try:
        street.full_clean()
    except ValidationError as error:
        raise ApplicationError("; ".join(error.messages)) from error
    street.save(force_insert=True)
    street_defaults_install(street)
    return street


def street_defaults_install(street: Street) -> None:
    """Copy the default configuration into `street` where it is missing (never overwrites an edit). Called by
    `street_create`, and by the admin site, which saves a new street itself."""
    from ningju.demands.defaults import ensure_categories  # the apps above the registry: imported when used
    from ningju.registry.defaults import ensure_defaults
    from ningju.visits.rules import ensure_rules

    ensure_defaults(street)
    ensure_categories(street)
    ensure_rules(street)


def tag_save(*, user: User, tag: Tag, **fields: Any) -> Tag:
    """Create or edit a tag of the administrator's own street; only a street administrator configures tags."""
    scoping.require_street_admin(user)
    created = tag.pk is None
    if tag.pk is None:
        tag.street_id = user.street_id
    elif tag.street_id != user.street_id:
        raise PermissionDenied(_("您无权修改该记录。"))
    for name, value in fields.items():
        setattr(tag, name, value)
    try:
        tag.full_clean()
    except ValidationError as error:
        raise ApplicationError("; ".join(error.messages)) from error
    tag.save()
    changes = {name: str(value) for name, value in fields.items()}
    audit(
        user=user,
        action=AuditAction.CONFIG_CHANGE,
        target=tag,
        field="tag",
        detail={"created": created, **changes},
    )
    return tag

"""Writes for the street administrator's demand settings: working-day limits per stage and the category taxonomy.

Limits are the street's own (`DeadlineLimit`); a changed limit applies to clocks started afterwards, never to a
deadline already running (a resident was told that date). Categories belong to a street too: an administrator
edits only their own street's, and the usual department (默认派单部门) is one of that street's departments.
"""

from collections.abc import Mapping

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction, User
from ningju.demands.models import Category, DeadlineLimit
from ningju.demands.services import stage_limits
from ningju.demands.workflow import DeadlineStage
from ningju.registry.models import Department

MIN_WORKDAYS, MAX_WORKDAYS = 1, 60


def _street_id(user: User) -> int:
    scoping.require_street_admin(user)
    assert user.street_id is not None  # a database constraint: a street administrator has a street
    return user.street_id


@transaction.atomic
def deadline_limits_update(*, user: User, limits: Mapping[str, int]) -> int:
    """Set the street's limits (stage → working days). Returns how many stages changed; refuses all if one is bad."""
    street_id = _street_id(user)
    for stage, workdays in limits.items():
        if stage not in DeadlineStage.values:
            raise ApplicationError(_("环节“%(stage)s”无效。") % {"stage": stage})
        if not MIN_WORKDAYS <= workdays <= MAX_WORKDAYS:
            raise ApplicationError(
                _("“%(stage)s”的时限须为%(min)d至%(max)d个工作日。")
                % {"stage": DeadlineStage(stage).label, "min": MIN_WORKDAYS, "max": MAX_WORKDAYS}
            )
    current = stage_limits(street_id)
    changed = [
        DeadlineLimit(street_id=street_id, stage=stage, workdays=workdays)
        for stage, workdays in limits.items()
        if current[DeadlineStage(stage)] != workdays
    ]
    DeadlineLimit.objects.bulk_create(
        changed, update_conflicts=True, unique_fields=["street", "stage"], update_fields=["workdays"]
    )
    if changed:
        audit(
            user=user,
            action=AuditAction.CONFIG_CHANGE,
            target_type="demands.deadlinelimit",
            target_id=str(street_id),
            field="deadline_limits",
            detail={limit.stage: limit.workdays for limit in changed},
        )
    return len(changed)


def _check_name(street_id: int, name: str, parent: Category | None, exclude: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise ApplicationError(_("请填写分类名称。"))
    siblings = Category.objects.filter(street=street_id, parent=parent, name=name)
    if exclude is not None:
        siblings = siblings.exclude(pk=exclude)
    if siblings.exists():
        if parent is None:
            raise ApplicationError(_("已有名为“%(name)s”的一级分类。") % {"name": name})
        raise ApplicationError(
            _("“%(parent)s”下已有名为“%(name)s”的分类。") % {"parent": parent.name, "name": name}
        )
    return name


def _check_department(street_id: int, department: Department | None) -> None:
    if department is not None and (department.street_id != street_id or not department.active):
        raise ApplicationError(_("所选部门无效或已停用。"))


@transaction.atomic
def category_create(
    *, user: User, name: str, parent: Category | None = None, default_department: Department | None = None
) -> Category:
    """Add a category (top level, or under `parent`) with the department such demands usually go to."""
    street_id = _street_id(user)
    if parent is not None and parent.street_id != street_id:
        raise ApplicationError(_("所选上级分类不属于本街道。"))
    if parent is not None and parent.parent_id is not None:
        raise ApplicationError(_("只能在一级分类下添加子分类。"))
    _check_department(street_id, default_department)
    category = Category(
        street_id=street_id,
        name=_check_name(street_id, name, parent),
        parent=parent,
        default_department=default_department,
    )
    category.save(force_insert=True)
    _audit_category(user, category, created=True)
    return category


def _audit_category(user: User, category: Category, *, created: bool) -> None:
    detail = {
        "created": created,
        "name": category.name,
        "default_department": category.default_department_id,
        "active": category.active,
    }
    audit(user=user, action=AuditAction.CONFIG_CHANGE, target=category, field="category", detail=detail)


@transaction.atomic
def category_update(
    *, user: User, category: Category, name: str, default_department: Department | None, active: bool
) -> Category:
    """Rename a category, change its usual department, or switch it off (kept on old demands, offered to no new
    one) and on again."""
    street_id = _street_id(user)
    if category.street_id != street_id:
        raise PermissionDenied(_("只能修改本街道的诉求分类。"))
    _check_department(street_id, default_department)
    category.name = _check_name(street_id, name, category.parent, exclude=category.pk)
    category.default_department = default_department
    category.active = active
    category.save(update_fields=["name", "default_department", "active"])
    _audit_category(user, category, created=False)
    return category

"""Writes to a street's visit rules and visit settings; only the street administrator makes them."""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction, User
from ningju.registry.models import PatrolSiteType, Street, Tag
from ningju.visits.models import Interval, VisitRule, VisitSettings

MAX_HOUSEHOLDS_PER_DAY = 40  # beyond this a "visit" cannot be more than a knock on the door
MIN_GPS_FLAG_METRES = 50  # phone positioning in lanes is rarely better than this
MAX_GPS_FLAG_METRES = 5000


@dataclass(frozen=True, slots=True)
class RuleChange:
    interval: str
    active: bool


def _require_admin_of(user: User, street: Street) -> None:
    scoping.require_street_admin(user)
    if user.street_id != street.pk:
        raise ApplicationError(_("只能修改本街道的走访规则。"))


def validate_settings(min_per_day: int, max_per_day: int, gps_flag_metres: int) -> list[str]:
    """Every problem with these numbers, in words the administrator can act on (empty when they are fine)."""
    errors = []
    if min_per_day < 1:
        errors.append(_("每人每个工作日至少走访户数应不少于1户。"))
    if max_per_day > MAX_HOUSEHOLDS_PER_DAY:
        errors.append(
            _("每人每个工作日最多走访户数不能超过%(n)d户，否则走访流于形式。") % {"n": MAX_HOUSEHOLDS_PER_DAY}
        )
    if min_per_day > max_per_day:
        errors.append(
            _("至少走访户数（%(min)d）不能大于最多走访户数（%(max)d）。")
            % {"min": min_per_day, "max": max_per_day}
        )
    if not MIN_GPS_FLAG_METRES <= gps_flag_metres <= MAX_GPS_FLAG_METRES:
        errors.append(
            _("定位偏离提示距离应在%(low)d到%(high)d米之间。")
            % {"low": MIN_GPS_FLAG_METRES, "high": MAX_GPS_FLAG_METRES}
        )
    return errors


@transaction.atomic
def rules_update(
    *,
    user: User,
    street: Street,
    changes: Mapping[int, RuleChange],
    min_households_per_day: int,
    max_households_per_day: int,
    gps_flag_metres: int,
) -> int:
    """Save edited rules (rule id → interval and active) and the street's settings together; all or nothing.
    Returns how many rules changed."""
    _require_admin_of(user, street)
    errors = validate_settings(min_households_per_day, max_households_per_day, gps_flag_metres)
    rules = {rule.pk: rule for rule in VisitRule.objects.filter(street=street, pk__in=list(changes))}
    if set(changes) - set(rules):
        errors.append(_("有规则不属于本街道或已被删除，请刷新页面后重试。"))
    for pk, change in changes.items():
        rule = rules.get(pk)
        if change.interval not in Interval.values:
            errors.append(_("频次只能是每周、每月或每年。"))
        elif rule is not None and rule.target == VisitRule.Target.HOUSEHOLD and not change.active:
            errors.append(_("“全覆盖”规则不能停用：每户每年至少走访一次。"))
    if errors:
        raise ApplicationError(" ".join(dict.fromkeys(errors)))

    changed = []
    for pk, change in changes.items():
        rule = rules[pk]
        if (rule.interval, rule.active) != (change.interval, change.active):
            rule.interval, rule.active = change.interval, change.active
            changed.append(rule)
    VisitRule.objects.bulk_update(changed, ["interval", "active"])
    visit_settings = VisitSettings.objects.select_for_update().get_or_create(street=street)[0]
    visit_settings.min_households_per_day = min_households_per_day
    visit_settings.max_households_per_day = max_households_per_day
    visit_settings.gps_flag_metres = gps_flag_metres
    visit_settings.save(update_fields=["min_households_per_day", "max_households_per_day", "gps_flag_metres"])
    audit(
        user=user,
        action=AuditAction.CONFIG_CHANGE,
        target=street,
        field="visit_rules",
        detail={
            "rules": {str(rule.pk): [rule.interval, rule.active] for rule in changed},
            "min_households_per_day": min_households_per_day,
            "max_households_per_day": max_households_per_day,
            "gps_flag_metres": gps_flag_metres,
        },
    )
    return len(changed)


def rule_create(
    *,
    user: User,
    street: Street,
    interval: str,
    tag: Tag | None = None,
    patrol_type: PatrolSiteType | None = None,
) -> VisitRule:
    """A new rule for a tag (e.g. a care tag visited monthly) or a patrol site type that has none yet."""
    _require_admin_of(user, street)
    if (tag is None) == (patrol_type is None):
        raise ApplicationError(_("请选择一个标签或一种巡查点类型（只选一个）。"))
    if interval not in Interval.values:
        raise ApplicationError(_("频次只能是每周、每月或每年。"))
    subject = tag if tag is not None else patrol_type
    if subject is not None and subject.street_id != street.pk:
        raise ApplicationError(_("所选标签或巡查点类型不属于本街道。"))
    target = VisitRule.Target.TAG if tag is not None else VisitRule.Target.PATROL_TYPE
    already = _("“%(name)s”已有走访规则，请直接修改它。") % {"name": tag or patrol_type}
    # Checked here too: the constraint's NULLS NOT DISTINCT is only enforced by PostgreSQL 15+.
    if VisitRule.objects.filter(street=street, target=target, tag=tag, patrol_type=patrol_type).exists():
        raise ApplicationError(already)
    try:
        with transaction.atomic():
            rule = VisitRule.objects.create(
                street=street, target=target, tag=tag, patrol_type=patrol_type, interval=interval
            )
    except IntegrityError as error:
        raise ApplicationError(already) from error
    audit(
        user=user,
        action=AuditAction.CONFIG_CHANGE,
        target=rule,
        field="visit_rule",
        detail={"created": True, "target": target, "subject": str(subject), "interval": interval},
    )
    return rule

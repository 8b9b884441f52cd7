"""Visit rules: which interval applies to a household or a patrol site, when it is next due, and why.

A household's interval is the strictest of the street's rules that apply to it: the default (every household once a
calendar year), and one per tag carried by the household or by any resident still living there (must-visit tags
monthly, high-risk tags weekly). A patrol site follows its type's rule (weekly by default). Periods are calendar
periods: ISO week (Monday–Sunday), calendar month, calendar year — "at least every month" means at least once in
every calendar month.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Max
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from ningju.registry.models import Household, PatrolSite, PatrolSiteType, Resident, Street, Tag, TagCategory
from ningju.visits.models import Interval, Visit, VisitRule, VisitSettings

STRICTNESS = {Interval.WEEK: 0, Interval.MONTH: 1, Interval.YEAR: 2}


@dataclass(frozen=True)
class Requirement:
    interval: str
    because: str  # what the rule is for: a tag name, a patrol type, or 全覆盖

    @property
    def label(self) -> str:
        return f"{self.because} — {Interval(self.interval).label}"


def ensure_rules(street: Street) -> None:
    """Create the DOMAIN.md defaults that are missing (never changes an edited rule): every household yearly,
    must-visit tags monthly (high-risk weekly), patrol types weekly; and the street's visit settings."""
    VisitSettings.objects.get_or_create(street=street)
    VisitRule.objects.get_or_create(
        street=street,
        target=VisitRule.Target.HOUSEHOLD,
        tag=None,
        patrol_type=None,
        defaults={"interval": Interval.YEAR},
    )
    for tag in Tag.objects.filter(street=street, category=TagCategory.MUST_VISIT, active=True):
        VisitRule.objects.get_or_create(
            street=street,
            target=VisitRule.Target.TAG,
            tag=tag,
            patrol_type=None,
            defaults={"interval": Interval.WEEK if tag.high_risk else Interval.MONTH},
        )
    for patrol_type in PatrolSiteType.objects.filter(street=street, must_patrol=True):
        VisitRule.objects.get_or_create(
            street=street,
            target=VisitRule.Target.PATROL_TYPE,
            tag=None,
            patrol_type=patrol_type,
            defaults={"interval": Interval.WEEK},
        )


def settings_for(street: Street) -> VisitSettings:
    return VisitSettings.objects.get_or_create(street=street)[0]


class RuleBook:
    """A street's active rules, loaded once; the questions it answers are pure."""

    def __init__(self, street: Street) -> None:
        rules = VisitRule.objects.filter(street=street, active=True).select_related("tag", "patrol_type")
        self.household_default: Requirement | None = None
        self.by_tag: dict[int, Requirement] = {}
        self.by_patrol_type: dict[int, Requirement] = {}
        for rule in rules:
            if rule.target == VisitRule.Target.HOUSEHOLD:
                self.household_default = Requirement(rule.interval, _("全覆盖"))
            elif rule.tag_id is not None and rule.tag is not None:
                self.by_tag[rule.tag_id] = Requirement(rule.interval, rule.tag.name)
            elif rule.patrol_type_id is not None and rule.patrol_type is not None:
                self.by_patrol_type[rule.patrol_type_id] = Requirement(rule.interval, rule.patrol_type.name)

    def household(self, tag_ids: Iterable[int]) -> Requirement | None:
        """The strictest requirement for a household carrying these tags (its own and its residents')."""
        candidates = [self.by_tag[t] for t in tag_ids if t in self.by_tag]
        if self.household_default is not None:
            candidates.append(self.household_default)
        return min(candidates, key=lambda r: STRICTNESS[Interval(r.interval)], default=None)

    def patrol_site(self, patrol_type_id: int) -> Requirement | None:
        return self.by_patrol_type.get(patrol_type_id)


def period(day: date, interval: str) -> tuple[date, date]:
    """The calendar period (first day, last day) of `interval` that contains `day`."""
    if interval == Interval.WEEK:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if interval == Interval.MONTH:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    return date(day.year, 1, 1), date(day.year, 12, 31)


def next_due(last: date | None, interval: str, today: date) -> date:
    """The last day by which the next visit is due: the end of the period after the one of the last visit (a
    household visited in March under a monthly rule is due by the end of April). Never visited: the end of the
    period before `today`'s, the last whole period that passed without a visit. The date is in the past exactly
    when the household is overdue (`is_overdue`), so a page never shows a future date as 逾期."""
    start = period(today, interval)[0]
    if last is None:
        return start - timedelta(days=1)
    following = period(last, interval)[1] + timedelta(days=1)
    return period(following, interval)[1]


def is_overdue(last: date | None, interval: str, today: date) -> bool:
    """Overdue: a whole period has passed with no visit (the previous calendar week/month/year had none), i.e. the
    due date is before today. A due date today or later is "due by", not overdue."""
    return next_due(last, interval, today) < today


def due_reason(requirement: Requirement, last: date | None, today: date) -> str:
    """Why a stop is on today's route, in the cadre's words: "独居老人 — 每月，上次走访 28 天前"."""
    if last is None:
        return _("%(rule)s，尚未走访") % {"rule": requirement.label}
    return _("%(rule)s，上次走访 %(days)d 天前") % {"rule": requirement.label, "days": (today - last).days}


def household_tag_ids(household_ids: Iterable[int]) -> dict[int, set[int]]:
    """Tags of each household, its own and those of its residents still living there (two queries)."""
    ids = list(household_ids)
    tags: dict[int, set[int]] = defaultdict(set)
    through = Household.tags.through.objects.filter(household_id__in=ids).values_list("household_id", "tag_id")
    for household_id, tag_id in through:
        tags[household_id].add(tag_id)
    resident_tags = Resident.tags.through.objects.filter(
        resident__household_id__in=ids, resident__active=True
    ).values_list("resident__household_id", "tag_id")
    for household_id, tag_id in resident_tags:
        tags[household_id].add(tag_id)
    return tags


def last_household_visits(household_ids: Iterable[int], before: date | None = None) -> dict[int, date]:
    """The date of each household's latest visit (optionally strictly before a day), in one query."""
    visits = Visit.objects.filter(household_id__in=list(household_ids))
    if before is not None:
        visits = visits.filter(visited_at__date__lt=before)
    rows = visits.values("household_id").annotate(last=Max(TruncDate("visited_at")))
    return {row["household_id"]: row["last"] for row in rows}


def last_site_visits(site_ids: Iterable[int], before: date | None = None) -> dict[int, date]:
    visits = Visit.objects.filter(patrol_site_id__in=list(site_ids))
    if before is not None:
        visits = visits.filter(visited_at__date__lt=before)
    rows = visits.values("patrol_site_id").annotate(last=Max(TruncDate("visited_at")))
    return {row["patrol_site_id"]: row["last"] for row in rows}


def site_requirements(book: RuleBook, sites: Iterable[PatrolSite]) -> dict[int, Requirement]:
    return {site.pk: req for site in sites if (req := book.patrol_site(site.site_type_id)) is not None}

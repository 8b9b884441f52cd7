"""Reads for the registry pages and the API, always through the scoping helper."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import crypto, scoping
from ningju.core.identifiers import normalize_id_number, normalize_phone
from ningju.core.models import User
from ningju.registry.models import (
    Building,
    Compound,
    Household,
    Resident,
    ResidentialArea,
    Tag,
    TagCategory,
)


def areas_with_counts(user: User) -> "QuerySet[ResidentialArea]":
    """Visible areas with their compound, building, household, resident and must-visit household counts.

    Counts come from correlated subqueries, one per figure, so the joins don't multiply each other."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import Coalesce

    def count_of(queryset: QuerySet[Any], area_path: str) -> Any:
        sub = (
            queryset.filter(**{area_path: OuterRef("pk")})
            .order_by()
            .values(area_path)
            .annotate(n=Count("pk", distinct=True))
            .values("n")
        )
        return Coalesce(Subquery(sub), 0)

    return scoping.visible(user, ResidentialArea.objects.select_related("street")).annotate(
        compound_count=count_of(Compound.objects.all(), "area"),
        building_count=count_of(Building.objects.all(), "compound__area"),
        household_count=count_of(Household.objects.all(), "building__compound__area"),
        resident_count=count_of(Resident.objects.current(), "household__building__compound__area"),
        must_visit_count=count_of(
            Household.objects.filter(
                Q(tags__category=TagCategory.MUST_VISIT)
                | Q(residents__tags__category=TagCategory.MUST_VISIT, residents__active=True)
            ),
            "building__compound__area",
        ),
    )


def compounds_with_counts(user: User, area: ResidentialArea) -> "QuerySet[Compound]":
    return (
        scoping.visible(user, Compound.objects.filter(area=area))
        .annotate(
            building_count=Count("buildings", distinct=True),
            household_count=Count("buildings__households", distinct=True),
        )
        .order_by("name")
    )


def buildings_with_counts(user: User, compound: Compound) -> "QuerySet[Building]":
    return (
        scoping.visible(user, Building.objects.filter(compound=compound))
        .annotate(
            household_count=Count("households", distinct=True),
            resident_count=Count(
                "households__residents", filter=Q(households__residents__active=True), distinct=True
            ),
        )
        .order_by("road", "lane", "number")
    )


def households_of_building(user: User, building: Building) -> "QuerySet[Household]":
    return (
        scoping.visible(user, Household.objects.filter(building=building))
        .annotate(resident_count=Count("residents", filter=Q(residents__active=True)))
        .prefetch_related("tags")
        .order_by("room")
    )


def household_for_page(user: User, pk: int) -> Household:
    return scoping.get_for_user(
        user,
        Household.objects.select_related("building__compound__area__street").prefetch_related(
            "tags",
            Prefetch("residents", queryset=Resident.objects.prefetch_related("tags").order_by("-active", "id")),
        ),
        pk=pk,
    )


def search(user: User, query: str) -> dict[str, Any]:
    """Search by name, by address (road, lane, number, room), or by a full phone or ID number through its keyed
    hash. Partial phone or ID numbers are not searchable: that is the price of never storing them in clear."""
    query = query.strip()
    residents = scoping.visible(user, Resident.objects.select_related("household__building__compound__area"))
    households = scoping.visible(user, Household.objects.select_related("building__compound__area"))
    if not query:
        return {"residents": residents.none(), "households": households.none(), "by": ""}
    compact = query.replace(" ", "")
    phone = normalize_phone(compact)
    id_number = normalize_id_number(compact)
    if phone.isdigit() and len(phone) in (8, 11):
        return {
            "residents": residents.filter(phone_hash=crypto.lookup_hash("phone", phone)),
            "households": households.none(),
            "by": _("手机号"),
        }
    if len(id_number) == 18 and id_number[:17].isdigit():
        return {
            # exclude(""): lets SQLite use the partial unique index on the hash
            "residents": residents.exclude(id_number_hash="").filter(
                id_number_hash=crypto.lookup_hash("id_number", id_number)
            ),
            "households": households.none(),
            "by": _("身份证号"),
        }
    address = _address_q(compact)
    return {
        "residents": residents.filter(name__contains=query),
        "households": households.filter(address) if address is not None else households.none(),
        "by": _("姓名或地址"),
    }


def _address_q(text: str) -> Q | None:
    """Parse "常德路633弄5号302室" (any tail may be missing) into a household filter."""
    import re

    match = re.match(
        r"^(?P<road>[^\d]+?(?:路|街|弄堂|巷|里|坊|村))?(?P<lane>\d+)?(?:弄)?(?P<number>\d+)?(?:号)?"
        r"(?P<room>\d+)?(?:室)?$",
        text,
    )
    if not match or not any(match.groupdict().values()):
        return None
    parts = match.groupdict()
    q = Q()
    if parts["road"]:
        q &= Q(building__road__contains=parts["road"])
    elif not text.isdigit():
        return Q(building__road__contains=text) | Q(building__compound__name__contains=text)
    if parts["lane"] and "弄" in text:
        q &= Q(building__lane=parts["lane"])
        if parts["number"]:
            q &= Q(building__number=parts["number"])
    elif parts["lane"]:
        q &= Q(building__number=parts["lane"]) | Q(building__lane=parts["lane"]) | Q(room=parts["lane"])
    if parts["room"]:
        q &= Q(room=parts["room"])
    return q


@dataclass
class HistoryEntry:
    when: datetime
    who: str
    what: str
    subject: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    reason: str = ""


SENSITIVE = {"id_number", "phone"}
HIDDEN = {"id_number_hash", "phone_hash", "id", "household", "building"}


def household_history(household: Household) -> list[HistoryEntry]:
    """Who changed what and when, for the household and each of its residents, newest first. Identifiers show
    masked; hashes never show."""
    entries: list[HistoryEntry] = []
    records: list[Any] = list(household.history.select_related("history_user").order_by("history_date"))
    entries += _entries(records, str(_("户")))
    resident_records = (
        Resident.history.filter(household_id=household.pk)
        .select_related("history_user")
        .order_by("id", "history_date")
    )
    by_resident: dict[int, list[Any]] = {}
    for record in resident_records:
        by_resident.setdefault(record.id, []).append(record)
    for records in by_resident.values():
        entries += _entries(records, records[-1].name)
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries


# Lazy: the module is imported once, the label is read in each request's language.
KIND_LABELS = {"+": gettext_lazy("新建"), "~": gettext_lazy("修改"), "-": gettext_lazy("删除")}


# One save plus a tag change write several history rows a moment apart; they read as one change.
SAME_CHANGE_SECONDS = 5


def _entries(records: list[Any], subject: str) -> list[HistoryEntry]:
    groups: list[list[Any]] = []
    for record in records:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and record.history_type == "~"
            and record.history_user_id == last.history_user_id
            and (record.history_date - last.history_date).total_seconds() < SAME_CHANGE_SECONDS
        ):
            groups[-1].append(record)
        else:
            groups.append([record])
    out = []
    before = None
    for group in groups:
        first, last = group[0], group[-1]
        entry = HistoryEntry(
            when=last.history_date,
            who=first.history_user.display_name if first.history_user else str(_("系统导入")),
            what=str(KIND_LABELS.get(first.history_type, first.history_type)),
            subject=subject,
            reason=next((r.history_change_reason for r in group if r.history_change_reason), ""),
        )
        if before is not None and first.history_type == "~":
            for change in last.diff_against(before).changes:
                if change.field in HIDDEN:
                    continue
                model_field = last.instance._meta.get_field(change.field)
                label = str(model_field.verbose_name)
                entry.changes.append((label, _display(model_field, change.old), _display(model_field, change.new)))
        before = last
        if first.history_type == "~" and not entry.changes:
            continue
        out.append(entry)
    return out


def _display(model_field: Any, value: Any) -> str:
    """A history value as a user reads it: choice labels, tag names, masked identifiers, yes/no."""
    if isinstance(value, list):  # an m2m snapshot: a list of through-row dicts
        ids = [int(row["tag"]) for row in value if isinstance(row, dict) and row.get("tag")]
        return "、".join(Tag.objects.filter(pk__in=ids).values_list("name", flat=True)) or "—"
    if value in (None, ""):
        return "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    return str(value)

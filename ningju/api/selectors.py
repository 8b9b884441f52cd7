"""Reads for the API: the registry's querysets with the joins their serializers need, always scoped.

Each `<entity>_queryset()` is unscoped on purpose: a list passes it through `scoping.visible()`, a detail
through `scoping.get_for_user()` (which needs the unscoped set to tell "outside your scope" (403) from "does not
exist" (404)). Related rows come in with `select_related`/`prefetch_related`, so a page costs the same few
queries whatever its size.
"""

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.registry import selectors as registry_selectors
from ningju.registry.models import Building, Compound, Household, Resident, ResidentialArea, Tag


def areas(user: Any) -> "QuerySet[ResidentialArea]":
    return registry_selectors.areas_with_counts(user)


def area_detail(user: Any, pk: int) -> ResidentialArea:
    # The permission check first, on the plain table: areas_with_counts() is already scoped, so asking it alone
    # would answer 404 for an area that exists outside the user's scope, where every other endpoint says 403.
    scoping.get_for_user(user, ResidentialArea.objects.all(), pk=pk)
    return registry_selectors.areas_with_counts(user).get(pk=pk)


# Counting with GROUP BY drops the models' Meta.ordering, so each queryset orders itself again (the same order as
# the pages, ending in a unique key so pages never overlap).


def compound_queryset() -> "QuerySet[Compound]":
    return (
        Compound.objects.select_related("area")
        .annotate(
            building_count=Count("buildings", distinct=True),
            household_count=Count("buildings__households", distinct=True),
        )
        .order_by("area__code", "name", "pk")
    )


def compounds(user: Any, *, area: str | None = None) -> "QuerySet[Compound]":
    queryset = scoping.visible(user, compound_queryset())
    if area:
        queryset = queryset.filter(area__code=area)
    return queryset


def building_queryset() -> "QuerySet[Building]":
    return (
        Building.objects.select_related("compound__area")
        .annotate(household_count=Count("households"))
        .order_by("road", "lane", "number", "pk")
    )


def buildings(user: Any, *, compound: int | None = None) -> "QuerySet[Building]":
    queryset = scoping.visible(user, building_queryset())
    if compound:
        queryset = queryset.filter(compound_id=compound)
    return queryset


def household_queryset() -> "QuerySet[Household]":
    return (
        Household.objects.select_related("building__compound__area")
        .prefetch_related("tags")
        .annotate(resident_count=Count("residents", filter=Q(residents__active=True)))
        .order_by("building__road", "building__lane", "building__number", "room", "pk")
    )


def households(
    user: Any, *, area: str | None = None, building: int | None = None, tag: Tag | None = None
) -> "QuerySet[Household]":
    queryset = scoping.visible(user, household_queryset())
    if area:
        queryset = queryset.filter(building__compound__area__code=area)
    if building:
        queryset = queryset.filter(building_id=building)
    if tag is not None:
        # A household carries a tag when it does itself or one of its current residents does (an elderly
        # person living alone makes the household a must-visit one). EXISTS keeps each household once.
        own = Household.tags.through.objects.filter(household=OuterRef("pk"), tag=tag)
        residents = Resident.tags.through.objects.filter(
            resident__household=OuterRef("pk"), resident__active=True, tag=tag
        )
        queryset = queryset.filter(Exists(own) | Exists(residents))
    return queryset


def resident_queryset() -> "QuerySet[Resident]":
    return Resident.objects.prefetch_related("tags")


def residents(user: Any, *, household: int | None = None) -> "QuerySet[Resident]":
    queryset = scoping.visible(user, resident_queryset())
    if household:
        queryset = queryset.filter(household_id=household)
    return queryset


def tag_by_id_or_name(user: Any, value: str) -> Tag:
    """The tag a client named in a filter, by its number or its name, among the tags of the user's street. Tags
    are street-wide settings, not personal data, so an unknown one is reported rather than silently matching
    nothing."""
    value = value.strip()
    tags = scoping.visible(user, Tag.objects.all())
    if value.isdigit():
        tag = tags.filter(pk=int(value)).first() if int(value) <= scoping.MAX_ID else None
    else:
        tag = tags.filter(name=value).first()
    if tag is None:
        raise ApplicationError(_("没有这个标签：%(tag)s") % {"tag": value})
    return tag

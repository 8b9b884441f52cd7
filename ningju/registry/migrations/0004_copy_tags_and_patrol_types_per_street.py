"""Give every tag and patrol site type to a street: the first street takes the existing rows, every further street
gets a copy, and households, residents, patrol sites and visit rules are pointed at the copy of their own street.

On a database without a street (a fresh install: 0002 has just created the defaults globally) the rows are removed:
nobody owns them yet, and the defaults are copied in when a street is created (`ningju.registry.defaults`).

Reversing collapses the copies: for each name the oldest row is kept, every reference is pointed at it, and the
other copies are deleted (edits made to those copies are lost, since one installation-wide row cannot hold them).
"""

from collections import defaultdict
from typing import Any

from django.db import migrations

TAG_OWNERS = {
    # through model of the M2M → (name of the tag's owner field, path from that owner to its street)
    "household": "household__building__compound__area__street_id",
    "resident": "resident__household__building__compound__area__street_id",
}


def _copy(model: Any, first: int, others: list[int], fields: list[str]) -> dict[tuple[int, int], int]:
    """Assign unowned rows to `first`, copy them for `others`; returns (old pk, street) → pk of that street's row."""
    copies: dict[tuple[int, int], int] = {}
    for row in model.objects.filter(street__isnull=True).order_by("pk"):
        copies[(row.pk, first)] = row.pk
        for street in others:
            copy = model.objects.create(street_id=street, **{f: getattr(row, f) for f in fields})
            copies[(row.pk, street)] = copy.pk
    model.objects.filter(street__isnull=True).update(street_id=first)
    return copies


def _repoint(queryset: Any, field: str, street_path: str, target: dict[tuple[int, int], int]) -> None:
    """Point `field` of every row at the row that `target` gives for (current id, the row's street)."""
    moves: dict[tuple[int, int], list[int]] = defaultdict(list)
    for pk, current, street in queryset.values_list("pk", f"{field}_id", street_path):
        if current is not None and target.get((current, street), current) != current:
            moves[(current, target[(current, street)])].append(pk)
    for (_current, new), pks in moves.items():
        queryset.model.objects.filter(pk__in=pks).update(**{f"{field}_id": new})


def _remap_references(apps: Any, tags: dict[tuple[int, int], int], types: dict[tuple[int, int], int]) -> None:
    Household = apps.get_model("registry", "Household")
    Resident = apps.get_model("registry", "Resident")
    PatrolSite = apps.get_model("registry", "PatrolSite")
    VisitRule = apps.get_model("visits", "VisitRule")
    for owner, path in ((Household, TAG_OWNERS["household"]), (Resident, TAG_OWNERS["resident"])):
        through = owner.tags.through
        _repoint(through.objects.all(), "tag", path, tags)
    _repoint(PatrolSite.objects.all(), "site_type", "area__street_id", types)
    _repoint(VisitRule.objects.filter(tag__isnull=False), "tag", "street_id", tags)
    _repoint(VisitRule.objects.filter(patrol_type__isnull=False), "patrol_type", "street_id", types)


def forward(apps: Any, schema_editor: Any) -> None:
    Street = apps.get_model("registry", "Street")
    Tag = apps.get_model("registry", "Tag")
    PatrolSiteType = apps.get_model("registry", "PatrolSiteType")
    streets = list(Street.objects.order_by("pk").values_list("pk", flat=True))
    if not streets:
        Tag.objects.filter(street__isnull=True).delete()
        PatrolSiteType.objects.filter(street__isnull=True).delete()
        return
    first, others = streets[0], streets[1:]
    tags = _copy(Tag, first, others, ["name", "category", "high_risk", "description", "sort_order", "active"])
    types = _copy(PatrolSiteType, first, others, ["name", "must_patrol", "sort_order"])
    _remap_references(apps, tags, types)


def _collapse(model: Any) -> dict[tuple[int, int], int]:
    """For each name keep the oldest row; returns (pk, street) → kept pk for the rows to drop, deleting nothing."""
    keep: dict[str, int] = {}
    target: dict[tuple[int, int], int] = {}
    for pk, name, street in model.objects.order_by("pk").values_list("pk", "name", "street_id"):
        kept = keep.setdefault(name, pk)
        if kept != pk:
            target[(pk, street)] = kept
    return target


def backward(apps: Any, schema_editor: Any) -> None:
    Tag = apps.get_model("registry", "Tag")
    PatrolSiteType = apps.get_model("registry", "PatrolSiteType")
    tags, types = _collapse(Tag), _collapse(PatrolSiteType)
    # References are looked up by (their current id, their street): the dropped row's street is the referrer's.
    _remap_references(apps, tags, types)
    # Nothing refers to the copies any more. Deleted in SQL: the deletion collector cannot follow relations across
    # the historical models of a reverse migration.
    for model, dropped in ((Tag, tags), (PatrolSiteType, types)):
        for pk, _street in dropped:
            schema_editor.execute(
                f"DELETE FROM {schema_editor.quote_name(model._meta.db_table)} WHERE id = %s", [pk]
            )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_tag_patrol_type_street"),
        ("visits", "0002_visit_rule_partial_unique_constraints"),
    ]

    operations = [migrations.RunPython(forward, backward)]

"""Give every category to a street: the first street takes the existing taxonomy, every further street gets a copy
(same tree), and demands, suggestions and topic roll-ups are pointed at the copy of their own street. A category's
usual department becomes the department of the same name in the category's street (or none where it has none).

On a database without a street (a fresh install: 0003 has just created the defaults globally) the rows are removed:
nobody owns them yet, and the defaults are copied in when a street is created (`ningju.demands.defaults`).

Reversing collapses the copies: for each (parent name, name) the oldest row is kept, every reference is pointed at
it, and the other copies are deleted (edits made to those copies are lost, since one installation-wide row cannot
hold them).
"""

from collections import defaultdict
from typing import Any

from django.db import migrations


def _repoint(queryset: Any, field: str, street_path: str, target: dict[tuple[int, int], int]) -> None:
    """Point `field` of every row at the row that `target` gives for (current id, the row's street)."""
    moves: dict[tuple[int, int], list[int]] = defaultdict(list)
    for pk, current, street in queryset.values_list("pk", f"{field}_id", street_path):
        if current is not None and target.get((current, street), current) != current:
            moves[(current, target[(current, street)])].append(pk)
    for (_current, new), pks in moves.items():
        queryset.model.objects.filter(pk__in=pks).update(**{f"{field}_id": new})


def _remap_references(apps: Any, target: dict[tuple[int, int], int]) -> None:
    Demand = apps.get_model("demands", "Demand")
    Suggestion = apps.get_model("insights", "Suggestion")
    TopicRollup = apps.get_model("insights", "TopicRollup")
    _repoint(Demand.objects.all(), "category", "area__street_id", target)
    _repoint(Suggestion.objects.all(), "suggested", "demand__area__street_id", target)
    _repoint(Suggestion.objects.all(), "chosen", "demand__area__street_id", target)
    _repoint(TopicRollup.objects.all(), "category", "area__street_id", target)


def forward(apps: Any, schema_editor: Any) -> None:
    Street = apps.get_model("registry", "Street")
    Department = apps.get_model("registry", "Department")
    Category = apps.get_model("demands", "Category")
    streets = list(Street.objects.order_by("pk").values_list("pk", flat=True))
    if not streets:
        Category.objects.filter(parent__isnull=False).delete()
        Category.objects.all().delete()
        return
    departments = {
        (street, name): pk for pk, street, name in Department.objects.values_list("pk", "street_id", "name")
    }
    department_of = {
        pk: (street, name) for pk, street, name in Department.objects.values_list("pk", "street_id", "name")
    }
    originals = list(Category.objects.filter(street__isnull=True).order_by("parent_id", "pk"))
    originals.sort(key=lambda c: c.parent_id is not None)  # parents first, so a child finds its parent's copy
    target: dict[tuple[int, int], int] = {}
    for street in streets:
        for original in originals:
            own_street, name = department_of.get(original.default_department_id, (None, None))
            usual = original.default_department_id if own_street == street else departments.get((street, name))
            fields = {
                "street_id": street,
                "name": original.name,
                "active": original.active,
                "default_department_id": usual,
                "parent_id": target[(original.parent_id, street)] if original.parent_id else None,
            }
            if street == streets[0]:
                Category.objects.filter(pk=original.pk).update(**fields)
                target[(original.pk, street)] = original.pk
            else:
                target[(original.pk, street)] = Category.objects.create(**fields).pk
    _remap_references(apps, target)


def backward(apps: Any, schema_editor: Any) -> None:
    Category = apps.get_model("demands", "Category")
    keep: dict[tuple[str | None, str], int] = {}
    target: dict[tuple[int, int], int] = {}
    rows = Category.objects.order_by("pk").values_list("pk", "name", "parent__name", "street_id")
    for pk, name, parent_name, street in rows:
        kept = keep.setdefault((parent_name, name), pk)
        if kept != pk:
            target[(pk, street)] = kept
    _remap_references(apps, target)
    # A dropped parent's children are dropped too (their kept twin hangs under the kept parent).
    dropped = [pk for pk, _street in target]
    for (pk, _street), kept in target.items():  # a child added under a copy moves to the kept parent
        Category.objects.filter(parent_id=pk).exclude(pk__in=dropped).update(parent_id=kept)
    # Deleted in SQL: the deletion collector cannot follow relations across the historical models of a reverse
    # migration. Children first (a parent is protected while it has any).
    table = schema_editor.quote_name(Category._meta.db_table)
    children = set(Category.objects.filter(pk__in=dropped, parent__isnull=False).values_list("pk", flat=True))
    for pk in sorted(dropped, key=lambda pk: pk not in children):
        schema_editor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])


class Migration(migrations.Migration):
    dependencies = [
        ("demands", "0004_category_street"),
        ("insights", "0001_text_models_clusters_mechanisms_rollups"),
    ]

    operations = [migrations.RunPython(forward, backward)]

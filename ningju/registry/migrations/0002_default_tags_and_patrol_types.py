"""Install the default must-visit tags and must-patrol place types (see ningju/registry/defaults.py).

At this point tags and types belong to no street; 0004 gives them to the streets there are (or removes them where
there is none yet: a new street gets its own copy of the defaults). The loop is kept here, not imported, because
`ensure_defaults` now takes a street."""

from django.db import migrations

from ningju.registry.defaults import MUST_VISIT_TAGS, PATROL_TYPES


def add_defaults(apps, schema_editor):
    Tag = apps.get_model("registry", "Tag")
    PatrolSiteType = apps.get_model("registry", "PatrolSiteType")
    for order, (name, high_risk, description) in enumerate(MUST_VISIT_TAGS, start=1):
        Tag.objects.get_or_create(
            name=name,
            defaults={
                "category": "must_visit",
                "high_risk": high_risk,
                "description": description,
                "sort_order": order,
            },
        )
    for order, name in enumerate(PATROL_TYPES, start=1):
        PatrolSiteType.objects.get_or_create(name=name, defaults={"must_patrol": True, "sort_order": order})


def remove_defaults(apps, schema_editor):
    apps.get_model("registry", "Tag").objects.filter(name__in=[t[0] for t in MUST_VISIT_TAGS]).delete()
    apps.get_model("registry", "PatrolSiteType").objects.filter(name__in=PATROL_TYPES).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(add_defaults, remove_defaults)]

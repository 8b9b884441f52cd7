"""Install the default must-visit tags and must-patrol place types (see ningju/registry/defaults.py)."""

from django.db import migrations

from ningju.registry.defaults import MUST_VISIT_TAGS, PATROL_TYPES, ensure_defaults


def add_defaults(apps, schema_editor):
    ensure_defaults(apps.get_model("registry", "Tag"), apps.get_model("registry", "PatrolSiteType"))


def remove_defaults(apps, schema_editor):
    apps.get_model("registry", "Tag").objects.filter(name__in=[t[0] for t in MUST_VISIT_TAGS]).delete()
    apps.get_model("registry", "PatrolSiteType").objects.filter(name__in=PATROL_TYPES).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(add_defaults, remove_defaults)]

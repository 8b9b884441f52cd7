"""Install the default demand categories (ningju.demands.defaults.CATEGORIES); reversing leaves them, since demands
may already be filed under them.

At this point categories belong to no street; 0005 gives them to the streets there are (or removes them where there
is none yet: a new street gets its own copy). The loop is kept here, not imported, because `ensure_categories` now
takes a street."""

from typing import Any

from django.db import migrations

from ningju.demands.defaults import CATEGORIES


def install(apps: Any, schema_editor: Any) -> None:
    Category = apps.get_model("demands", "Category")
    for name, _department, children in CATEGORIES:
        parent, _created = Category.objects.get_or_create(name=name, parent=None)
        for child, _child_department in children:
            Category.objects.get_or_create(name=child, parent=parent)


class Migration(migrations.Migration):
    dependencies = [("demands", "0002_attachments_alerts_deadline_limits")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]

"""Install the default demand categories (ningju.demands.defaults.CATEGORIES); reversing leaves them, since demands
may already be filed under them."""

from typing import Any

from django.db import migrations

from ningju.demands.defaults import ensure_categories


def install(apps: Any, schema_editor: Any) -> None:
    ensure_categories(apps.get_model("demands", "Category"))


class Migration(migrations.Migration):
    dependencies = [("demands", "0002_attachments_alerts_deadline_limits")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]

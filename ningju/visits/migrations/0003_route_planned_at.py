"""Route.planned_at: when a route was (re)written, so that a visit logged since then shows its stop as done.
Existing routes take their plan's creation time (reversible: going back drops the column)."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def from_plans(apps, schema_editor):  # type: ignore[no-untyped-def]
    Route = apps.get_model("visits", "Route")
    Plan = apps.get_model("visits", "Plan")
    Route.objects.update(planned_at=Subquery(Plan.objects.filter(pk=OuterRef("plan_id")).values("created_at")[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0002_visit_rule_partial_unique_constraints"),
    ]

    operations = [
        migrations.AddField(
            model_name="route",
            name="planned_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="规划时间"),
        ),
        migrations.RunPython(from_plans, migrations.RunPython.noop),
    ]

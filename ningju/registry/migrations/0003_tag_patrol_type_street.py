"""Tags and patrol site types get an owning street (nullable for the copy that follows in 0004)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_default_tags_and_patrol_types")]

    operations = [
        migrations.AddField(
            model_name="tag",
            name="street",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tags",
                to="registry.street",
                verbose_name="街道",
            ),
        ),
        migrations.AddField(
            model_name="patrolsitetype",
            name="street",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="patrol_site_types",
                to="registry.street",
                verbose_name="街道",
            ),
        ),
        migrations.AlterField(
            model_name="tag",
            name="name",
            field=models.CharField(max_length=30, verbose_name="名称"),
        ),
        migrations.AlterField(
            model_name="patrolsitetype",
            name="name",
            field=models.CharField(max_length=30, verbose_name="名称"),
        ),
    ]

"""Every tag and patrol site type now has a street (0004): make it required, names unique within a street."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0004_copy_tags_and_patrol_types_per_street")]

    operations = [
        migrations.AlterField(
            model_name="tag",
            name="street",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tags",
                to="registry.street",
                verbose_name="街道",
            ),
        ),
        migrations.AlterField(
            model_name="patrolsitetype",
            name="street",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="patrol_site_types",
                to="registry.street",
                verbose_name="街道",
            ),
        ),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.UniqueConstraint(fields=("street", "name"), name="tag_unique_name_in_street"),
        ),
        migrations.AddConstraint(
            model_name="patrolsitetype",
            constraint=models.UniqueConstraint(
                fields=("street", "name"), name="patrol_site_type_unique_name_in_street"
            ),
        ),
    ]

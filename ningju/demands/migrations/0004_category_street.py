"""Categories get an owning street (nullable for the copy that follows in 0005)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("demands", "0003_default_categories"),
        ("registry", "0005_tag_patrol_type_street_required"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="street",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="categories",
                to="registry.street",
                verbose_name="街道",
            ),
        ),
        migrations.RemoveConstraint(model_name="category", name="category_unique_top_level"),
    ]

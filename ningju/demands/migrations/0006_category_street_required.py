"""Every category now has a street (0005): make it required, top-level names unique within a street."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("demands", "0005_copy_categories_per_street")]

    operations = [
        migrations.AlterField(
            model_name="category",
            name="street",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="categories",
                to="registry.street",
                verbose_name="街道",
            ),
        ),
        migrations.AddConstraint(
            model_name="category",
            constraint=models.UniqueConstraint(
                condition=models.Q(("parent__isnull", True)),
                fields=("street", "name"),
                name="category_unique_top_level_in_street",
            ),
        ),
    ]

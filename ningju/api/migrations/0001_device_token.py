"""Per-device API tokens (django-rest-knox, stored hashed); DRF's one permanent token per user is dropped."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# DRF's authtoken app is no longer installed: its table (one clear-text token per user, valid for ever) goes.
# Not restored on reversal: those tokens were the problem, and a client signs in again to get a new one.
DROP_DRF_TOKENS = "DROP TABLE IF EXISTS authtoken_token"


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DeviceToken",
            fields=[
                ("token_key", models.CharField(db_index=True, max_length=25)),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("expiry", models.DateTimeField(blank=True, null=True)),
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("digest", models.CharField(max_length=128, unique=True)),
                ("name", models.CharField(blank=True, max_length=64, verbose_name="设备名称")),
                ("last_used", models.DateTimeField(blank=True, null=True, verbose_name="最近使用")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="auth_token_set",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "设备令牌",
                "verbose_name_plural": "设备令牌",
                "ordering": ["-created"],
            },
        ),
        migrations.RunSQL(DROP_DRF_TOKENS, reverse_sql=migrations.RunSQL.noop),
    ]

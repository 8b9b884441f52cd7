"""Staff phone numbers (core_user.phone) encrypted at rest; the existing clear values are encrypted in place."""

from django.db import migrations

import ningju.core.fields
from ningju.core.rotation import decrypt_column, encrypt_column


def encrypt_staff_phones(apps, schema_editor):
    encrypt_column(schema_editor.connection, "core_user", "phone", kind="phone")


def decrypt_staff_phones(apps, schema_editor):
    # Reversible: with the field key at hand the clear numbers are written back for the CharField(20) of 0009.
    decrypt_column(schema_editor.connection, "core_user", "phone")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0009_accounts_audit_chain_and_actions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="phone",
            field=ningju.core.fields.EncryptedField(kind="phone", verbose_name="工作电话"),
        ),
        migrations.RunPython(encrypt_staff_phones, decrypt_staff_phones),
    ]

"""Compound contacts ("name mobile" of the owners' committee and the property company) encrypted at rest; the
existing clear values are encrypted in place."""

from django.db import migrations

import ningju.core.fields
from ningju.core.rotation import decrypt_column, encrypt_column

COLUMNS = ("owners_committee_contact", "property_contact")


def encrypt_contacts(apps, schema_editor):
    for column in COLUMNS:
        encrypt_column(schema_editor.connection, "registry_compound", column, kind="contact")


def decrypt_contacts(apps, schema_editor):
    # Reversible with the field key at hand; a contact longer than the old CharField(50) would not fit back.
    for column in COLUMNS:
        decrypt_column(schema_editor.connection, "registry_compound", column)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_tag_patrol_type_street_required"),
    ]

    operations = [
        migrations.AlterField(
            model_name="compound",
            name="owners_committee_contact",
            field=ningju.core.fields.EncryptedField(kind="contact", verbose_name="业委会联系人"),
        ),
        migrations.AlterField(
            model_name="compound",
            name="property_contact",
            field=ningju.core.fields.EncryptedField(kind="contact", verbose_name="物业联系人"),
        ),
        migrations.RunPython(encrypt_contacts, decrypt_contacts),
    ]

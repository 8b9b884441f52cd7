"""Field-key rotation: re-encrypt every encrypted column (history tables included) under the first key, in
resumable batches, and check that an old key is no longer needed before it is retired."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ningju.core import crypto
from ningju.core.fields import EncryptedField, SensitiveValue
from ningju.core.identifiers import NORMALIZERS

BATCH_SIZE = 1000
FERNET_PREFIX = "gAAAAA"  # every Fernet token starts with the version byte and a timestamp: base64 "gAAAAA…"

Progress = Callable[[str], None]


def encrypted_columns() -> Iterator[tuple[type[models.Model], list[EncryptedField]]]:
    """Every model with encrypted columns, django-simple-history's historical models included (they store the
    same ciphertext as the rows they copy)."""
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
        if fields:
            yield model, fields


def _stored(value: Any) -> str:
    return value.token() if isinstance(value, SensitiveValue) else (value or "")


def _batches(model: type[models.Model], names: list[str], batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    """(pk, *ciphertexts) rows in primary-key order, a batch at a time (keyset paging: no OFFSET scans)."""
    pk_name = model._meta.pk.attname
    last: Any = None
    while True:
        rows = model._base_manager.order_by(pk_name)
        if last is not None:
            rows = rows.filter(**{f"{pk_name}__gt": last})
        batch = [(row[0], *map(_stored, row[1:])) for row in rows.values_list(pk_name, *names)[:batch_size]]
        if not batch:
            return
        yield batch
        last = batch[-1][0]


@dataclass
class RotationReport:
    rows_seen: int = 0
    values_rotated: int = 0
    values_current: int = 0
    per_model: dict[str, int] = field(default_factory=dict)


def reencrypt_all(*, batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> RotationReport:
    """Re-encrypt every value not yet under the first field key. One transaction per batch, so a crash loses at
    most one batch, and a re-run skips what is already done (a value the first key alone decrypts). Look-up hashes
    are untouched: they use NINGJU_LOOKUP_KEY, not a field key."""
    report = RotationReport()
    for model, fields in encrypted_columns():
        label = model._meta.label
        names = [f.attname for f in fields]
        kinds = {f.attname: f.kind for f in fields}
        total = model._base_manager.count()
        done = rotated_here = 0
        for batch in _batches(model, names, batch_size):
            with transaction.atomic():
                for pk, *tokens in batch:
                    changes: dict[str, SensitiveValue] = {}
                    for name, token in zip(names, tokens, strict=True):
                        if not token:
                            continue
                        if crypto.under_primary_key(token):
                            report.values_current += 1
                            continue
                        changes[name] = SensitiveValue(kinds[name], token=crypto.rotate(token))
                    if changes:
                        # update(): no save() signals, so no history row and no recomputed hash for a rotation.
                        model._base_manager.filter(pk=pk).update(**changes)
                        rotated_here += len(changes)
            done += len(batch)
            if progress:
                progress(f"{label}: {done}/{total}")
        report.rows_seen += done
        report.values_rotated += rotated_here
        report.per_model[label] = rotated_here
    return report


def values_needing(key: str, *, batch_size: int = BATCH_SIZE) -> int:
    """How many stored values only `key` (not the first key) can decrypt: retiring it would lose them."""
    needing = 0
    for model, fields in encrypted_columns():
        names = [f.attname for f in fields]
        for batch in _batches(model, names, batch_size):
            for _pk, *tokens in batch:
                needing += sum(
                    1 for t in tokens if t and not crypto.under_primary_key(t) and crypto.readable_by(t, key)
                )
    return needing


def field_key_file() -> Path:
    return Path(settings.VAR_DIR) / "ningju_field_key"


def keys_from_file() -> bool:
    """Are the field keys the local run's var/ file (which this command may rewrite), not the environment's?"""
    import os

    return not settings.PRODUCTION and not os.environ.get("NINGJU_FIELD_KEY")


def use_keys(keys: list[str]) -> None:
    """Make this process encrypt with keys[0] and decrypt with all (the web processes pick it up on restart)."""
    settings.NINGJU_FIELD_KEYS = keys
    crypto.reset_caches()


def write_key_file(keys: list[str]) -> None:
    path = field_key_file()
    path.write_text(",".join(keys))
    path.chmod(0o600)


def new_field_key() -> str:
    return Fernet.generate_key().decode()


# --- migrations: clear text ↔ ciphertext in place --------------------------------------------------------------


def encrypt_column(connection: BaseDatabaseWrapper, table: str, column: str, *, kind: str) -> int:
    """Encrypt the clear values of one column in place (a value already a Fernet token is left alone, so a
    half-applied migration can run again). Raw SQL: the model's field already reads ciphertext."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {quote(column)} FROM {quote(table)}")  # names come from the migration
        rows = [(pk, value) for pk, value in cursor.fetchall() if value and not value.startswith(FERNET_PREFIX)]
        for pk, value in rows:
            normalized = NORMALIZERS[kind](value)
            cursor.execute(
                f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE id = %s",
                [crypto.encrypt(normalized) if normalized else "", pk],
            )
    return len(rows)


def decrypt_column(connection: BaseDatabaseWrapper, table: str, column: str) -> int:
    """The reverse of `encrypt_column` (needs the field key that encrypted the values)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {quote(column)} FROM {quote(table)}")
        rows = [(pk, value) for pk, value in cursor.fetchall() if value and value.startswith(FERNET_PREFIX)]
        for pk, value in rows:
            cursor.execute(
                f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE id = %s", [crypto.decrypt(value), pk]
            )
    return len(rows)

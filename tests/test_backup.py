"""Backups: `ningju backup` writes a consistent copy with a manifest (and the keys only when asked); `ningju restore`
brings it back into an empty database elsewhere with every row and refuses a backup whose key it does not hold."""

import json
import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from ningju.core.backup import backup_create, backup_prune, key_fingerprint
from ningju.core.models import AuditAction, AuditEntry
from ningju.registry.models import Resident
from tests.conftest import World

ROOT = Path(__file__).resolve().parent.parent

REPORT = """
import json
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from ningju.registry.models import Resident
with connection.cursor() as cursor:
    tables = connection.introspection.table_names(cursor)
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
print(json.dumps({"counts": counts, "id_number": Resident.objects.get(pk=%d).id_number.reveal()}))
"""


def ningju(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `ningju` command in another process, with its own database and var/ (another machine, in effect)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NINGJU_", "DATABASE_URL", "PYTEST"))}
    return subprocess.run(
        [sys.executable, "-m", "ningju", *args],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def last_json(output: str) -> Any:
    return json.loads([line for line in output.splitlines() if line.startswith("{")][-1])


def make_backup(tmp_path: Path, *flags: str) -> Path:
    call_command("backup", "--dir", str(tmp_path / "backups"), *flags)
    (folder,) = (tmp_path / "backups").iterdir()
    return folder


@pytest.mark.django_db(transaction=True)
def test_a_backup_holds_a_consistent_copy_and_its_manifest(world: World, tmp_path: Path) -> None:
    folder = make_backup(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())

    assert manifest["engine"] == connection.vendor
    assert manifest["row_counts"]["registry_resident"] == Resident.objects.count() == 2
    applied = MigrationRecorder(connection).applied_migrations()
    assert manifest["migrations"]["core"] == sorted(name for app, name in applied if app == "core")
    assert manifest["keys"]["field_keys"] == [key_fingerprint(k) for k in settings.NINGJU_FIELD_KEYS]
    assert settings.NINGJU_FIELD_KEYS[0] not in (folder / "manifest.json").read_text()
    assert not (folder / "keys").exists()
    assert AuditEntry.objects.filter(action=AuditAction.BACKUP, target_id=folder.name).exists()


@pytest.mark.django_db(transaction=True)
def test_keys_are_written_apart_and_private_only_when_asked(world: World, tmp_path: Path) -> None:
    folder = make_backup(tmp_path, "--with-keys")
    keys = folder / "keys"

    assert (keys / "ningju_field_key").read_text() == ",".join(settings.NINGJU_FIELD_KEYS)
    assert (keys / "ningju_secret_key").exists()
    for key_file in keys.iterdir():
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700


@pytest.mark.django_db(transaction=True)
def test_restore_into_an_empty_database_elsewhere_reproduces_every_row(world: World, tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL variant is test_restore_on_postgresql")
    folder = make_backup(tmp_path, "--with-keys")
    manifest = json.loads((folder / "manifest.json").read_text())
    elsewhere = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}",
        "NINGJU_VAR_DIR": str(tmp_path / "var-elsewhere"),
    }

    restored = ningju(["restore", str(folder), "--keys"], elsewhere)
    report = ningju(["shell", "-c", REPORT % world.resident.pk], elsewhere)

    assert restored.returncode == 0, restored.stderr
    assert "恢复完成" in restored.stdout
    assert report.returncode == 0, report.stderr
    found = last_json(report.stdout)
    for table, count in manifest["row_counts"].items():
        expected = count + 1 if table == "core_auditentry" else count  # the restore is audited
        assert found["counts"][table] == expected, table
    assert len(manifest["row_counts"]) > 40
    assert found["id_number"] == "310106194503071228"


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_backup_made_with_another_key(world: World, tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("runs the restore in a SQLite process")
    folder = make_backup(tmp_path)  # no keys: the other machine has its own, freshly made
    elsewhere = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}",
        "NINGJU_VAR_DIR": str(tmp_path / "var-elsewhere"),
    }

    refused = ningju(["restore", str(folder)], elsewhere)

    assert refused.returncode != 0
    assert "密钥与备份不符" in refused.stderr
    assert not (tmp_path / "elsewhere.sqlite3").exists() or (tmp_path / "elsewhere.sqlite3").stat().st_size < 8192


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_corrupted_backup(world: World, tmp_path: Path) -> None:
    folder = make_backup(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    with (folder / manifest["database_file"]).open("ab") as dump:
        dump.write(b"x")

    with pytest.raises(CommandError, match="校验和"):
        call_command("restore", str(folder), "--force")


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_to_overwrite_a_database_with_data(world: World, tmp_path: Path) -> None:
    folder = make_backup(tmp_path)

    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(folder))
    assert Resident.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_restore_with_force_brings_back_deleted_rows(world: World, tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("restoring over the PostgreSQL test database would drop it under other tests")
    folder = make_backup(tmp_path)
    Resident.objects.filter(pk=world.other_resident.pk).delete()

    call_command("restore", str(folder), "--force")

    assert Resident.objects.count() == 2
    assert AuditEntry.objects.filter(action=AuditAction.RESTORE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_daily_task_backs_up_and_keeps_only_the_configured_days(
    world: World, tmp_path: Path, settings: Any
) -> None:
    from ningju.core.tasks import backup_task

    settings.NINGJU_BACKUP_DIR = str(tmp_path / "daily")
    settings.NINGJU_BACKUP_KEEP_DAYS = 14
    old = backup_create(target_dir=tmp_path / "daily").folder
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["created_at"] = (timezone.now() - timedelta(days=15)).isoformat()
    (old / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "daily" / "unrelated").mkdir()

    backup_task.call_local()

    names = sorted(path.name for path in (tmp_path / "daily").iterdir())
    assert old.name not in names
    assert len(names) == 2 and "unrelated" in names


@pytest.mark.django_db(transaction=True)
def test_no_backup_directory_means_no_daily_backup(world: World, settings: Any, tmp_path: Path) -> None:
    from ningju.core.tasks import backup_task

    settings.NINGJU_BACKUP_DIR = ""
    backup_task.call_local()

    assert not AuditEntry.objects.filter(action=AuditAction.BACKUP).exists()
    assert backup_prune(target_dir=tmp_path, keep_days=1) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_restore_on_postgresql(world: World, tmp_path: Path) -> None:
    """Backs up the PostgreSQL test database and restores it into a second database name in another process."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    folder = make_backup(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    db = connection.settings_dict
    second = f"{db['NAME']}_restore"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{second}"')
        cursor.execute(f'CREATE DATABASE "{second}"')
    try:
        auth = f"{db['USER']}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{db['USER']}@"
        elsewhere = {
            "DATABASE_URL": f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{second}",
            "NINGJU_VAR_DIR": str(tmp_path / "var-elsewhere"),
        }
        (tmp_path / "var-elsewhere").mkdir()
        for name in ("ningju_field_key", "ningju_secret_key", "ningju_lookup_key"):
            source = Path(settings.VAR_DIR) / name
            if source.exists():
                (tmp_path / "var-elsewhere" / name).write_text(source.read_text())
        for name, value in (
            ("ningju_field_key", ",".join(settings.NINGJU_FIELD_KEYS)),
            ("ningju_lookup_key", settings.NINGJU_LOOKUP_KEY),
        ):
            (tmp_path / "var-elsewhere" / name).write_text(value)

        restored = ningju(["restore", str(folder)], elsewhere)
        report = ningju(["shell", "-c", REPORT % world.resident.pk], elsewhere)

        assert restored.returncode == 0, restored.stderr
        assert report.returncode == 0, report.stderr
        found = last_json(report.stdout)
        for table, count in manifest["row_counts"].items():
            expected = count + 1 if table == "core_auditentry" else count
            assert found["counts"][table] == expected, table
        assert found["id_number"] == "310106194503071228"
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{second}"')

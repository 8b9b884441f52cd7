"""Backups and restores of the database: a consistent copy, a manifest that proves what it holds, and the keys apart.

A backup is a folder `ningju-YYYYmmdd-HHMMSS/` holding the database copy (SQLite's online backup API, safe while
the web and task workers write in WAL mode; `pg_dump -Fc` on PostgreSQL, in one snapshot with the row counts),
`manifest.json` (engine, migration state, row count per table, SHA-256 of the copy, fingerprints of the keys, the
audit chain's head) and, only when asked, `keys/` with the key files (0600). Without the field key the encrypted
columns of a backup are unreadable, so a restore refuses a database whose key the running configuration lacks.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction

MANIFEST = "manifest.json"
KEYS_DIR = "keys"
KEY_FILES = ("ningju_field_key", "ningju_secret_key", "ningju_lookup_key")
FORMAT = 1
PREFIX = "ningju-"


def key_fingerprint(key: str) -> str:
    """A hash that tells keys apart without revealing them (salted, so it matches no other use of the key)."""
    return hashlib.sha256(b"ningju-key-fingerprint:" + key.strip().encode()).hexdigest()[:32]


def current_fingerprints() -> dict[str, Any]:
    lookup = getattr(settings, "NINGJU_LOOKUP_KEY", "") or ""
    return {
        "field_keys": [key_fingerprint(key) for key in settings.NINGJU_FIELD_KEYS],
        "lookup_key": key_fingerprint(lookup) if lookup else "",
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _engine() -> str:
    return str(connection.vendor)


def _pg_args() -> tuple[list[str], dict[str, str]]:
    db = connection.settings_dict
    args = []
    for flag, key in (("-h", "HOST"), ("-p", "PORT"), ("-U", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _state(query: Callable[[str], list[tuple[Any, ...]]], tables: list[str]) -> dict[str, Any]:
    """Migration state and row counts, through `query` (one cursor, one consistent view of the database)."""
    migrations: dict[str, list[str]] = {}
    for app, name in query("SELECT app, name FROM django_migrations ORDER BY app, name"):
        migrations.setdefault(app, []).append(name)
    counts = {table: int(query(f'SELECT COUNT(*) FROM "{table}"')[0][0]) for table in sorted(tables)}
    head = query("SELECT row_hash FROM core_auditentry ORDER BY id DESC LIMIT 1")
    return {"migrations": migrations, "row_counts": counts, "audit_head": head[0][0] if head else ""}


def _sqlite_tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return [row[0] for row in rows]


def _sqlite_state(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(path)
    try:
        return _state(lambda sql: db.execute(sql).fetchall(), _sqlite_tables(db))
    finally:
        db.close()


def _live_state() -> dict[str, Any]:
    with connection.cursor() as cursor:

        def query(sql: str) -> list[tuple[Any, ...]]:
            cursor.execute(sql)
            return list(cursor.fetchall())

        return _state(query, connection.introspection.table_names(cursor))


def _dump_sqlite(target: Path) -> dict[str, Any]:
    source = sqlite3.connect(str(connection.settings_dict["NAME"]))
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # the online backup API: a consistent copy while others write
    finally:
        copy.close()
        source.close()
    return _sqlite_state(target)


def _dump_postgresql(target: Path) -> dict[str, Any]:
    args, env = _pg_args()
    # The row counts and pg_dump read one snapshot, so that the manifest describes exactly what the dump holds.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        state = _live_state()
        command = ["pg_dump", "-Fc", f"--snapshot={snapshot}", "-f", str(target), *args]
        command.append(str(connection.settings_dict["NAME"]))
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ApplicationError(_("pg_dump 失败：%(error)s") % {"error": result.stderr.strip()[-500:]})
    return state


@dataclass
class BackupResult:
    folder: Path
    manifest: dict[str, Any]
    seconds: float


def backup_create(*, target_dir: Path, with_keys: bool = False, user: Any = None) -> BackupResult:
    """Write a backup folder under `target_dir`; the key files go into its `keys/` only when `with_keys`."""
    started = timezone.now()
    clock = time.perf_counter()
    engine = _engine()
    if engine not in ("sqlite", "postgresql"):
        raise ApplicationError(_("不支持备份此类数据库：%(engine)s") % {"engine": engine})
    target_dir.mkdir(parents=True, exist_ok=True)
    folder = target_dir / f"{PREFIX}{timezone.localtime(started):%Y%m%d-%H%M%S-%f}"
    folder.mkdir(mode=0o700)
    dump = folder / ("database.sqlite3" if engine == "sqlite" else "database.dump")
    state = _dump_sqlite(dump) if engine == "sqlite" else _dump_postgresql(dump)
    os.chmod(dump, 0o600)
    manifest = {
        "format": FORMAT,
        "created_at": started.isoformat(),
        "engine": engine,
        "database_file": dump.name,
        "size": dump.stat().st_size,
        "sha256": file_sha256(dump),
        **state,
        "keys": current_fingerprints(),
        "keys_included": with_keys,
    }
    if with_keys:
        keys = folder / KEYS_DIR
        keys.mkdir(mode=0o700)
        for name in KEY_FILES:
            value = _current_key_text(name)
            if value:
                path = keys / name
                path.touch(mode=0o600)
                path.write_text(value)
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    seconds = time.perf_counter() - clock
    audit(
        user=user,
        action=AuditAction.BACKUP,
        target_type="backup",
        target_id=folder.name[:50],
        detail={"engine": engine, "size": manifest["size"], "sha256": manifest["sha256"], "keys": with_keys},
    )
    return BackupResult(folder, manifest, seconds)


def _current_key_text(name: str) -> str:
    """The key the running configuration uses (from the environment or var/), as the key file holds it."""
    setting = {
        "ningju_field_key": ",".join(settings.NINGJU_FIELD_KEYS),
        "ningju_secret_key": settings.SECRET_KEY,
        "ningju_lookup_key": getattr(settings, "NINGJU_LOOKUP_KEY", "") or "",
    }[name]
    return setting


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise ApplicationError(
            _("不是有效的备份：无法读取 %(path)s（%(error)s）") % {"path": folder / MANIFEST, "error": error}
        ) from error
    if manifest.get("format") != FORMAT:
        raise ApplicationError(_("备份格式不受支持。"))
    return manifest


def _backup_fingerprints(folder: Path) -> dict[str, Any]:
    keys = folder / KEYS_DIR
    field = (keys / "ningju_field_key").read_text() if (keys / "ningju_field_key").exists() else ""
    lookup = (keys / "ningju_lookup_key").read_text() if (keys / "ningju_lookup_key").exists() else ""
    return {
        "field_keys": [key_fingerprint(key) for key in field.split(",") if key.strip()],
        "lookup_key": key_fingerprint(lookup) if lookup else "",
    }


def _keys_match(have: dict[str, Any], need: dict[str, Any]) -> bool:
    """`have` can read what was written with `need`: it holds the backup's primary field key and its look-up key."""
    primary = (need.get("field_keys") or [""])[0]
    lookup_ok = not need.get("lookup_key") or have.get("lookup_key") == need["lookup_key"]
    return primary in have.get("field_keys", []) and lookup_ok


def _database_is_empty() -> bool:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if "django_migrations" not in tables:
            return True
        for table in tables:
            cursor.execute(f'SELECT 1 FROM "{table}" LIMIT 1')
            if cursor.fetchone() is not None and table != "django_migrations":
                return False
    return True


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    row_counts: dict[str, int]
    mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)
    keys_installed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def backup_restore(
    *, folder: Path, use_backup_keys: bool = False, force: bool = False, user: Any = None
) -> RestoreResult:
    """Check the manifest, then restore the backup in `folder` into the configured database and compare row counts."""
    clock = time.perf_counter()
    manifest = read_manifest(folder)
    dump = folder / str(manifest["database_file"])
    if not dump.is_file() or file_sha256(dump) != manifest["sha256"]:
        raise ApplicationError(_("备份文件已损坏或不完整：校验和与清单不符。"))
    if manifest["engine"] != _engine():
        raise ApplicationError(
            _("备份来自 %(backup)s 数据库，当前配置的是 %(current)s。")
            % {"backup": manifest["engine"], "current": _engine()}
        )
    installed: list[str] = []
    if use_backup_keys:
        if not _keys_match(_backup_fingerprints(folder), manifest["keys"]):
            raise ApplicationError(_("备份中没有与清单相符的密钥文件（备份时需加 --with-keys）。"))
    elif not _keys_match(current_fingerprints(), manifest["keys"]):
        raise ApplicationError(
            _(
                "当前配置的字段密钥或查找密钥与备份不符：恢复后加密的身份证号和电话将无法读取。"
                "请配置备份时的密钥，或使用 --keys 从备份中恢复密钥。"
            )
        )
    if not force and not _database_is_empty():
        raise ApplicationError(_("目标数据库不是空的；如确要覆盖，请加 --force。"))

    connection.close()
    if manifest["engine"] == "sqlite":
        source = sqlite3.connect(dump)
        target = sqlite3.connect(str(connection.settings_dict["NAME"]))
        try:
            source.backup(target)  # page by page into the live file, through its own journal: no stale WAL
        finally:
            target.close()
            source.close()
    else:
        args, env = _pg_args()
        command = [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "-d",
            str(connection.settings_dict["NAME"]),
        ]
        result = subprocess.run([*command, *args, str(dump)], env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ApplicationError(_("pg_restore 失败：%(error)s") % {"error": result.stderr.strip()[-500:]})
    if use_backup_keys:
        installed = _install_keys(folder)

    counts = _live_state()["row_counts"]
    expected: dict[str, int] = manifest["row_counts"]
    mismatches = {
        table: (count, counts.get(table, -1)) for table, count in expected.items() if counts.get(table) != count
    }
    audit(
        user=user,
        action=AuditAction.RESTORE,
        target_type="backup",
        target_id=folder.name[:50],
        detail={"sha256": manifest["sha256"], "mismatches": sorted(mismatches), "keys": installed},
    )
    return RestoreResult(manifest, counts, mismatches, installed, time.perf_counter() - clock)


def _install_keys(folder: Path) -> list[str]:
    """Copy the backup's key files into var/ (0600). The running process keeps its keys until it restarts."""
    installed = []
    for name in KEY_FILES:
        source = folder / KEYS_DIR / name
        if source.exists():
            target = Path(settings.VAR_DIR) / name
            target.touch(mode=0o600)
            os.chmod(target, 0o600)
            shutil.copyfile(source, target)
            installed.append(name)
    return installed


def backup_prune(*, target_dir: Path, keep_days: int, now: datetime | None = None) -> list[str]:
    """Delete the backup folders in `target_dir` older than `keep_days` days (by the time in their manifest)."""
    cutoff = (now or timezone.now()) - timedelta(days=keep_days)
    removed = []
    for folder in sorted(target_dir.glob(f"{PREFIX}*")):
        try:
            created = datetime.fromisoformat(read_manifest(folder)["created_at"])
        except ApplicationError:
            continue  # not ours, or half-written: never delete what we cannot date
        if created < cutoff:
            shutil.rmtree(folder)
            removed.append(folder.name)
    return removed

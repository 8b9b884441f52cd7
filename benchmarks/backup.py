"""Benchmark `ningju backup` and `ningju restore`: time and size for the demo street, on SQLite (and PostgreSQL).

    .venv/bin/python benchmarks/backup.py                          # build the demo street in a temp var/ first
    .venv/bin/python benchmarks/backup.py --var /tmp/ningju-demo   # reuse a var/ that already holds it
    .venv/bin/python benchmarks/backup.py --postgres postgres://postgres@127.0.0.1:5432/ningju_i5

Each command runs as a subprocess, as an operator would run it. The restore goes into an empty database elsewhere
(a second SQLite file; a second PostgreSQL database, `<name>_restore`) with the same key files, and must reproduce
every table's row count. With --postgres the demo street is built in that database first (unless --no-build).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
KEYS = ("ningju_field_key", "ningju_secret_key", "ningju_lookup_key")


def ningju(env: dict[str, str], *args: str) -> float:
    began = time.monotonic()
    subprocess.run([str(ROOT / ".venv" / "bin" / "ningju"), *args], check=True, env={**os.environ, **env})
    return time.monotonic() - began


def measure(label: str, source: dict[str, str], target: dict[str, str], backups: Path) -> None:
    backup_s = ningju(source, "backup", "--dir", str(backups))
    folder = sorted(backups.iterdir())[-1]
    manifest = json.loads((folder / "manifest.json").read_text())
    restore_s = ningju(target, "restore", str(folder), "--force")
    rows = sum(manifest["row_counts"].values())
    print(
        f"{label}: backup {backup_s:.1f} s, restore {restore_s:.1f} s (wall clock of each command, Django start-up included; their own timings are printed above), "
        f"dump {manifest['size'] / 1e6:.1f} MB, {len(manifest['row_counts'])} tables, {rows} rows"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", help="a var/ folder that already holds the demo street (SQLite)")
    parser.add_argument("--households", type=int, default=0, help="households for `ningju demo` (0: its default)")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database (built with `ningju demo`)")
    parser.add_argument("--no-build", action="store_true", help="with --postgres: the database already holds it")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ningju-backup-bench-"))
    var = Path(options.var) if options.var else work / "var"
    source = {"NINGJU_VAR_DIR": str(var), "DATABASE_URL": f"sqlite:///{var / 'ningju.sqlite3'}"}
    demo_args = ["demo", *(["--households", str(options.households)] if options.households else [])]
    if not options.var:
        var.mkdir()
        ningju(source, "migrate", "--no-input", "-v", "0")
        print(f"ningju demo (SQLite): {ningju(source, *demo_args):.0f} s")
    elsewhere = work / "var-elsewhere"
    elsewhere.mkdir()
    for name in KEYS:
        if (var / name).exists():
            shutil.copy2(var / name, elsewhere / name)
    target = {"NINGJU_VAR_DIR": str(elsewhere), "DATABASE_URL": f"sqlite:///{elsewhere / 'ningju.sqlite3'}"}
    measure("SQLite", source, target, work / "backups-sqlite")

    if options.postgres:
        pg_source = {"NINGJU_VAR_DIR": str(var), "DATABASE_URL": options.postgres}
        if not options.no_build:
            ningju(pg_source, "migrate", "--no-input", "-v", "0")
            print(f"ningju demo (PostgreSQL): {ningju(pg_source, *demo_args):.0f} s")
        url = urlparse(options.postgres)
        second = f"{url.path.lstrip('/')}_restore"
        admin = [f"--host={url.hostname}", f"--port={url.port or 5432}", f"--username={url.username}"]
        subprocess.run(["dropdb", "--if-exists", *admin, second], check=True)
        subprocess.run(["createdb", *admin, second], check=True)
        pg_target = {"NINGJU_VAR_DIR": str(elsewhere), "DATABASE_URL": url._replace(path=f"/{second}").geturl()}
        measure("PostgreSQL", pg_source, pg_target, work / "backups-postgres")
        subprocess.run(["dropdb", "--if-exists", *admin, second], check=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

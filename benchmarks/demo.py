"""Benchmark `ningju demo`: build the demo street into a fresh database and print time, memory, rows and size.

    .venv/bin/python benchmarks/demo.py                       # default size, fresh SQLite file in a temp dir
    .venv/bin/python benchmarks/demo.py --households 200000
    .venv/bin/python benchmarks/demo.py --database-url postgres://postgres@127.0.0.1:5432/postgres

With --database-url the benchmark creates a fresh database next to the one named (ningju_bench_<pid>), builds
into it, prints pg_database_size and drops it again (unless --keep).
"""

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--database-url", default="", help="a PostgreSQL URL; a fresh database is made beside it")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="ningju-bench-")
    os.environ["NINGJU_VAR_DIR"] = var_dir  # fresh keys and, without --database-url, a fresh SQLite file
    fresh_pg = ""
    if args.database_url:
        fresh_pg = f"ningju_bench_{os.getpid()}"
        os.environ["DATABASE_URL"] = _create_pg_database(args.database_url, fresh_pg)
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ningju.settings")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ningju.registry.demo import DEFAULT_SEED, demo_build

    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        migrate_seconds = time.perf_counter() - started
        rss_before = _peak_rss_mb()
        result = demo_build(households=args.households, seed=args.seed if args.seed is not None else DEFAULT_SEED)
        print(f"database:       {connection.vendor} {connection.settings_dict['NAME']}")
        print(f"households:     {args.households:,} requested")
        print(f"migrate:        {migrate_seconds:.1f} s")
        print(f"demo build:     {result.seconds:.1f} s wall")
        print(
            f"peak memory:    {_peak_rss_mb():.0f} MB (process peak; {rss_before:.0f} MB after setup and migrate)"
        )
        print("rows:           " + ", ".join(f"{key} {value:,}" for key, value in result.counts.items()))
        print("tags:           " + ", ".join(f"{key} {value:,}" for key, value in result.tag_counts.items()))
        with connection.cursor() as cursor:
            for table in ("registry_historicalhousehold", "registry_historicalresident"):
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                print(f"{table}: {cursor.fetchone()[0]:,} rows")
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_database_size(current_database())")
                print(f"database size:  {cursor.fetchone()[0] / 2**20:.1f} MB (pg_database_size)")
            else:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                path = Path(connection.settings_dict["NAME"])
                size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
                print(f"database size:  {size / 2**20:.1f} MB ({path})")
    finally:
        connection.close()
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)
            if fresh_pg:
                _drop_pg_database(args.database_url, fresh_pg)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _admin_connection(url: str) -> Any:
    import dj_database_url
    import psycopg

    params = dj_database_url.parse(url)
    return psycopg.connect(
        dbname=params["NAME"] or "postgres",
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        autocommit=True,
    )


def _create_pg_database(url: str, name: str) -> str:
    with _admin_connection(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _sep, _old = url.rpartition("/")
    return f"{base}/{name}"


def _drop_pg_database(url: str, name: str) -> None:
    with _admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()

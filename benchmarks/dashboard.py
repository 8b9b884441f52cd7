"""Benchmark the dashboard page: latency per level (street, area, cadre) on an existing database, or on a big street
built first.

    NINGJU_VAR_DIR=/tmp/demo_copy .venv/bin/python benchmarks/dashboard.py            # the demo street as it is
    .venv/bin/python benchmarks/dashboard.py --build-households 200000                # build into a temp dir first

It measures in-process through Django's test client (no network, no server): for each level the first request after
the cache was emptied (cold: every figure computed), requests with the cache emptied before each one (uncached: the
rollups, coverage and the live parts computed each time) and requests answered from the cache (warm: what a user
sees between two rollup refreshes). Prints p50 and p95 in milliseconds. Building runs `ningju demo` and
`ningju rollup` and prints how long each took.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
ROOT = Path(__file__).resolve().parent.parent


def _ningju(*args: str) -> float:
    began = time.monotonic()
    subprocess.run([str(ROOT / ".venv" / "bin" / "ningju"), *args], check=True, env=os.environ.copy())
    return time.monotonic() - began


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-households", type=int, default=0, help="build a street of this size first")
    parser.add_argument("--requests", type=int, default=30, help="warm requests per level")
    parser.add_argument("--uncached", type=int, default=10, help="requests per level with the cache emptied")
    parser.add_argument("--period", default="this_year", help="this_month, last_month, this_year or last_year")
    args = parser.parse_args()

    os.environ.setdefault("NINGJU_MAP_TILES", "none")
    if args.build_households:
        var_dir = tempfile.mkdtemp(prefix="ningju-dash-")
        os.environ["NINGJU_VAR_DIR"] = var_dir
        os.environ.pop("DATABASE_URL", None)
        print(f"building {args.build_households} households into {var_dir}")
        _ningju("migrate", "--verbosity", "0")
        print(f"ningju demo: {_ningju('demo', '--households', str(args.build_households)):.0f} s")
        print(f"ningju rollup: {_ningju('rollup'):.1f} s")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ningju.settings")

    import django

    django.setup()
    from django.core.cache import cache
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment

    from ningju.core.models import Role, User

    setup_test_environment()  # the test client's host and context capture; nothing is written
    people = {
        "street": User.objects.filter(role=Role.STREET_ADMIN, is_active=True).order_by("pk").first(),
        "area": User.objects.filter(role=Role.AREA_HEAD, is_active=True).order_by("pk").first(),
        "cadre": User.objects.filter(role=Role.CADRE, is_active=True).order_by("pk").first(),
    }
    if not all(people.values()):
        sys.exit("the database has no street administrator, area head and cadre: build a demo first")
    url = f"/insights/dashboard/?period={args.period}"
    # Plain static storage: the benchmark runs without collectstatic's manifest.
    storages: dict[str, Any] = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    rows = []
    with override_settings(STORAGES=storages, ALLOWED_HOSTS=["*"]):
        client = Client()
        client.force_login(people["street"])
        client.get(url)  # imports, URL resolver, templates: not the page's own cost
        for level, user in people.items():
            client.force_login(user)

            def timed() -> float:
                began = time.perf_counter()
                response = client.get(url)
                assert response.status_code == 200, response.status_code
                return 1000 * (time.perf_counter() - began)

            cache.clear()
            cold = timed()
            uncached = []
            for _ in range(args.uncached):
                cache.clear()
                uncached.append(timed())
            warm = [timed() for _ in range(args.requests)]
            rows.append((level, user.username, cold, uncached, warm))

    print(f"\ndashboard latency, period {args.period} (ms)")
    print(f"{'level':8} {'user':14} {'cold':>7} {'uncached p50':>13} {'p95':>7} {'warm p50':>9} {'p95':>7}")
    for level, username, cold, uncached, warm in rows:
        print(
            f"{level:8} {username:14} {cold:7.0f} {statistics.median(uncached):13.0f} "
            f"{_percentile(uncached, 0.95):7.0f} {statistics.median(warm):9.0f} {_percentile(warm, 0.95):7.0f}"
        )


if __name__ == "__main__":
    main()

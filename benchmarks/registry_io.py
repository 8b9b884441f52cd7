"""Benchmark: importing and exporting N residents as xlsx on a temporary SQLite database; prints the timings.

    .venv/bin/python benchmarks/registry_io.py               # 10,000 and 50,000 residents
    .venv/bin/python benchmarks/registry_io.py 2000 20000    # other sizes

Each size runs in a fresh process with its own database file and keys in a temporary folder; nothing under var/
is touched. Timed: the first import (everything new), the same file again (everything unchanged), a masked export,
and re-importing that export (masked identifiers keep the stored ones).
"""

import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AREAS = 16
RESIDENTS_PER_HOUSEHOLD = 2.5
HOUSEHOLDS_PER_BUILDING = 12
BUILDINGS_PER_COMPOUND = 20
ROADS = ["常德路", "江宁路", "康定路", "武定路", "西康路", "昌平路", "长寿路", "新闸路"]


def sheet(n: int, area_names: list[str]) -> bytes:
    """N plausible rows: valid, unique ID numbers, households of two or three, a tenth with a must-visit tag."""
    import openpyxl

    from ningju.core.identifiers import id_check_char
    from ningju.registry.imports import HEADERS

    workbook = openpyxl.Workbook(write_only=True)
    rows = workbook.create_sheet("居民信息")
    rows.append(HEADERS)
    households = max(1, int(n / RESIDENTS_PER_HOUSEHOLD))
    for i in range(n):
        household = i * households // n
        building = household // HOUSEHOLDS_PER_BUILDING
        compound = building // BUILDINGS_PER_COMPOUND
        area = area_names[compound % len(area_names)]
        born = date(1930, 1, 1) + timedelta(days=i % 25000)
        male = i % 2 == 1
        first17 = f"310106{born:%Y%m%d}{(i // 25000) * 2 + (1 if male else 0):03d}"
        rows.append(
            [
                area,
                f"{area}第{compound}小区",
                f"{ROADS[building % len(ROADS)]}{building}弄{building % 40 + 1}号",
                str(100 * (household % HOUSEHOLDS_PER_BUILDING // 2 + 1) + household % 2 + 1),
                f"居民{i}",
                "男" if male else "女",
                born.isoformat(),
                first17 + id_check_char(first17),
                f"139{i:08d}",
                "户主" if i % 3 == 0 else "配偶",
                "独居老人" if i % 10 == 0 else "",
                "",
                121.44 + (building % 100) / 10000,
                31.23 + (building // 100) / 10000,
                f"第{compound}小区业委会",
                "康定物业",
                "",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def one(n: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from ningju.core.errors import ApplicationError
    from ningju.core.models import Role, User
    from ningju.registry.exports import export_registry
    from ningju.registry.imports import import_registry
    from ningju.registry.models import Resident, ResidentialArea, Street

    street = Street.objects.create(code="310106006", name="江宁路街道")
    areas = [
        ResidentialArea.objects.create(
            street=street, code=f"310106006{k:03d}", name=f"居民区{k}", office_lat=31.24, office_lng=121.45
        )
        for k in range(1, AREAS + 1)
    ]
    admin = User.objects.create(username="admin", role=Role.STREET_ADMIN, street=street)

    started = time.perf_counter()
    data = sheet(n, [a.name for a in areas])
    timings = {"生成 xlsx（不计入）": time.perf_counter() - started}

    def timed(label: str, work: object) -> object:
        started = time.perf_counter()
        result = work()  # type: ignore[operator]
        timings[label] = time.perf_counter() - started
        return result

    try:
        first = timed(
            "导入（全部新增）", lambda: import_registry(source=io.BytesIO(data), filename="bench.xlsx", user=admin)
        )
    except ApplicationError as failure:
        sys.exit(f"{failure.message} {failure.extra.get('errors', [])[:5]}")
    again = timed(
        "再次导入同一文件（全部未变）",
        lambda: import_registry(source=io.BytesIO(data), filename="bench.xlsx", user=admin),
    )
    exported = io.BytesIO()
    timed("导出（脱敏）", lambda: export_registry(user=admin, target=exported))
    back = timed(
        "导入脱敏导出文件（全部未变）",
        lambda: import_registry(source=io.BytesIO(exported.getvalue()), filename="export.xlsx", user=admin),
    )
    assert first.counts["created"] == n, first.counts  # type: ignore[attr-defined]
    assert again.counts["unchanged"] == n, again.counts  # type: ignore[attr-defined]
    assert back.counts["unchanged"] == n, back.counts  # type: ignore[attr-defined]
    assert Resident.objects.count() == n

    print(f"\n== {n:,} 位居民（xlsx {len(data) / 1e6:.1f} MB；导出 {len(exported.getvalue()) / 1e6:.1f} MB）==")
    for label, seconds in timings.items():
        print(f"  {label:<24} {seconds:7.2f} s   {n / seconds:9,.0f} 行/秒")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  峰值内存 {peak:,.0f} MB")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        one(int(argv[1]))
        return
    sizes = [int(arg.replace(",", "").replace("_", "")) for arg in argv] or [10_000, 50_000]
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="ningju-bench-") as folder:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "ningju.settings",
                "NINGJU_VAR_DIR": folder,
                "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            }
            subprocess.run([sys.executable, __file__, "--one", str(n)], env=env, cwd=ROOT, check=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])

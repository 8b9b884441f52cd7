"""Benchmark the visit planner: (a) the routing solver's gap to best-known results on standard instances at fixed
time limits; (b) a full year for the demo street: planning time, walking metres per visit, and each day's walk
against its optimal tour (Held–Karp) and against the nearest-neighbour baseline.

    .venv/bin/python benchmarks/planner.py                 # both parts
    .venv/bin/python benchmarks/planner.py --part routing --limits 1 5 --large
    .venv/bin/python benchmarks/planner.py --part street --households 20000 --start 2026-01-01 --days 365

Part (a) reads ../shared/data/routing/ (skipped when absent): TSPLIB burma14/eil51/eil76/kroA100 against
OPTIMA.txt, with --large also the ~1000-city TSPs, and a few CVRP X instances against their .sol files (.vrp and
.sol read with `vrplib`, a PyVRP dependency). Part (b) builds the demo street into a fresh SQLite file in a temp
directory, pairs it (the pairing helper's proposal, or contiguous groups of buildings if that is missing) and
plans it with `plan_street`, writing routes and stops as the command does.
"""

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROUTING = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "routing"
CVRP_INSTANCES = ("X-n101-k25", "X-n120-k6", "X-n153-k22", "X-n200-k36")
LARGE_TSP = ("pr1002", "u1060", "vm1084", "pcb1173")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "routing", "street"], default="all")
    parser.add_argument("--limits", type=float, nargs="+", default=[1.0, 5.0], help="solver time limits (s)")
    parser.add_argument("--large", action="store_true", help="also the ~1000-city TSPLIB instances")
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--start", default="2026-01-01")
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="ningju-bench-planner-")
    os.environ["NINGJU_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ningju.settings")
    import django

    django.setup()
    try:
        if args.part in ("all", "routing"):
            routing_gaps(args.limits, args.large)
        if args.part in ("all", "street"):
            demo_street(args.households, date.fromisoformat(args.start), args.days)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


# -- (a) standard instances ------------------------------------------------------------------------------------


def routing_gaps(limits: list[float], large: bool) -> None:
    import vrplib
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType, read, solve
    from pyvrp.stop import MaxRuntime

    if not ROUTING.is_dir():
        print(f"(a) skipped: {ROUTING} not found")
        return
    print(f"(a) PyVRP gap to best known, time limits {limits} s (seed 0)")
    print(
        f"    {'instance':<12} {'n':>5} {'best':>9} "
        + " ".join(f"{f'{t:g}s cost':>10} {'gap':>7}" for t in limits)
    )

    def report(name: str, size: int, best: float, costs: list[float]) -> None:
        cells = " ".join(f"{cost:>10.0f} {100 * (cost / best - 1):>6.2f}%" for cost in costs)
        print(f"    {name:<12} {size:>5} {best:>9.0f} {cells}")

    optima = _tsplib_optima(ROUTING / "tsplib_small" / "OPTIMA.txt")
    for name, best in optima.items():
        matrix = _tsplib_matrix(ROUTING / "tsplib_small" / f"{name}.tsp")
        size = len(matrix)
        distances: list[Any] = [matrix]
        durations: list[Any] = [np.zeros_like(matrix)]
        data = ProblemData(
            [Location(x=0, y=0) for _ in range(size)],
            [Client(location=i) for i in range(1, size)],
            [Depot(location=0)],
            [VehicleType(num_available=1)],
            distances,
            durations,
        )
        costs = [solve(data, MaxRuntime(t), seed=0, display=False, collect_stats=False).cost() for t in limits]
        report(name, size, best, costs)
    if large:
        for name in LARGE_TSP:
            path = ROUTING / "tsplib_small" / f"{name}.vrp"
            if path.exists():
                data = read(path, round_func="round")
                best = vrplib.read_solution(path.with_suffix(".sol"))["cost"]
                costs = [
                    solve(data, MaxRuntime(t), seed=0, display=False, collect_stats=False).cost() for t in limits
                ]
                report(name, data.num_locations, best, costs)
    for name in CVRP_INSTANCES:
        path = ROUTING / "cvrp_x" / f"{name}.vrp"
        if not path.exists():
            continue
        data = read(path, round_func="round")
        best = vrplib.read_solution(path.with_suffix(".sol"))["cost"]
        costs = []
        for t in limits:
            result = solve(data, MaxRuntime(t), seed=0, display=False, collect_stats=False)
            costs.append(result.cost() if result.is_feasible() else math.inf)
        report(name, data.num_locations, best, costs)


def _tsplib_optima(path: Path) -> dict[str, float]:
    optima: dict[str, float] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts and not line.startswith("#") and len(parts) == 3:
            optima[parts[0]] = float(parts[2])
    return optima


def _tsplib_matrix(path: Path) -> np.ndarray:
    """TSPLIB distances (EUC_2D: rounded Euclidean; GEO: the TSPLIB geographical formula), as integers."""
    kind, coords, reading = "EUC_2D", [], False
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("EDGE_WEIGHT_TYPE"):
            kind = line.split(":")[1].strip()
        elif line == "NODE_COORD_SECTION":
            reading = True
        elif line in ("EOF", "") or not reading:
            continue
        else:
            _index, x, y = line.split()[:3]
            coords.append((float(x), float(y)))
    size = len(coords)
    matrix = np.zeros((size, size), dtype=np.int64)
    if kind == "GEO":

        def radians(value: float) -> float:
            degrees = int(value)
            return math.pi * (degrees + 5.0 * (value - degrees) / 3.0) / 180.0

        lat = [radians(x) for x, _y in coords]
        lng = [radians(y) for _x, y in coords]
        for i in range(size):
            for j in range(size):
                if i != j:
                    q1 = math.cos(lng[i] - lng[j])
                    q2 = math.cos(lat[i] - lat[j])
                    q3 = math.cos(lat[i] + lat[j])
                    matrix[i, j] = int(6378.388 * math.acos(0.5 * ((1 + q1) * q2 - (1 - q1) * q3)) + 1.0)
    else:
        for i in range(size):
            for j in range(size):
                matrix[i, j] = int(math.hypot(coords[i][0] - coords[j][0], coords[i][1] - coords[j][1]) + 0.5)
    return matrix


# -- (b) the demo street ---------------------------------------------------------------------------------------


def demo_street(households: int, start: date, days: int) -> None:
    from django.core.management import call_command

    from ningju.registry.demo import demo_build
    from ningju.registry.models import Street
    from ningju.visits.models import Stop
    from ningju.visits.planner import check_plan, plan_json, plan_street
    from ningju.visits.planner.geo import distance_matrix, tour_length_m
    from ningju.visits.planner.tsp import HELD_KARP_MAX_STOPS, cycle_length, held_karp, nearest_neighbour

    call_command("migrate", verbosity=0)
    built = demo_build(households=households)
    street = Street.objects.get(code="310106006")
    how = _pair(street)
    print(f"(b) demo street: {built.counts.get('households', 0):,} households, paired by {how}")

    started = time.perf_counter()
    plan = plan_street(street=street, start=start, days=days)
    seconds = time.perf_counter() - started
    stats = plan.stats
    print(
        f"    plan {start} +{days} days: {seconds:.1f} s wall incl. writing ({stats['seconds']}, workers {stats['workers']})"
    )
    print(
        f"    {stats['routes']:,} routes, {stats['cadres']} cadres, {stats['household_visits']:,} household visits, "
        f"{stats['patrol_visits']:,} patrols, {Stop.objects.count():,} stops written"
    )
    data = plan_json(plan)
    checked = time.perf_counter()
    violations = check_plan(data)
    print(f"    check: {len(violations)} violations ({time.perf_counter() - checked:.1f} s)")
    for violation in violations[:10]:
        print(f"      {violation}")

    ratios: dict[str, list[float]] = {"all": [], "4+": []}
    baseline: dict[str, list[float]] = {"all": [], "4+": []}
    walks, optima, skipped, off_optimum = 0.0, 0.0, 0, 0
    visits = sum(1 for r in data["routes"] for s in r["stops"] if s["kind"] == "household")
    cache: dict[tuple[Any, ...], tuple[float, float]] = {}
    for route in data["routes"]:
        office = (route["office"]["lat"], route["office"]["lng"])
        points = list(dict.fromkeys((s["lat"], s["lng"]) for s in route["stops"]))  # distinct nodes, walk order
        walk = tour_length_m(office, points)  # walk_m unrounded: a 40 m walk would show rounding as 1 %
        walks += walk
        key = (office, frozenset(points))
        if key not in cache:
            if len(points) > HELD_KARP_MAX_STOPS:
                skipped += 1
                continue
            matrix = distance_matrix([office, *points])
            optimum = held_karp(matrix)[1]
            cache[key] = (optimum, cycle_length(matrix, nearest_neighbour(matrix)))
        optimum, naive = cache[key]
        optima += optimum
        off_optimum += walk > optimum + 0.01
        if optimum > 0:
            for group in ("all", "4+") if len(points) >= 4 else ("all",):
                ratios[group].append(walk / optimum)
                baseline[group].append(naive / optimum)

    def summary(values: list[float]) -> str:
        values = sorted(values)
        p95 = values[int(0.95 * (len(values) - 1))]
        return f"mean {statistics.fmean(values):.4f}, p95 {p95:.4f}, max {values[-1]:.4f} ({len(values):,} days)"

    print(
        f"    walking: {walks / 1000:,.1f} km in total, {walks / visits:.1f} m per household visit, "
        f"{walks / len(data['routes']):.0f} m per day"
    )
    print(f"    days over {HELD_KARP_MAX_STOPS} distinct nodes (not compared): {skipped}")
    for group, label in (("all", "all days"), ("4+", "days with 4+ nodes (solver-ordered)")):
        if ratios[group]:
            print(f"    {label}: planned walk / optimal tour: {summary(ratios[group])}")
            print(f"    {label}: nearest-neighbour / optimal tour: {summary(baseline[group])}")
    print(f"    total planned / total optimal: {walks / optima:.5f}; days longer than optimal: {off_optimum}")

    middle = date(start.year, 7, 1)
    if start < middle < start + timedelta(days=days):
        started = time.perf_counter()
        rest = plan_street(street=street, start=middle, days=(start + timedelta(days=days) - middle).days)
        print(
            f"    rolling re-plan from {middle} ({rest.stats['routes']:,} routes replaced): "
            f"{time.perf_counter() - started:.1f} s"
        )


def _pair(street: Any) -> str:
    """Current pairings for every area: the pairing helper's proposal when it is there, else contiguous groups."""
    from ningju.core.models import Role, User
    from ningju.registry.models import Building, PatrolSite, ResidentialArea
    from ningju.visits.models import Pairing
    from ningju.visits.rules import ensure_rules

    ensure_rules(street)
    areas = list(ResidentialArea.objects.filter(street=street))
    try:
        from ningju.visits.pairing import pairing_apply, propose_pairings
    except ImportError:
        pass
    else:
        for area in areas:
            proposal = propose_pairings(area)
            pairing_apply(user=None, area=area, assignment=proposal.assignment(), today=date(2025, 12, 1))
        return "ningju.visits.pairing.propose_pairings"
    rows = []
    for area in areas:
        cadres = list(User.objects.filter(area=area, role=Role.CADRE, is_active=True).order_by("username"))
        buildings = list(Building.objects.filter(compound__area=area).order_by("lat", "lng"))
        sites = list(PatrolSite.objects.filter(area=area, active=True).order_by("lat", "lng"))
        for index, building in enumerate(buildings):
            cadre = cadres[index * len(cadres) // len(buildings)]
            rows.append(Pairing(area=area, cadre=cadre, building=building, started_on=date(2025, 12, 1)))
        for index, site in enumerate(sites):
            cadre = cadres[index * len(cadres) // len(sites)]
            rows.append(Pairing(area=area, cadre=cadre, patrol_site=site, started_on=date(2025, 12, 1)))
    Pairing.objects.bulk_create(rows)
    return "contiguous groups of buildings (south to north)"


if __name__ == "__main__":
    main()

"""Ordering a walk: the routing solver (PyVRP) for closed tours from the office, with exact and naive references.

`solve_tour` is what the planner uses: with at most 3 stops it enumerates the (at most 3) distinct closed tours,
which is exact and instant; with 4 or more it asks PyVRP (hybrid genetic search, a single vehicle from the office
depot) and returns the solver's order as is. `held_karp` (exact dynamic programming, up to about 13 stops) and
`nearest_neighbour` (the naive baseline) are references for the tests and the benchmark, not used for planning.
"""

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from pyvrp import Client, Depot, Location, ProblemData, VehicleType, solve
from pyvrp.stop import MaxIterations

SCALE = 10  # PyVRP needs integer distances: decimetres keep the rounding far below a step
HELD_KARP_MAX_STOPS = 13  # 2^13 × 13 states: ~0.1 s; beyond that the table grows too fast


def iterations_for(stops: int) -> int:
    """Solver iterations for a day's tour: on 150 random 4–12-stop walks in a 600 m square this budget found the
    Held–Karp optimum every time (about 4 ms a tour)."""
    return 20 + 5 * stops


def master_iterations_for(stops: int) -> int:
    """A cadre's master tour over all their buildings and sites is solved once: give it a larger budget."""
    return 50 + 10 * stops


def cycle_length(matrix: np.ndarray, order: Sequence[int]) -> float:
    """Length of the closed tour 0 → order → 0 (node 0 is the office)."""
    if not order:
        return 0.0
    total = float(matrix[0, order[0]] + matrix[order[-1], 0])
    return total + float(sum(matrix[order[i], order[i + 1]] for i in range(len(order) - 1)))


def pyvrp_tour(matrix: np.ndarray, iterations: int, seed: int = 0) -> list[int]:
    """The solver's closed tour over an integer distance matrix with node 0 as the depot (the office)."""
    size = len(matrix)
    distances: list[Any] = [np.ascontiguousarray(matrix, dtype=np.int64)]
    durations: list[Any] = [np.zeros((size, size), dtype=np.int64)]
    data = ProblemData(
        [Location(x=0, y=0) for _ in range(size)],  # coordinates are unused: the matrix gives the distances
        [Client(location=node) for node in range(1, size)],
        [Depot(location=0)],
        [VehicleType(num_available=1)],
        distances,
        durations,
    )
    result = solve(data, MaxIterations(iterations), seed=seed, collect_stats=False, display=False)
    (route,) = result.best.routes()
    # Clients are numbered from 0 in the solver; their locations come after the one depot.
    return [activity.idx + 1 for activity in route if activity.is_client()]


def solve_tour(matrix: np.ndarray, iterations: int | None = None) -> list[int]:
    """The order of nodes 1..n-1 for the shortest closed walk from node 0, by exhaustion (≤ 3) or PyVRP (≥ 4)."""
    stops = len(matrix) - 1
    if stops <= 0:
        return []
    if stops <= 3:
        # 3 stops have 3 distinct closed tours (and their reverses): try them all.
        best = min(itertools.permutations(range(1, stops + 1)), key=lambda order: cycle_length(matrix, order))
        return list(best)
    scaled = np.rint(np.asarray(matrix) * SCALE).astype(np.int64)
    return pyvrp_tour(scaled, iterations or iterations_for(stops))


def held_karp(matrix: np.ndarray) -> tuple[list[int], float]:
    """The exact shortest closed tour from node 0 (Held–Karp dynamic programming over subsets of stops)."""
    stops = len(matrix) - 1
    if stops <= 0:
        return [], 0.0
    if stops > HELD_KARP_MAX_STOPS:
        raise ValueError(f"Held–Karp is limited to {HELD_KARP_MAX_STOPS} stops, got {stops}")
    between = np.asarray(matrix, dtype=float)[1:, 1:]
    full = 1 << stops
    cost = np.full((full, stops), np.inf)
    parent = np.full((full, stops), -1, dtype=np.int64)
    for j in range(stops):
        cost[1 << j, j] = matrix[0, j + 1]
    for mask in range(1, full):
        if mask & (mask - 1) == 0:
            continue  # single stops are the start values
        ends = np.array([j for j in range(stops) if mask >> j & 1])
        previous = mask ^ (1 << ends)
        # candidates[i, k]: reach `ends[i]` last, coming from k, which ended the walk over `previous[i]`.
        candidates = cost[previous] + between[:, ends].T
        best = np.argmin(candidates, axis=1)
        cost[mask, ends] = candidates[np.arange(len(ends)), best]
        parent[mask, ends] = best
    closing = cost[full - 1] + np.asarray(matrix, dtype=float)[1:, 0]
    last = int(np.argmin(closing))
    length = float(closing[last])
    order: list[int] = []
    mask = full - 1
    while last >= 0:
        order.append(last + 1)
        last, mask = int(parent[mask, last]), mask ^ (1 << last)
    order.reverse()
    return order, length


def nearest_neighbour(matrix: np.ndarray) -> list[int]:
    """The naive baseline: from the office, always walk to the nearest stop not yet visited."""
    left = set(range(1, len(matrix)))
    order: list[int] = []
    here = 0
    while left:
        here = min(left, key=lambda node: (matrix[here, node], node))
        left.remove(here)
        order.append(here)
    return order

"""Which households and patrol sites each cadre visits on which working day, and in which order: pure Python over
plain data (no database), so that cadres can be planned in parallel processes.

How a cadre's horizon is planned, one working day after another:
1. Grouping. The routing solver first builds the cadre's *master tour*: the shortest closed walk from the office
   over all their nodes (a node is a building — its households are 0 m apart — or a patrol site). Nodes close on
   that tour are close on foot, so "near" below means near along the master tour (route first, cluster second).
2. What is due. An item (household or site) is *unsatisfied* while its rule's current calendar period (week, month,
   year) has no visit yet — logged visits before the horizon count, as do the visits planned on earlier days.
   To spread the work evenly, each day takes ceil(unsatisfied / working days left in the period) items of every
   interval, and every item on the last working day of its period. The day's *anchor* is the most urgent item
   (fewest working days left, then the strictest rule, then the longest since its last visit); quota items are
   taken nearest to the anchor first.
3. Free visits. Must-visit households (weekly/monthly) still unsatisfied in a building the cadre goes to anyway are
   visited too (0 extra metres), up to the daily maximum.
4. Filling up. Until the cadre reaches the daily minimum, households in the buildings already on the route are
   added (not yet visited this year first, then the longest since the last visit), then in the nearest buildings.
5. Ordering. The day's distinct nodes are ordered with `tsp.solve_tour` (PyVRP for 4 or more nodes), cached by node
   set: the same set of buildings comes back many times over a year.
"""

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.utils.translation import gettext as _

from ningju.visits.models import Interval
from ningju.visits.planner.geo import Point, distance_matrix
from ningju.visits.planner.tsp import cycle_length, master_iterations_for, solve_tour
from ningju.visits.rules import STRICTNESS, Requirement, due_reason, period

HOUSEHOLD, PATROL = "household", "patrol"
INTERVALS: tuple[str, ...] = (Interval.WEEK.value, Interval.MONTH.value, Interval.YEAR.value)
MUST_VISIT_INTERVALS: tuple[str, ...] = (Interval.WEEK.value, Interval.MONTH.value)
RANK = {interval.value: strictness for interval, strictness in STRICTNESS.items()}

Key = tuple[str, int]  # (kind, id)


@dataclass(slots=True)
class Item:
    """A household or a patrol site of the cadre, with its rule and its last logged visit."""

    kind: str
    id: int
    node: int  # index into CadreTask.nodes
    requirement: Requirement | None
    last: date | None

    @property
    def key(self) -> Key:
        return (self.kind, self.id)


@dataclass(slots=True)
class CadreTask:
    """Everything needed to plan one cadre, as plain picklable data."""

    cadre_id: int
    area_id: int
    office: Point
    nodes: list[Point]
    households: list[Item]
    sites: list[Item]
    days: list[date]  # the working days to plan, ascending
    remaining: dict[date, dict[str, int]]  # working days left in each period, the day itself included
    min_households: int
    max_households: int
    # A one-day re-plan: visits planned on the cadre's other coming days count, old stops still due stay, and
    # whatever the coming routes do not cover is taken on today.
    single_day: bool = False
    planned_elsewhere: dict[Key, list[date]] = field(default_factory=dict)
    keep: frozenset[Key] = frozenset()
    logged_on_first_day: frozenset[Key] = frozenset()


@dataclass(slots=True)
class PlannedStop:
    kind: str
    id: int
    lat: float
    lng: float
    reason: str


@dataclass(slots=True)
class PlannedDay:
    cadre_id: int
    area_id: int
    day: date
    stops: list[PlannedStop]
    walk_m: float
    nodes: int
    solved: bool  # the order came from the solver (4+ nodes, not cached)


class TourCache:
    """Closed tours from the office by node set: a set of buildings seen before is not solved again."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix  # node i of the cadre is row i + 1; row 0 is the office
        self.tours: dict[frozenset[int], list[int]] = {}
        self.solved = 0

    def order(self, nodes: Iterable[int]) -> tuple[list[int], bool]:
        key = frozenset(nodes)
        cached = self.tours.get(key)
        if cached is not None:
            return cached, False
        members = sorted(key)
        rows = [0, *(node + 1 for node in members)]
        tour = solve_tour(self.matrix[np.ix_(rows, rows)])
        ordered = [members[index - 1] for index in tour]
        self.tours[key] = ordered
        solved = len(members) >= 4
        self.solved += solved
        return ordered, solved


def schedule_cadre(task: CadreTask) -> list[PlannedDay]:
    return _CadrePlanner(task).run()


class _CadrePlanner:
    def __init__(self, task: CadreTask) -> None:
        self.task = task
        self.matrix = distance_matrix([task.office, *task.nodes])
        self.cache = TourCache(self.matrix)
        self.near = self._grouping()
        self.node_households: dict[int, list[int]] = defaultdict(list)
        for index, item in enumerate(task.households):
            self.node_households[item.node].append(index)
        self.effective_min = min(task.min_households, len(task.households))
        self.previous_anchor = -1
        # Per item (households then sites, in one list): its interval, its last visit, and the last day of the
        # period its latest visit satisfies — an item is open (unsatisfied) on `day` while that is before `day`.
        self.items = [*task.households, *task.sites]
        self.interval: list[str | None] = [i.requirement.interval if i.requirement else None for i in self.items]
        self.last: list[date | None] = [item.last for item in self.items]
        self.until: list[date] = [self._satisfied_until(index) for index in range(len(self.items))]
        self.reasons: dict[tuple[Requirement | None, int | None], str] = {}

    def _satisfied_until(self, index: int) -> date:
        interval, last = self.interval[index], self.last[index]
        if interval is None:
            return date.max  # no rule: never due, only a fill-up
        until = period(last, interval)[1] if last is not None else date.min
        if self.task.single_day and self.task.days:
            # Visits the cadre's coming routes hold in today's period count as done.
            day = self.task.days[0]
            first, end = period(day, interval)
            if any(first <= when <= end for when in self.task.planned_elsewhere.get(self.items[index].key, ())):
                until = max(until, end)
        return until

    def _grouping(self) -> list[list[int]]:
        """For every node, all nodes from nearest to farthest along the cadre's master tour."""
        count = len(self.task.nodes)
        self.tour_index: dict[int, int] = {}
        if count == 0:
            return []
        rows = list(range(count + 1))
        master = [node - 1 for node in solve_tour(self.matrix[np.ix_(rows, rows)], master_iterations_for(count))]
        position = dict.fromkeys(range(count), 0.0)
        walked, here = 0.0, 0
        for node in master:
            walked += float(self.matrix[here, node + 1])
            position[node], here = walked, node + 1
        length = walked + float(self.matrix[here, 0])
        self.tour_index.update({node: index for index, node in enumerate(master)})

        def along(a: int, b: int) -> float:
            gap = abs(position[a] - position[b])
            return min(gap, length - gap)

        return [
            sorted(range(count), key=lambda b, a=a: (along(a, b), self.matrix[a + 1, b + 1], b))  # type: ignore[misc]
            for a in range(count)
        ]

    def run(self) -> list[PlannedDay]:
        planned: list[PlannedDay] = []
        first_excluded = {
            index for index, item in enumerate(self.items) if item.key in self.task.logged_on_first_day
        }
        for number, day in enumerate(self.task.days):
            result = self._plan_day(day, first_excluded if number == 0 else set())
            if result is not None:
                planned.append(result)
        return planned

    # -- one day -----------------------------------------------------------------------------------------------

    def _plan_day(self, day: date, excluded: set[int]) -> PlannedDay | None:
        task = self.task
        remaining = task.remaining[day]
        ends = {interval: period(day, interval)[1] for interval in INTERVALS}
        households_count = len(task.households)
        until, interval_of, last = self.until, self.interval, self.last
        open_items = [i for i in range(len(self.items)) if until[i] < day and i not in excluded]
        open_households = [i for i in open_items if i < households_count]
        open_sites = [i for i in open_items if i >= households_count]
        if not open_items and self.effective_min == 0:
            return None

        def urgency(i: int) -> tuple[int, int, date, int]:
            interval = interval_of[i]
            assert interval is not None
            turn = (self.tour_index[self.items[i].node] - self.previous_anchor - 1) % len(task.nodes)
            return (remaining[interval], RANK[interval], last[i] or date.min, turn)

        if open_items:
            anchor = self.items[min(open_items, key=urgency)].node
        else:
            rested = [i for i in range(households_count) if i not in excluded] or list(range(households_count))
            anchor = self.items[min(rested, key=lambda i: (last[i] or date.min, i))].node
        self.previous_anchor = self.tour_index[anchor]
        rank = {node: position for position, node in enumerate(self.near[anchor])}

        chosen: list[int] = []  # item indices, households and sites
        chosen_set: set[int] = set()
        households_taken = 0
        nodes: set[int] = set()
        due: set[int] = set()

        def take(i: int, is_due: bool) -> None:
            nonlocal households_taken
            if i in chosen_set:
                return
            chosen_set.add(i)
            chosen.append(i)
            nodes.add(self.items[i].node)
            households_taken += i < households_count
            if is_due:
                due.add(i)

        # 1. Due on the last chance, or kept from the old route: always.
        for i in open_items:
            interval = interval_of[i]
            assert interval is not None
            if (
                remaining[interval] <= 1
                or self.items[i].key in task.keep
                or (task.single_day and interval in MUST_VISIT_INTERVALS)
            ):
                take(i, True)

        # 2. The even share of every interval, nearest to the anchor first.
        for interval in INTERVALS:
            for group, capped in ((open_households, True), (open_sites, False)):
                members = [i for i in group if interval_of[i] == interval]
                if not members:
                    continue
                share = math.ceil(len(members) / remaining[interval])
                taken = sum(1 for i in members if i in chosen_set)
                members.sort(key=lambda i: (rank[self.items[i].node], last[i] or date.min, i))
                for i in members:
                    if taken >= share or (capped and households_taken >= task.max_households):
                        break
                    if i not in chosen_set:
                        take(i, True)
                        taken += 1

        # 3. Must-visit households in buildings the walk passes anyway cost nothing extra.
        open_set = set(open_households)
        for node in sorted(nodes, key=rank.__getitem__):
            for i in self.node_households.get(node, ()):
                if households_taken >= task.max_households:
                    break
                if i in open_set and interval_of[i] in MUST_VISIT_INTERVALS:
                    take(i, True)

        # 4. Fill up to the daily minimum: buildings on the route first, then the nearest ones.
        if households_taken < self.effective_min:
            on_route = sorted((node for node in nodes if node in self.node_households), key=rank.__getitem__)
            for node in on_route + [n for n in self.near[anchor] if n not in nodes]:
                pool = [i for i in self.node_households.get(node, ()) if i not in chosen_set and i not in excluded]
                pool.sort(key=lambda i: (i not in open_set, last[i] or date.min, i))
                for i in pool[: self.effective_min - households_taken]:
                    take(i, i in open_set)
                if households_taken >= self.effective_min:
                    break

        if not nodes:
            return None
        order, solved = self.cache.order(nodes)
        walk = cycle_length(self.matrix, [node + 1 for node in order])
        stops = self._stops(day, order, chosen, due, ends)
        return PlannedDay(task.cadre_id, task.area_id, day, stops, walk, len(order), solved)

    def _stops(
        self, day: date, order: list[int], chosen: list[int], due: set[int], ends: dict[str, date]
    ) -> list[PlannedStop]:
        at_node: dict[int, list[int]] = defaultdict(list)
        for i in sorted(chosen):  # households (by id within a building) before sites
            at_node[self.items[i].node].append(i)
        stops: list[PlannedStop] = []
        for node in order:
            lat, lng = self.task.nodes[node]
            for i in at_node[node]:
                item = self.items[i]
                stops.append(PlannedStop(item.kind, item.id, lat, lng, self._reason(i, day, i in due)))
                self.last[i] = day
                interval = self.interval[i]
                if interval is not None:
                    self.until[i] = ends[interval]
        return stops

    def _reason(self, i: int, day: date, is_due: bool) -> str:
        """Why the stop is on the route; memoised, as many stops share a rule and a number of days."""
        last = self.last[i]
        ago = (day - last).days if last is not None else None
        requirement = self.items[i].requirement if is_due else None
        key = (requirement, ago)
        reason = self.reasons.get(key)
        if reason is None:
            if requirement is not None:
                reason = due_reason(requirement, last, day)
            else:
                reason = _("每日走访（补足%(min)d户）") % {"min": self.task.min_households}
                reason += _("，尚未走访") if ago is None else _("，上次走访 %(days)d 天前") % {"days": ago}
            self.reasons[key] = reason
        return reason


def run_tasks(
    tasks: list[CadreTask],
    *,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[list[PlannedDay]]:
    """Plan every cadre, in `workers` forked processes when more than one (results in the order of `tasks`)."""
    results: list[list[PlannedDay]] = [[] for _ in tasks]
    if workers <= 1 or len(tasks) < 2:
        for index, task in enumerate(tasks):
            results[index] = schedule_cadre(task)
            if progress:
                progress(index + 1, len(tasks))
        return results
    import multiprocessing

    # Fork: the children inherit Django's set-up (translations, rules) and touch no database connection.
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=workers) as pool:
        jobs = pool.imap_unordered(_indexed, list(enumerate(tasks)), chunksize=1)
        for done, (index, planned) in enumerate(jobs, start=1):
            results[index] = planned
            if progress:
                progress(done, len(tasks))
    return results


def _indexed(pair: tuple[int, CadreTask]) -> tuple[int, list[PlannedDay]]:
    return pair[0], schedule_cadre(pair[1])

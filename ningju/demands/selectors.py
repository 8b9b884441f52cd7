"""Reads for the demand pages and the export: scoped lists, their filters, live deadline colours, row facts.

Every list starts from `demands_for(user)`, the demands the scoping helper lets the user see, and narrows it; no
page filters by role on its own. A page fetches one page of demands with `with_facts` (one query for the rows,
one for their dispatches) and wraps it in `DemandRow`s, so a template never triggers a query per row.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ningju.core import scoping
from ningju.core.models import User
from ningju.demands.models import (
    Alert,
    Category,
    Demand,
    Dispatch,
    ExtensionRequest,
    ExtensionStatus,
    Kind,
    Source,
)
from ningju.demands.overdue import alert_for, warning_horizon
from ningju.demands.workflow import DEPARTMENT_STATES, TERMINAL_STATES, DispatchState, State
from ningju.registry.models import ResidentialArea

OPEN_STATES = tuple(state for state in State if state not in TERMINAL_STATES)
# From the whistle until the departments are done: the street's and the departments' part of the ladder.
WHISTLED_STATES = (State.WHISTLED, State.STREET_ACCEPTED, *DEPARTMENT_STATES, State.DEPARTMENT_RESOLVED)


class StateGroup(models.TextChoices):
    """Several states at once, offered in the state filter beside the single states (so no value here may also be
    a `State` value: "closed" is one, hence "done")."""

    OPEN = "open", _("未结案")
    DONE = "done", _("已结案")
    WHISTLED = "whistled", _("吹哨处置中")


GROUP_STATES: dict[str, tuple[State, ...]] = {
    StateGroup.OPEN: OPEN_STATES,
    StateGroup.DONE: tuple(TERMINAL_STATES),
    StateGroup.WHISTLED: WHISTLED_STATES,
}


# --- deadline colours ------------------------------------------------------------------------------------------


def alert_now(demand: Demand, now: datetime) -> Alert:
    """The colour a demand's deadline shows now: the overdue job's own rule (`overdue.alert_for`), computed at read
    time so that a page never shows a passed deadline as normal just because the job has not run since. Without
    `due_at` no clock runs (closed, at the street desk, waiting for a callback) and nothing is coloured."""
    return alert_for(demand.due_at, now, settings.NINGJU_DEMAND_WARN_WORKDAYS)


def alert_q(alert: str, now: datetime) -> Q:
    """The demands whose `alert_now` is `alert`, as a filter: the same rule, in the database."""
    horizon = warning_horizon(now, settings.NINGJU_DEMAND_WARN_WORKDAYS)
    if alert == Alert.RED:
        return Q(due_at__lt=now)
    if alert == Alert.YELLOW:
        return Q(due_at__gte=now, due_at__lt=horizon)
    return Q(due_at__isnull=True) | Q(due_at__gte=horizon)


# --- filters ---------------------------------------------------------------------------------------------------

ID_QUERY = re.compile(r"^#?\s*(\d{1,9})$")


@dataclass(frozen=True)
class DemandFilter:
    """What a list or an export is narrowed to. Stored as plain values in an export job's params, so the job
    reads exactly the list the user saw (scoped again, at run time, to what they may still see)."""

    state: str = ""  # a State, a StateGroup, or "" for all
    kind: str = ""
    source: str = ""
    category: int | None = None  # a top-level category includes its children
    area: str = ""  # area code
    mine: bool = False  # only the demands the user owns (首问负责)
    alert: str = ""  # "yellow" or "red"
    created_from: date | None = None
    created_to: date | None = None
    q: str = ""

    def as_params(self) -> dict[str, Any]:
        """The filter as JSON-safe values (the job's params), leaving out what is not set."""
        values = {
            key: value.isoformat() if isinstance(value, date) else value for key, value in asdict(self).items()
        }
        return {key: value for key, value in values.items() if value not in ("", None, False)}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "DemandFilter":
        """Read back what `as_params` wrote (already validated when the job was started)."""

        def day(key: str) -> date | None:
            value = params.get(key)
            return date.fromisoformat(value) if value else None

        category = params.get("category")
        return cls(
            state=str(params.get("state") or ""),
            kind=str(params.get("kind") or ""),
            source=str(params.get("source") or ""),
            category=int(category) if category else None,
            area=str(params.get("area") or ""),
            mine=bool(params.get("mine")),
            alert=str(params.get("alert") or ""),
            created_from=day("created_from"),
            created_to=day("created_to"),
            q=str(params.get("q") or ""),
        )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def search_q(text: str) -> Q:
    """Free text over the demand's words and its 12345 order number; `#123` (or a bare number) is also its id."""
    text = text.strip()
    found = Q(text__icontains=text) | Q(external_id__icontains=text)
    number = ID_QUERY.match(text)
    if number:
        found |= Q(pk=int(number.group(1)))
    return found


def filtered(queryset: "QuerySet[Demand]", what: DemandFilter, *, user: User, now: datetime) -> "QuerySet[Demand]":
    """`queryset` narrowed by `what`. The caller has scoped it already."""
    if what.state in GROUP_STATES:
        queryset = queryset.filter(state__in=GROUP_STATES[what.state])
    elif what.state:
        queryset = queryset.filter(state=what.state)
    if what.kind:
        queryset = queryset.filter(kind=what.kind)
    if what.source:
        queryset = queryset.filter(source=what.source)
    if what.category is not None:
        queryset = queryset.filter(Q(category=what.category) | Q(category__parent=what.category))
    if what.area:
        queryset = queryset.filter(area__code=what.area)
    if what.mine:
        queryset = queryset.filter(owner=user)
    if what.alert:
        queryset = queryset.filter(alert_q(what.alert, now))
    if what.created_from is not None:
        queryset = queryset.filter(created_at__gte=_start_of(what.created_from))
    if what.created_to is not None:
        queryset = queryset.filter(created_at__lt=_start_of(what.created_to + timedelta(days=1)))
    if what.q.strip():
        queryset = queryset.filter(search_q(what.q))
    return queryset


# --- the lists -------------------------------------------------------------------------------------------------


def demands_for(user: User) -> "QuerySet[Demand]":
    """Every demand `user` may see, newest first."""
    return scoping.visible(user, Demand.objects.all()).order_by("-created_at", "-id")


def with_facts(queryset: "QuerySet[Demand]") -> "QuerySet[Demand]":
    """What a row shows, fetched with the rows: where, whose, which category, and the dispatches of every round."""
    return queryset.select_related(
        "area",
        "category__parent",
        "owner",
        "household__building",
        "building",
        "compound",
        "patrol_site",
    ).prefetch_related(
        Prefetch(
            "dispatches",
            queryset=Dispatch.objects.select_related("department").order_by("round", "dispatched_at", "pk"),
        )
    )


def my_demands(user: User) -> "QuerySet[Demand]":
    """The demands `user` owns (首问负责), open ones first, then newest first."""
    terminal = models.Case(
        models.When(state__in=TERMINAL_STATES, then=models.Value(1)),
        default=models.Value(0),
        output_field=models.IntegerField(),
    )
    return demands_for(user).filter(owner=user).order_by(terminal, "-created_at", "-id")


@dataclass(frozen=True)
class Counts:
    open: int
    yellow: int
    red: int


def counts(queryset: "QuerySet[Demand]", now: datetime) -> Counts:
    """How many of `queryset` are open, and how many of those show yellow and red, in one query."""
    opened = Q(state__in=OPEN_STATES)
    totals = queryset.order_by().aggregate(
        open=Count("pk", filter=opened),
        yellow=Count("pk", filter=opened & alert_q(Alert.YELLOW, now)),
        red=Count("pk", filter=opened & alert_q(Alert.RED, now)),
    )
    return Counts(open=totals["open"], yellow=totals["yellow"], red=totals["red"])


class DeskTab(models.TextChoices):
    """The street desk's tabs, in the order the work arrives."""

    ACCEPT = "accept", _("待受理")
    DISPATCH = "dispatch", _("待派单")
    DEPARTMENTS = "departments", _("部门处置中")
    EXTENSIONS = "extensions", _("延期待审批")


def desk_queryset(user: User, tab: str) -> "QuerySet[Demand]":
    """The demands of one tab of the street desk, oldest first: the longest waiting is served first."""
    demands = demands_for(user).order_by("created_at", "id")
    if tab == DeskTab.DISPATCH:
        # Returned orders land here too: a round whose every department returned it goes back to 街道受理.
        return demands.filter(state=State.STREET_ACCEPTED)
    if tab == DeskTab.DEPARTMENTS:
        return demands.filter(state__in=DEPARTMENT_STATES)
    if tab == DeskTab.EXTENSIONS:
        pending = ExtensionRequest.objects.filter(demand=OuterRef("pk"), status=ExtensionStatus.PENDING)
        return demands.filter(Exists(pending))
    return demands.filter(state=State.WHISTLED)


def desk_counts(user: User) -> dict[str, int]:
    """How many demands each desk tab holds, in one query."""
    pending = ExtensionRequest.objects.filter(demand=OuterRef("pk"), status=ExtensionStatus.PENDING)
    totals = (
        demands_for(user)
        .order_by()
        .aggregate(
            accept=Count("pk", filter=Q(state=State.WHISTLED)),
            dispatch=Count("pk", filter=Q(state=State.STREET_ACCEPTED)),
            departments=Count("pk", filter=Q(state__in=DEPARTMENT_STATES)),
            extensions=Count("pk", filter=Q(Exists(pending))),
        )
    )
    return {tab: totals[tab] for tab in DeskTab.values}


def pending_extensions(demand_ids: Iterable[int]) -> dict[int, ExtensionRequest]:
    """The waiting extension request of each of these demands (at most one each, by constraint)."""
    requests = ExtensionRequest.objects.filter(demand__in=list(demand_ids), status=ExtensionStatus.PENDING)
    return {request.demand_id: request for request in requests.select_related("requested_by", "department")}


class PortalTab(models.TextChoices):
    """A department's orders by where the department itself stands."""

    TODO = "todo", _("待报到")
    HANDLING = "handling", _("处置中")
    RESOLVED = "resolved", _("已办结")
    RETURNED = "returned", _("已退单")


PORTAL_STATES: dict[str, tuple[DispatchState, ...]] = {
    PortalTab.TODO: (DispatchState.DISPATCHED,),
    PortalTab.HANDLING: (DispatchState.ACKNOWLEDGED, DispatchState.HANDLING),
    PortalTab.RESOLVED: (DispatchState.RESOLVED,),
    PortalTab.RETURNED: (DispatchState.RETURNED,),
}


def department_orders(user: User) -> "QuerySet[Dispatch]":
    """The liaison's department's latest order on each demand it was ever dispatched: a department dispatched again
    in a later round shows that round only. Scoped through the demands the liaison may see."""
    later = Dispatch.objects.filter(
        demand=OuterRef("demand"), department=OuterRef("department"), round__gt=OuterRef("round")
    )
    return Dispatch.objects.filter(
        department=user.department_id, demand__in=scoping.visible(user, Demand.objects.all())
    ).exclude(Exists(later))


def portal_queryset(user: User, tab: str) -> "QuerySet[Dispatch]":
    """One tab of the department portal: orders waiting longest first, finished ones latest first."""
    orders = department_orders(user).filter(state__in=PORTAL_STATES.get(tab, PORTAL_STATES[PortalTab.TODO]))
    if tab in (PortalTab.RESOLVED, PortalTab.RETURNED):
        return orders.order_by("-dispatched_at", "-pk")
    return orders.order_by("dispatched_at", "pk")


def portal_counts(user: User) -> dict[str, int]:
    totals = (
        department_orders(user)
        .order_by()
        .aggregate(**{tab: Count("pk", filter=Q(state__in=states)) for tab, states in PORTAL_STATES.items()})
    )
    return {tab: totals[tab] for tab in PortalTab.values}


# --- rows ------------------------------------------------------------------------------------------------------


def place_of(demand: Demand) -> str:
    """Where the demand is, as precisely as it was recorded: the household, else the building, compound or site,
    else the address typed at intake."""
    if demand.household is not None:
        return demand.household.address
    if demand.building is not None:
        return demand.building.address
    if demand.compound is not None:
        return demand.compound.name
    if demand.patrol_site is not None:
        return demand.patrol_site.name
    return demand.address  # typed at intake where the registry has no record


def round_dispatches(demand: Demand) -> list[Dispatch]:
    """The dispatches of the demand's current whistle round, from the prefetched rows (no query)."""
    return [row for row in demand.dispatches.all() if row.round == demand.whistle_round]


@dataclass
class DemandRow:
    """One demand as a list shows it, with what was fetched alongside it."""

    demand: Demand
    alert: Alert
    place: str
    dispatches: list[Dispatch] = field(default_factory=list)  # the current round's
    extension: ExtensionRequest | None = None  # a pending request, on the street desk
    order: Dispatch | None = None  # the viewing department's own order, on its portal

    @property
    def returned(self) -> list[Dispatch]:
        """This round's returned orders, with their reasons (the street re-dispatches these)."""
        return [row for row in self.dispatches if row.state == DispatchState.RETURNED]


def rows(
    demands: Iterable[Demand],
    now: datetime,
    *,
    extensions: Mapping[int, ExtensionRequest] | None = None,
) -> list[DemandRow]:
    """Rows for demands fetched `with_facts`."""
    return [
        DemandRow(
            demand=demand,
            alert=alert_now(demand, now),
            place=place_of(demand),
            dispatches=round_dispatches(demand),
            extension=(extensions or {}).get(demand.pk),
        )
        for demand in demands
    ]


def order_rows(orders: Iterable[Dispatch], now: datetime) -> list[DemandRow]:
    """Rows of a department's orders (fetched with `order_facts`); a finished order's deadline is not its own,
    so it is not coloured."""
    result = []
    for order in orders:
        demand = order.demand
        active = order.state not in (DispatchState.RESOLVED, DispatchState.RETURNED)
        result.append(
            DemandRow(
                demand=demand,
                alert=alert_now(demand, now) if active else Alert.NONE,
                place=place_of(demand),
                order=order,
            )
        )
    return result


def order_facts(orders: "QuerySet[Dispatch]") -> "QuerySet[Dispatch]":
    return orders.select_related(
        "department",
        "demand__area",
        "demand__category__parent",
        "demand__owner",
        "demand__household__building",
        "demand__building",
        "demand__compound",
        "demand__patrol_site",
    )


def describe(what: DemandFilter) -> list[tuple[str, str]]:
    """The filter in words, for the export page and the exported file: (label, value) pairs of what is set."""
    described: list[tuple[str, str]] = []
    if what.state:
        labels = dict(StateGroup.choices) | dict(State.choices)
        described.append((str(_("状态")), str(labels.get(what.state, what.state))))
    if what.kind:
        described.append((str(_("类型")), str(dict(Kind.choices).get(what.kind, what.kind))))
    if what.source:
        described.append((str(_("来源")), str(dict(Source.choices).get(what.source, what.source))))
    if what.category is not None:
        category = Category.objects.select_related("parent").filter(pk=what.category).first()
        described.append((str(_("分类")), str(category) if category else "—"))
    if what.area:
        name = ResidentialArea.objects.filter(code=what.area).values_list("name", flat=True).first()
        described.append((str(_("居民区")), name or what.area))
    if what.mine:
        described.append((str(_("首问负责人")), str(_("本人"))))
    if what.alert:
        described.append((str(_("预警")), str(Alert(what.alert).label)))
    if what.created_from or what.created_to:
        start = what.created_from.isoformat() if what.created_from else "…"
        end = what.created_to.isoformat() if what.created_to else "…"
        described.append((str(_("受理日期")), f"{start} ~ {end}"))
    if what.q:
        described.append((str(_("搜索")), what.q))
    return described

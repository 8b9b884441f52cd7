"""How a demand reads on its pages: deadline colours, state colours, where it is, who may act now, the timeline.

Small pure helpers over rows a view already fetched (through the scoping helper); none of them writes, and the
ones that read take what they need in one query, never one per row.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.models import Role, User
from ningju.demands import workflow
from ningju.demands.models import Attachment, Demand, DemandEvent, Dispatch, Kind, Source
from ningju.demands.selectors import alert_now
from ningju.demands.workflow import Action, CallbackResult, State
from ningju.registry.models import Building, Compound, Household, PatrolSite

# One colour per part of the ladder, so a glance says who holds the demand: the area, the street, a department,
# waiting for the resident, or done.
STATE_COLOURS = {
    State.ACCEPTED: "new",
    State.CONTACTED: "area",
    State.AREA_HANDLING: "area",
    State.REOPENED: "reopened",
    State.RESOLVED: "resolved",
    State.CALLBACK: "resolved",
    State.WHISTLED: "street",
    State.STREET_ACCEPTED: "street",
    State.DISPATCHED: "department",
    State.ACKNOWLEDGED: "department",
    State.DEPARTMENT_HANDLING: "department",
    State.DEPARTMENT_RESOLVED: "resolved",
    State.CLOSED: "closed",
    State.MERGED: "closed",
}


def state_colour(state: str) -> str:
    return STATE_COLOURS.get(State(state), "new") if state in State.values else "new"


def deadline_colour(demand: Demand, now: datetime) -> str:
    """The deadline's colour class: the lists' and the overdue job's one rule (red once passed, yellow within the
    warning window), as the CSS class name."""
    return str(alert_now(demand, now).value)


@dataclass(frozen=True)
class Place:
    kind: str
    label: str
    url: str | None  # the registry page, only where the user may open it


def _visible(user: User, model: type[models.Model], pk: int) -> bool:
    return scoping.visible(user, model._default_manager.filter(pk=pk)).exists()


def place_of(demand: Demand, user: User) -> Place | None:
    """Where the demand is (the most precise place given), linked to its registry page when the user may see it.
    Liaisons see no registry, so they read the address without a link."""
    if demand.household_id is not None:
        assert demand.household is not None
        url = reverse("household_detail", args=[demand.household_id])
        return Place(
            _("户"), demand.household.address, url if _visible(user, Household, demand.household_id) else None
        )
    if demand.building_id is not None:
        assert demand.building is not None
        url = reverse("building_detail", args=[demand.building_id])
        return Place(
            _("楼栋"), demand.building.address, url if _visible(user, Building, demand.building_id) else None
        )
    if demand.compound_id is not None:
        assert demand.compound is not None
        url = reverse("compound_detail", args=[demand.compound_id])
        return Place(
            _("小区"), demand.compound.name, url if _visible(user, Compound, demand.compound_id) else None
        )
    if demand.patrol_site_id is not None:
        site = demand.patrol_site
        assert site is not None
        label = f"{site.name}（{site.address}）" if site.address else site.name
        # A patrol site has no page of its own: its compound's page lists it, else its area's.
        if not _visible(user, PatrolSite, site.pk):
            return Place(_("巡查点"), label, None)
        if site.compound_id is not None:
            return Place(_("巡查点"), label, reverse("compound_detail", args=[site.compound_id]))
        return Place(_("巡查点"), label, reverse("area_detail", args=[demand.area.code]))
    return None


@dataclass(frozen=True)
class ActorContext:
    """The workflow's inputs about the user, derived exactly as `services.demand_act` derives them."""

    is_owner: bool
    actor_in_area: bool
    actor_department: int | None
    dispatches: dict[int, str]
    extension_pending: bool

    def allowed(self, demand: Demand, user: User) -> list[Action]:
        return workflow.allowed_actions(
            demand.state,
            user.role,
            is_owner=self.is_owner,
            actor_in_area=self.actor_in_area,
            actor_department=self.actor_department,
            dispatches=self.dispatches,
            extension_pending=self.extension_pending,
        )


def actor_context(
    user: User, demand: Demand, round_dispatches: Iterable[Dispatch], extension_pending: bool
) -> ActorContext:
    """`round_dispatches`: the dispatches of the demand's current whistle round."""
    return ActorContext(
        is_owner=demand.owner_id == user.pk,
        actor_in_area=user.role in scoping.AREA_ROLES and user.area_id == demand.area_id,
        actor_department=user.department_id if user.role == Role.LIAISON else None,
        dispatches={row.department_id: row.state for row in round_dispatches},
        extension_pending=extension_pending,
    )


@dataclass
class TimelineEntry:
    event: DemandEvent
    action: str
    from_state: str
    to_state: str
    state_colour: str
    details: list[str] = field(default_factory=list)
    merge_target: int | None = None
    attachments: list[Attachment] = field(default_factory=list)


def event_department_ids(events: Iterable[DemandEvent]) -> set[int]:
    """Every department an event's inputs name, to be read in one query."""
    ids: set[int] = set()
    for event in events:
        params = event.params or {}
        ids.update(int(value) for value in params.get("departments", []) if str(value).isdigit())
        if str(params.get("department", "")).isdigit():
            ids.add(int(params["department"]))
        if str(params.get("suggested_department", "")).isdigit():
            ids.add(int(params["suggested_department"]))
    return ids


def _label(choices: type[models.TextChoices], value: Any) -> str:
    return str(choices(value).label) if value in choices.values else str(value)


def timeline(events: Iterable[DemandEvent], departments: Mapping[int, str]) -> list[TimelineEntry]:
    """Each event as a person reads it: the step, the states, and its inputs in words (departments by name,
    the callback result, the working days of an extension, the demand a duplicate was merged into)."""
    entries = []
    for event in events:
        params = event.params or {}
        details = []
        if event.action == "create":
            if "kind" in params:
                details.append(_("类型：%(kind)s") % {"kind": _label(Kind, params["kind"])})
            if "source" in params:
                details.append(_("来源：%(source)s") % {"source": _label(Source, params["source"])})
        names = [departments.get(int(d), f"#{d}") for d in params.get("departments", []) if str(d).isdigit()]
        if names:
            details.append(_("派单部门：%(departments)s") % {"departments": "、".join(names)})
        if str(params.get("department", "")).isdigit():
            name = departments.get(int(params["department"]), "#{}".format(params["department"]))
            details.append(_("部门：%(department)s") % {"department": name})
        if str(params.get("suggested_department", "")).isdigit():
            name = departments.get(
                int(params["suggested_department"]), "#{}".format(params["suggested_department"])
            )
            details.append(_("建议派往部门：%(department)s") % {"department": name})
        if "callback_result" in params:
            details.append(
                _("回访结果：%(result)s") % {"result": _label(CallbackResult, params["callback_result"])}
            )
        if "days" in params:
            details.append(_("延期：%(days)s个工作日") % {"days": params["days"]})
        target = params.get("target")
        entries.append(
            TimelineEntry(
                event=event,
                action=event.get_action_display(),
                from_state=_label(State, event.from_state) if event.from_state else "",
                to_state=_label(State, event.to_state),
                state_colour=state_colour(event.to_state),
                details=details,
                merge_target=int(str(target)) if str(target).isdigit() else None,
                attachments=list(event.attachments.all()),
            )
        )
    return entries

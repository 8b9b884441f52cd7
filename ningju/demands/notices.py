"""Who hears about a demand's step, in-app (and by email or WeCom where configured): one rule per step.

`demand_stepped(event_id)` and `demand_created(demand_id)` run after the step's transaction commits (the services
register them with `transaction.on_commit`), so nobody is told about a step that was rolled back. Each notice's key
names the event, so a retried callback tells nobody twice. The person who took the step is never told about it.

The recipient lookups (`street_admins`, `area_heads`, `liaisons`, `open_departments`) take many ids at once: the
overdue job uses them for a whole chunk of demands in a few queries.
"""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from ningju.core.models import NoticeLevel, Role, User
from ningju.core.notify import Notice, notify_many
from ningju.demands.models import Alert, Demand, DemandEvent, Dispatch, ExtensionRequest, ExtensionStatus
from ningju.demands.workflow import Action, CallbackResult, DispatchState, State


def demand_url(pk: int) -> str:
    """The demand's page (a local path)."""
    try:
        return reverse("demand_detail", args=[pk])
    except NoReverseMatch:  # the detail page arrives with the demand pages; the path is already agreed
        return f"/demands/{pk}/"


def event_key(event_id: int) -> str:
    """The key of the notices about one step."""
    return f"demand-event:{event_id}"


def demand_key_prefix(demand_id: int) -> str:
    """What the keys of a demand's other notices (created, overdue warnings) start with."""
    return f"demand:{demand_id}:"


def created_key(demand_id: int) -> str:
    return f"{demand_key_prefix(demand_id)}created"


def overdue_key_prefixes(demand_id: int) -> list[str]:
    """What the keys of a demand's overdue warnings start with (the overdue job adds the deadline)."""
    return [f"{demand_key_prefix(demand_id)}{alert.value}:" for alert in (Alert.YELLOW, Alert.RED)]


def _group(rows: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = defaultdict(list)
    for owner, user in rows:
        grouped[owner].append(user)
    return grouped


def street_admins(street_ids: Iterable[int]) -> dict[int, list[int]]:
    """street id → its active street administrators' ids."""
    users = User.objects.filter(is_active=True, role=Role.STREET_ADMIN, street__in=set(street_ids))
    return _group(users.values_list("street_id", "pk"))


def area_heads(area_ids: Iterable[int]) -> dict[int, list[int]]:
    """area id → its active heads' (书记/主任) ids."""
    users = User.objects.filter(is_active=True, role=Role.AREA_HEAD, area__in=set(area_ids))
    return _group(users.values_list("area_id", "pk"))


def liaisons(department_ids: Iterable[int]) -> dict[int, list[int]]:
    """department id → its active liaisons' ids."""
    users = User.objects.filter(is_active=True, role=Role.LIAISON, department__in=set(department_ids))
    return _group(users.values_list("department_id", "pk"))


def open_departments(demand_ids: Iterable[int]) -> dict[int, list[int]]:
    """demand id → the departments still working on it in its current round (not finished, not returned)."""
    rows = (
        Dispatch.objects.filter(demand__in=set(demand_ids), round=F("demand__whistle_round"))
        .exclude(state__in=[DispatchState.RESOLVED, DispatchState.RETURNED])
        .values_list("demand_id", "department_id")
    )
    return _group(rows)


def _extension_requester(demand: Demand) -> int | None:
    decided = ExtensionRequest.objects.filter(demand=demand).exclude(status=ExtensionStatus.PENDING)
    return decided.order_by("-decided_at", "-pk").values_list("requested_by_id", flat=True).first()


def _admins_of(demand: Demand) -> list[int]:
    return street_admins([demand.area.street_id]).get(demand.area.street_id, [])


def _message(event: DemandEvent, demand: Demand) -> tuple[list[int], str, str, str] | None:
    """(recipients, title, body, level) for a step, or None where the step tells nobody."""
    number = demand.pk
    action, params = event.action, event.params or {}
    if action == Action.WHISTLE:
        title = _("%(area)s吹哨：诉求 #%(number)s") % {"area": demand.area.name, "number": number}
        return _admins_of(demand), title, event.reason, NoticeLevel.INFO
    if action in (Action.DISPATCH, Action.REDISPATCH):
        by_department = liaisons(params.get("departments", []))
        users = [user for group in by_department.values() for user in group]
        title = _("新派单：诉求 #%(number)s，请在时限内报到") % {"number": number}
        return users, title, demand.text[:200], NoticeLevel.INFO
    if action == Action.RETURN_ORDER:
        department = event.actor.department if event.actor and event.actor.department else None
        title = _("%(department)s退单：诉求 #%(number)s") % {"department": department or "", "number": number}
        return _admins_of(demand), title, event.reason, NoticeLevel.INFO
    if action == Action.DEPARTMENT_RESOLVE and event.to_state == State.DEPARTMENT_RESOLVED:
        title = _("诉求 #%(number)s 部门已办结，请安排回访") % {"number": number}
        return [demand.owner_id], title, event.note, NoticeLevel.INFO
    if action == Action.REQUEST_EXTENSION:
        title = _("诉求 #%(number)s 申请延期 %(days)s 个工作日") % {"number": number, "days": params.get("days")}
        return _admins_of(demand), title, event.reason, NoticeLevel.INFO
    if action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
        requester = _extension_requester(demand)
        if action == Action.APPROVE_EXTENSION:
            title = _("诉求 #%(number)s 的延期申请已批准") % {"number": number}
        else:
            title = _("诉求 #%(number)s 的延期申请未获同意") % {"number": number}
        return ([requester] if requester else []), title, event.reason, NoticeLevel.INFO
    if action == Action.CALLBACK and params.get("callback_result") == CallbackResult.DISSATISFIED:
        heads = area_heads([demand.area_id]).get(demand.area_id, [])
        title = _("诉求 #%(number)s 回访不满意，需再次处置") % {"number": number}
        return [demand.owner_id, *heads], title, event.note, NoticeLevel.YELLOW
    if action == Action.MERGE:
        title = _("诉求 #%(number)s 已合并至诉求 #%(target)s") % {"number": number, "target": params.get("target")}
        return [demand.owner_id], title, event.reason, NoticeLevel.INFO
    return None


def demand_stepped(event_id: int) -> int:
    """Tell the people a step concerns (see the module docstring). Returns how many notices were new."""
    event = DemandEvent.objects.select_related("demand__area", "actor__department").filter(pk=event_id).first()
    if event is None:
        return 0
    # Stored text is read later by people in the default language, whatever language the actor's page was in.
    with translation.override(settings.LANGUAGE_CODE):
        message = _message(event, event.demand)
    if message is None:
        return 0
    users, title, body, level = message
    return _send(
        users,
        event.actor_id,
        title=title,
        body=body,
        level=level,
        demand=event.demand,
        key=event_key(event_id),
    )


def demand_created(demand_id: int) -> int:
    """A demand received outside its own area (全岗通, the street desk, a 12345 import): its area's heads hear of
    it, since no one of theirs received it. Returns how many notices were new."""
    demand = Demand.objects.select_related("area", "owner").filter(pk=demand_id).first()
    if demand is None or demand.owner.area_id == demand.area_id:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        title = _("%(area)s新诉求 #%(number)s（%(owner)s登记）") % {
            "area": demand.area.name,
            "number": demand.pk,
            "owner": demand.owner.display_name,
        }
    heads = area_heads([demand.area_id]).get(demand.area_id, [])
    return _send(
        heads,
        demand.owner_id,
        title=title,
        body=demand.text[:200],
        level=NoticeLevel.INFO,
        demand=demand,
        key=created_key(demand.pk),
    )


def _send(
    users: Iterable[Any], actor_id: int | None, *, title: str, body: str, level: str, demand: Demand, key: str
) -> int:
    recipients = [user for user in dict.fromkeys(users) if user and user != actor_id]
    url = demand_url(demand.pk)
    return notify_many(
        [Notice(user_id=u, title=title, body=body, url=url, level=level, key=key) for u in recipients]
    )

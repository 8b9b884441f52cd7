"""Writes for demands: record a demand (idempotent on the client's key) and take one workflow step under a row lock.

`demand_act` is the only way a demand changes state. In one transaction it locks the demand row, checks the
version the page saw, derives the workflow's inputs from rows (owner, area, the liaison's department, the current
round of dispatches, a pending extension), asks `workflow.transition` and stores its `Outcome`: the new state,
dispatches, extension requests, the merge target, the next deadline, `version + 1` and exactly one event.
Two people acting at once are serialised by the lock (SELECT … FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
transactions already let one writer in at a time), so the second one sees the first one's result and is refused
by the workflow if its step no longer fits.
"""

from collections.abc import Iterable
from datetime import date, datetime, time
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import notify, scoping
from ningju.core.errors import ApplicationError
from ningju.core.identifiers import validate_phone
from ningju.core.models import Role, User
from ningju.core.workdays import add_workdays
from ningju.demands import notices, workflow
from ningju.demands.models import (
    Category,
    DeadlineLimit,
    Demand,
    DemandEvent,
    Dispatch,
    ExtensionRequest,
    ExtensionStatus,
    Kind,
    Source,
)
from ningju.demands.workflow import Action, DeadlineStage, DispatchState, State
from ningju.registry.models import Building, Compound, Department, Household, PatrolSite, Resident, ResidentialArea
from ningju.visits.models import Finding, Visit

CREATE = "create"  # the action of the first event, which is not a workflow step


class StaleDemandError(ApplicationError):
    """The demand moved on since the client read it (`expected_version` is behind): reload, then act."""


def demand_visible_q(user: Any) -> models.Q:
    """The demands `user` may see (the rule lives on `Demand.visible_to`, applied through the scoping helper)."""
    return scoping.scope_q(user, Demand)


def _end_of_workday(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _stage(demand: Demand, state: str) -> DeadlineStage | None:
    stage = workflow.deadline_stage(state)
    if stage == DeadlineStage.HANDLING and demand.kind == Kind.ENQUIRY:
        return DeadlineStage.CONSULTATION
    return stage


def stage_limits(street_id: int) -> dict[DeadlineStage, int]:
    """Each stage's limit in working days for a street: its own where the street administrator set one, else the
    DOMAIN.md default."""
    limits = dict(workflow.DEFAULT_DEADLINES)
    for stage, workdays in DeadlineLimit.objects.filter(street=street_id).values_list("stage", "workdays"):
        limits[DeadlineStage(stage)] = workdays
    return limits


def deadline_from(start: datetime, stage: DeadlineStage, street_id: int | None = None) -> datetime:
    """The end of the working day that is `stage`'s limit in working days after `start` (Asia/Shanghai)."""
    day = timezone.localtime(start, ZoneInfo(settings.TIME_ZONE)).date()
    workdays = workflow.DEFAULT_DEADLINES[stage] if street_id is None else stage_limits(street_id)[stage]
    return _end_of_workday(add_workdays(day, workdays))


@transaction.atomic
def demand_create(
    *,
    user: User,
    area: ResidentialArea,
    kind: str,
    source: str,
    text: str,
    category: Category | None = None,
    household: Household | None = None,
    building: Building | None = None,
    compound: Compound | None = None,
    patrol_site: PatrolSite | None = None,
    reporter: Resident | None = None,
    visit: Visit | None = None,
    finding: Finding | None = None,
    external_id: str = "",
    client_key: str | None = None,
    received_at: datetime | None = None,
    address: str = "",
    reporter_name: str = "",
    reporter_phone: str = "",
) -> tuple[Demand, bool]:
    """Record a demand received by `user`, who becomes its 首问负责人; the first-contact clock starts.

    `address`, `reporter_name`, `reporter_phone`: where and from whom in free text, for what the registry holds no
    record of (the phone is checked like a resident's and stored encrypted).

    Returns (demand, created). A retried create with the same `client_key` returns the stored demand untouched.
    Any cadre or head of the street may receive a demand for any area of it (全岗通); liaisons receive none.
    """
    client_key = (client_key or "").strip()
    if client_key:
        existing = Demand.objects.filter(client_key=client_key).first()
        if existing is not None:
            return _replayed(existing, user), False

    if user.role == Role.STREET_ADMIN:
        street_id = user.street_id
    elif user.role in scoping.AREA_ROLES and user.area is not None:
        street_id = user.area.street_id
    else:
        raise PermissionDenied(_("只有街道和居民区的工作人员可以登记诉求。"))
    if area.street_id != street_id:
        raise PermissionDenied(_("所选居民区不在您的街道。"))

    text = text.strip()
    if not text:
        raise ApplicationError(_("请填写诉求内容。"))
    if kind not in Kind.values:
        raise ApplicationError(_("诉求类型“%(kind)s”无效。") % {"kind": kind})
    if source not in Source.values:
        raise ApplicationError(_("诉求来源“%(source)s”无效。") % {"source": source})
    if category is not None and not category.active:
        raise ApplicationError(_("分类“%(category)s”已停用。") % {"category": category})
    if category is not None and category.street_id != area.street_id:  # each street has its own taxonomy
        raise ApplicationError(_("所选分类不属于本街道。"))
    if finding is not None:
        visit = visit or finding.visit
        if finding.visit_id != visit.pk:
            raise ApplicationError(_("走访发现不属于所选走访记录。"))
    # Where each given place or record belongs: it must be the demand's area.
    places = [
        (_("所选户"), household.building.compound.area_id if household else None),
        (_("所选楼栋"), building.compound.area_id if building else None),
        (_("所选小区"), compound.area_id if compound else None),
        (_("所选巡查点"), patrol_site.area_id if patrol_site else None),
        (_("反映人"), reporter.household.building.compound.area_id if reporter else None),
        (_("所选走访记录"), visit.area_id if visit else None),
    ]
    for label, area_id in places:
        if area_id is not None and area_id != area.pk:
            raise ApplicationError(_("%(label)s不在所选居民区内。") % {"label": label})
    address, reporter_name = " ".join(address.split()), " ".join(reporter_name.split())
    if len(address) > 200 or len(reporter_name) > 50:
        raise ApplicationError(_("地址或反映人姓名过长。"))
    if reporter_phone.strip():
        try:
            reporter_phone = validate_phone(reporter_phone)
        except ValidationError as invalid:
            raise ApplicationError(" ".join(invalid.messages)) from None
    external_id = external_id.strip()
    if external_id and Demand.objects.filter(source=source, external_id=external_id).exists():
        raise ApplicationError(_("工单编号“%(number)s”已登记。") % {"number": external_id})
    if finding is not None and Demand.objects.filter(finding=finding).exists():
        raise ApplicationError(_("该走访发现已登记为诉求。"))

    at = received_at or timezone.now()
    demand = Demand(
        area=area,
        kind=kind,
        source=source,
        text=text,
        category=category,
        household=household,
        building=building,
        compound=compound,
        patrol_site=patrol_site,
        reporter=reporter,
        address=address,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone.strip(),
        owner=user,
        visit=visit,
        finding=finding,
        external_id=external_id,
        client_key=client_key,
        created_at=at,
        due_at=deadline_from(at, DeadlineStage.FIRST_CONTACT, area.street_id),
    )
    try:
        # A savepoint: two uploads of the same create race on the unique key, and the loser returns the winner.
        with transaction.atomic():
            demand.save(force_insert=True)
    except IntegrityError:
        existing = Demand.objects.filter(client_key=client_key).first() if client_key else None
        if existing is None:
            raise
        return _replayed(existing, user), False
    DemandEvent.objects.create(
        demand=demand,
        actor=user,
        at=at,
        action=CREATE,
        from_state="",
        to_state=State.ACCEPTED,
        params={"kind": kind, "source": source},
    )
    # Told after commit, so no one hears of a demand that was rolled back; a failure to tell undoes nothing.
    transaction.on_commit(partial(notices.demand_created, demand.pk), robust=True)
    return demand, True


def demand_from_finding(*, user: User, finding: Finding, visit: Visit | None = None) -> tuple[Demand, bool]:
    """A visit's finding as a demand: a 问题 found on that visit (走访; 巡查 for a patrol), at its household or patrol
    site, owned by `user`, its category left for triage. The visit form does this for every finding when it saves
    the visit; the visit page's 转为诉求 for a finding stored without one. Both meet on the finding's client key, so
    a finding becomes one demand however often it is sent."""
    visit = visit or finding.visit
    return demand_create(
        user=user,
        area=visit.area,
        kind=Kind.PROBLEM,
        source=Source.PATROL if visit.patrol_site_id else Source.VISIT,
        text=finding.text,
        household=visit.household,
        patrol_site=visit.patrol_site,
        visit=visit,
        finding=finding,
        # Two taps (or two uploads) racing each other meet on this key: the second one gets the first one's demand.
        client_key=f"finding-{finding.pk}",
    )


def _replayed(existing: Demand, user: User) -> Demand:
    if existing.owner_id != user.pk:
        raise ApplicationError(_("该请求编号已被他人使用，请重新提交。"))
    return existing


def _ids(values: Iterable[Any]) -> list[int]:
    try:
        return list(dict.fromkeys(int(value) for value in values))
    except (TypeError, ValueError):
        raise ApplicationError(_("所选部门无效。")) from None


def _check_departments(demand: Demand, chosen: Iterable[int]) -> None:
    """Refuse unless each newly dispatched department is an active department of the demand's street."""
    ids = set(chosen)
    found = Department.objects.filter(pk__in=ids, street=demand.area.street_id, active=True).count()
    if found != len(ids):
        raise ApplicationError(_("所选部门无效或已停用。"))


def _target_id(target: Any) -> int | None:
    if target is None or target == "":
        return None
    try:
        return int(target)
    except (TypeError, ValueError):
        raise ApplicationError(_("合并目标无效。")) from None


def _check_merge_target(user: User, demand: Demand, target_id: int) -> None:
    if target_id == demand.pk:
        raise ApplicationError(_("不能将诉求合并到它自身。"))
    found = Demand.objects.filter(demand_visible_q(user), pk=target_id).values_list("state", flat=True).first()
    if found is None:
        raise ApplicationError(_("要合并到的诉求不存在或不在您的范围内。"))
    if found == State.MERGED:
        raise ApplicationError(_("要合并到的诉求本身已被合并，请选择它合并到的那一条。"))


@transaction.atomic
def demand_act(
    *,
    user: User,
    demand_id: int,
    action: str,
    expected_version: int | None = None,
    at: datetime | None = None,
    reason: str = "",
    note: str = "",
    departments: Iterable[Any] = (),
    callback_result: str | None = None,
    target: Any = None,
    days: int | None = None,
    suggested_department: Any = None,
) -> Demand:
    """Take one workflow step on a demand as `user`, or raise (and write nothing) saying why not.

    `expected_version` is the version the user's page showed; a different stored version means someone else acted
    in between, and the step is refused rather than taken on a state the user did not see.
    `suggested_department`: with a whistle, the department the head asks the street to send it to (optional); the
    street's dispatch form ticks it first and says why.
    The notices that asked for this step (a whistle's "please accept", a dispatch's "please report") are marked read
    for everyone who got them: the step they asked for is done (`_answer_notices`).
    """
    demand = Demand.objects.select_for_update().select_related("area").filter(pk=demand_id).first()
    if demand is None:
        raise ApplicationError(_("诉求不存在。"))
    if not Demand.objects.filter(demand_visible_q(user), pk=demand.pk).exists():
        raise PermissionDenied(_("您无权处理该诉求：它不在您负责的范围内。"))
    if expected_version is not None and expected_version != demand.version:
        raise StaleDemandError(_("该诉求已被他人更新，请刷新后重试"))

    at = at or timezone.now()
    round_rows = {d.department_id: d for d in Dispatch.objects.filter(demand=demand, round=demand.whistle_round)}
    pending = ExtensionRequest.objects.filter(demand=demand, status=ExtensionStatus.PENDING).first()
    is_liaison = user.role == Role.LIAISON

    outcome = workflow.transition(
        demand.state,
        action,
        actor_role=user.role,
        is_owner=demand.owner_id == user.pk,
        actor_in_area=user.role in scoping.AREA_ROLES and user.area_id == demand.area_id,
        actor_department=user.department_id if is_liaison else None,
        dispatches={department: row.state for department, row in round_rows.items()},
        extension_pending=pending is not None,
        reason=reason,
        departments=_ids(departments),
        callback_result=callback_result,
        target=_target_id(target),
        days=days,
        note=note,
    )
    # Checked after the workflow, so that someone who may not take the step hears that first.
    if outcome.departments:
        _check_departments(demand, outcome.departments)
    if outcome.target is not None:
        _check_merge_target(user, demand, outcome.target)

    params: dict[str, Any] = {}
    if outcome.action == Action.WHISTLE:
        demand.whistle_round += 1
        suggested = _suggested_department(demand, suggested_department)
        if suggested is not None:
            params["suggested_department"] = suggested
    elif outcome.departments:
        _dispatch(demand, outcome.departments, round_rows, at)
        params["departments"] = list(outcome.departments)
    elif is_liaison and user.department_id in round_rows and user.department_id in outcome.dispatches:
        _department_step(round_rows[user.department_id], outcome, at)
        params["department"] = user.department_id
    if outcome.callback_result is not None:
        params["callback_result"] = outcome.callback_result.value
    if outcome.target is not None:
        demand.merged_into_id = outcome.target
        params["target"] = outcome.target
    if outcome.action == Action.REQUEST_EXTENSION:
        assert outcome.days is not None  # the workflow requires it
        ExtensionRequest.objects.create(
            demand=demand,
            requested_by=user,
            department_id=user.department_id if is_liaison else None,
            requested_at=at,
            days=outcome.days,
            reason=outcome.reason,
        )
        params["days"] = outcome.days
    elif outcome.action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
        assert pending is not None  # the workflow refuses a decision with nothing pending
        approved = outcome.action == Action.APPROVE_EXTENSION
        pending.status = ExtensionStatus.APPROVED if approved else ExtensionStatus.DENIED
        pending.decided_by, pending.decided_at, pending.decision_reason = user, at, outcome.reason
        pending.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        params["days"] = pending.days
        if approved and demand.due_at is not None:
            due_day = timezone.localtime(demand.due_at, ZoneInfo(settings.TIME_ZONE)).date()
            demand.due_at = _end_of_workday(add_workdays(due_day, pending.days))

    # A new clock starts when the stage changes (and each time departments are newly dispatched); within a stage
    # the deadline stays, extensions included.
    old_stage, new_stage = _stage(demand, outcome.from_state), _stage(demand, outcome.to_state)
    old_due = demand.due_at
    if new_stage is None:
        demand.due_at = None
    elif new_stage != old_stage or outcome.departments:
        demand.due_at = deadline_from(at, new_stage, demand.area.street_id)

    demand.state = outcome.to_state
    demand.version += 1
    demand.save(update_fields=["state", "version", "whistle_round", "merged_into", "due_at"])
    event = DemandEvent.objects.create(
        demand=demand,
        actor=user,
        at=at,
        action=outcome.action,
        from_state=outcome.from_state,
        to_state=outcome.to_state,
        reason=outcome.reason,
        note=note.strip(),
        params=params,
    )
    _answer_notices(demand, outcome, user, deadline_moved=demand.due_at != old_due)
    transaction.on_commit(partial(notices.demand_stepped, event.pk), robust=True)
    return demand


def _suggested_department(demand: Demand, raw: Any) -> int | None:
    """The whistle's suggested department as an id, refused unless it is an active department of the street."""
    if raw is None or raw == "":
        return None
    (department_id,) = _ids([raw])
    _check_departments(demand, [department_id])
    return department_id


# Which earlier steps' notices a step answers: each of those notices asked for exactly this step (a whistle asks
# the street to accept and dispatch it, a return to dispatch again, a department's 办结 to call the resident back …).
ANSWERS: dict[Action, tuple[Action, ...]] = {
    Action.STREET_ACCEPT: (Action.WHISTLE,),
    Action.REDISPATCH: (Action.RETURN_ORDER,),
    Action.ACKNOWLEDGE: (Action.DISPATCH, Action.REDISPATCH),
    Action.DEPARTMENT_START: (Action.DISPATCH, Action.REDISPATCH),
    Action.RETURN_ORDER: (Action.DISPATCH, Action.REDISPATCH),
    Action.REQUEST_CALLBACK: (Action.DEPARTMENT_RESOLVE,),
    Action.APPROVE_EXTENSION: (Action.REQUEST_EXTENSION,),
    Action.DENY_EXTENSION: (Action.REQUEST_EXTENSION,),
    Action.RESOLVE: (Action.CALLBACK,),
    Action.WHISTLE: (Action.CALLBACK,),
}
# Steps by which a department answers its dispatch: only that department's liaisons were asked.
DEPARTMENT_ANSWERS = frozenset({Action.ACKNOWLEDGE, Action.DEPARTMENT_START, Action.RETURN_ORDER})
# Steps by which the area takes up a demand received elsewhere: its heads' "new demand in your area" is seen to.
AREA_TAKES_UP = frozenset({Action.CONTACT, Action.WHISTLE})


def _answer_notices(demand: Demand, outcome: workflow.Outcome, user: User, *, deadline_moved: bool) -> int:
    """Mark read the notices about `demand` that asked for the step just taken; the one place that does it.

    A final state (结案, 已合并) answers every earlier notice of the demand; a moved deadline answers the overdue
    warnings about the old one. It runs inside the step's transaction, so a refused step answers nothing, and
    before the step's own notices are written (after commit), so those stay unread.
    """
    if outcome.to_state in workflow.TERMINAL_STATES:
        events = DemandEvent.objects.filter(demand=demand).values_list("pk", flat=True)
        return notify.notices_resolve(
            keys=[notices.event_key(pk) for pk in events], key_prefixes=[notices.demand_key_prefix(demand.pk)]
        )
    resolved = 0
    if deadline_moved:
        resolved += notify.notices_resolve(key_prefixes=notices.overdue_key_prefixes(demand.pk))
    keys = [notices.created_key(demand.pk)] if outcome.action in AREA_TAKES_UP else []
    asked = DemandEvent.objects.filter(demand=demand, action__in=ANSWERS.get(outcome.action, ()))
    keys += [notices.event_key(pk) for pk in asked.values_list("pk", flat=True)]
    users = None
    if outcome.action in DEPARTMENT_ANSWERS:
        # A dispatch told several departments at once; one department's report answers its own liaisons only.
        users = User.objects.filter(role=Role.LIAISON, department=user.department_id).values_list("pk", flat=True)
    return resolved + notify.notices_resolve(keys=keys, users=users)


def _dispatch(demand: Demand, added: Iterable[int], round_rows: dict[int, Dispatch], at: datetime) -> None:
    """Dispatch to newly chosen departments; a department that returned its order this round gets it again."""
    again, new = [], []
    for department_id in added:
        row = round_rows.get(department_id)
        if row is None:
            new.append(
                Dispatch(demand=demand, department_id=department_id, round=demand.whistle_round, dispatched_at=at)
            )
        else:
            row.state, row.dispatched_at = DispatchState.DISPATCHED, at
            row.acknowledged_at = row.resolved_at = row.returned_at = None
            row.returned_reason = ""
            again.append(row)
    Dispatch.objects.bulk_create(new)
    Dispatch.objects.bulk_update(
        again, ["state", "dispatched_at", "acknowledged_at", "resolved_at", "returned_at", "returned_reason"]
    )


def _department_step(row: Dispatch, outcome: workflow.Outcome, at: datetime) -> None:
    new_state = outcome.dispatches[row.department_id]
    if new_state == row.state:
        return  # an extension request: the department's progress stays
    row.state = new_state
    fields = ["state"]
    if new_state == DispatchState.ACKNOWLEDGED:
        row.acknowledged_at = at
        fields.append("acknowledged_at")
    elif new_state == DispatchState.RESOLVED:
        row.resolved_at = at
        fields.append("resolved_at")
    elif new_state == DispatchState.RETURNED:
        row.returned_at, row.returned_reason = at, outcome.reason
        fields += ["returned_at", "returned_reason"]
    row.save(update_fields=fields)

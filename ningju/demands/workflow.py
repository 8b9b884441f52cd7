"""The demand workflow as one explicit state machine: states, actions, who may act, and which clock runs when.

Everything here is data plus two pure functions: `transition()` decides one step (or raises `WorkflowError` with a
Chinese message a user can act on) and `allowed_actions()` lists the buttons a page may show. No database: the
service that records events calls `transition()` inside its row lock and stores what the `Outcome` says.

Decisions taken here (the issue note repeats them):

* Area steps (contact, start handling, resolve, hand over to callback, callback, extension requests in area states)
  may be taken by the owner (首问负责人, whoever received the demand, even from another area or the street desk) or by
  any cadre or head of the demand's own area (全岗通). The caller says whether the actor belongs to the demand's area
  (`actor_in_area`); the default is no, so forgetting it refuses rather than allows.
* Only the area head (书记/主任) of the demand's area blows the whistle, and only they may close without a callback
  (resident unreachable or declining): both are the area's formal word, not one cadre's.
* The whistle is for what the area cannot solve (DOMAIN.md: "the residential area handles it → if it cannot, it
  blows the whistle"). Often the head knows that at once (a bar's licence, a road outside the compounds), so the
  whistle is open from every state in which the area holds the demand and has not yet answered it: 受理, 已联系,
  居民区处置 and 再次处置. Not from 办结 or later: the area has answered, and a resident who disagrees says so at
  the callback (不满意 reopens it, and the head may whistle then).
* A department's 办结 says what the department did (the owner reads it to the resident at the callback): a note of
  at least `DEPARTMENT_NOTE_MIN` characters is required.
* A whistle arrives as 已吹哨; the street administrator accepts it (街道受理) and dispatches it to one or more
  departments. Each department's progress is its own small machine (`DispatchState`); the demand shows the least
  advanced department that is still on it, so 部门报到 means every department has reported and 部门办结 means every
  department has finished. A whistle starts a new round of dispatches.
* A department that returns its order (退单) drops out of the round; if none is left the demand goes back to 街道受理
  and the street re-dispatches (重新派单). The street may also add departments while others work.
* Callback: 满意 or 基本满意 closes the demand; 不满意 reopens it (再次处置), after which the area resolves it again
  or whistles again. There is no separate reopen action.
* An extension (延期) is requested with a reason and a number of working days, and approved or refused by the street
  administrator; the state does not change, the deadline module moves the clock.
* Merging as a duplicate is the street administrator's, from any state that is not final, and is final itself.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core.errors import ApplicationError
from ningju.core.models import Role


class State(models.TextChoices):
    ACCEPTED = "accepted", gettext_lazy("受理")
    CONTACTED = "contacted", gettext_lazy("已联系")
    AREA_HANDLING = "area_handling", gettext_lazy("居民区处置")
    RESOLVED = "resolved", gettext_lazy("办结")
    CALLBACK = "callback", gettext_lazy("回访")
    CLOSED = "closed", gettext_lazy("结案")
    WHISTLED = "whistled", gettext_lazy("已吹哨")
    STREET_ACCEPTED = "street_accepted", gettext_lazy("街道受理")
    DISPATCHED = "dispatched", gettext_lazy("已派单")
    ACKNOWLEDGED = "acknowledged", gettext_lazy("部门报到")
    DEPARTMENT_HANDLING = "department_handling", gettext_lazy("部门处置")
    DEPARTMENT_RESOLVED = "department_resolved", gettext_lazy("部门办结")
    REOPENED = "reopened", gettext_lazy("再次处置")
    MERGED = "merged", gettext_lazy("已合并")


TERMINAL_STATES = frozenset({State.CLOSED, State.MERGED})


class Action(models.TextChoices):
    CONTACT = "contact", gettext_lazy("联系")
    START_HANDLING = "start_handling", gettext_lazy("开始处置")
    RESOLVE = "resolve", gettext_lazy("办结")
    REQUEST_CALLBACK = "request_callback", gettext_lazy("转回访")
    CALLBACK = "callback", gettext_lazy("回访")
    CLOSE = "close", gettext_lazy("结案")
    WHISTLE = "whistle", gettext_lazy("吹哨")
    STREET_ACCEPT = "street_accept", gettext_lazy("街道受理")
    DISPATCH = "dispatch", gettext_lazy("派单")
    ACKNOWLEDGE = "acknowledge", gettext_lazy("报到")
    DEPARTMENT_START = "department_start", gettext_lazy("部门开始处置")
    DEPARTMENT_RESOLVE = "department_resolve", gettext_lazy("部门办结")
    RETURN_ORDER = "return_order", gettext_lazy("退单")
    REDISPATCH = "redispatch", gettext_lazy("重新派单")
    REQUEST_EXTENSION = "request_extension", gettext_lazy("申请延期")
    APPROVE_EXTENSION = "approve_extension", gettext_lazy("批准延期")
    DENY_EXTENSION = "deny_extension", gettext_lazy("不同意延期")
    MERGE = "merge", gettext_lazy("合并")


class CallbackResult(models.TextChoices):
    SATISFIED = "satisfied", gettext_lazy("满意")
    BASICALLY_SATISFIED = "basically_satisfied", gettext_lazy("基本满意")
    DISSATISFIED = "dissatisfied", gettext_lazy("不满意")


class DispatchState(models.TextChoices):
    """One department's progress on one dispatched demand."""

    DISPATCHED = "dispatched", gettext_lazy("已派单")
    ACKNOWLEDGED = "acknowledged", gettext_lazy("已报到")
    HANDLING = "handling", gettext_lazy("处置中")
    RESOLVED = "resolved", gettext_lazy("已办结")
    RETURNED = "returned", gettext_lazy("已退单")


class Actor(models.TextChoices):
    """Who may take a step, as the workflow sees them: derived from the role and the actor's tie to the demand."""

    OWNER = "owner", gettext_lazy("首问负责人")
    AREA = "area", gettext_lazy("本居民区干部")
    AREA_HEAD = "area_head", gettext_lazy("本居民区书记/主任")
    STREET = "street", gettext_lazy("街道管理员")
    DEPARTMENT = "department", gettext_lazy("被派单部门的联络员")


class Field(Enum):
    """Inputs an action cannot do without."""

    REASON = "reason"
    DEPARTMENTS = "departments"
    CALLBACK_RESULT = "callback_result"
    TARGET = "target"
    DAYS = "days"
    NOTE = "note"


# The message when an input is missing; %(action)s is the action's label ("吹哨须填写原因").
MISSING = {
    Field.REASON: gettext_lazy("%(action)s须填写原因"),
    Field.DEPARTMENTS: gettext_lazy("%(action)s须选择至少一个部门"),
    Field.CALLBACK_RESULT: gettext_lazy("%(action)s须选择回访结果"),
    Field.TARGET: gettext_lazy("%(action)s须指定重复的诉求"),
    Field.DAYS: gettext_lazy("%(action)s须填写延期的工作日数"),
    Field.NOTE: gettext_lazy("%(action)s须填写办理情况"),
}

# A department's completion note must say what was done: "已处理" says nothing the resident can check.
DEPARTMENT_NOTE_MIN = 5


@dataclass(frozen=True)
class Rule:
    """One allowed step: where it can lead, who may take it, and what it needs.

    `to_states` has one state for a plain step. It has several where the outcome depends on the input (a callback
    result) or on the other departments of the round (the demand shows the least advanced one).
    """

    to_states: frozenset[State]
    actors: frozenset[Actor]
    requires: frozenset[Field] = frozenset()


def _rule(to: State | Iterable[State], actors: Iterable[Actor], requires: Iterable[Field] = ()) -> Rule:
    to_states = frozenset({to}) if isinstance(to, State) else frozenset(to)
    return Rule(to_states, frozenset(actors), frozenset(requires))


AREA_ACTORS = (Actor.OWNER, Actor.AREA)
AREA_STATES = (State.CONTACTED, State.AREA_HANDLING, State.REOPENED)
# Where the area holds the demand unanswered, and so where its head may whistle (see the module docstring).
WHISTLE_STATES = (State.ACCEPTED, *AREA_STATES)
DEPARTMENT_STATES = (State.DISPATCHED, State.ACKNOWLEDGED, State.DEPARTMENT_HANDLING)
# The demand's state in a round of dispatches is that of its least advanced department still on it.
DEPARTMENT_PROGRESS = {
    DispatchState.DISPATCHED: State.DISPATCHED,
    DispatchState.ACKNOWLEDGED: State.ACKNOWLEDGED,
    DispatchState.HANDLING: State.DEPARTMENT_HANDLING,
    DispatchState.RESOLVED: State.DEPARTMENT_RESOLVED,
}
_DEPARTMENT_ORDER = list(DEPARTMENT_PROGRESS)


def _at_or_after(state: State) -> list[State]:
    """Department-phase states no less advanced than `state`: where one department's step can leave the demand."""
    order = list(DEPARTMENT_PROGRESS.values())
    return order[order.index(state) :]


TRANSITIONS: dict[tuple[State, Action], Rule] = {
    # The area's own ladder.
    (State.ACCEPTED, Action.CONTACT): _rule(State.CONTACTED, AREA_ACTORS),
    (State.CONTACTED, Action.START_HANDLING): _rule(State.AREA_HANDLING, AREA_ACTORS),
    (State.AREA_HANDLING, Action.RESOLVE): _rule(State.RESOLVED, AREA_ACTORS),
    (State.REOPENED, Action.RESOLVE): _rule(State.RESOLVED, AREA_ACTORS),
    (State.RESOLVED, Action.REQUEST_CALLBACK): _rule(State.CALLBACK, AREA_ACTORS),
    (State.DEPARTMENT_RESOLVED, Action.REQUEST_CALLBACK): _rule(State.CALLBACK, AREA_ACTORS),
    (State.CALLBACK, Action.CALLBACK): _rule({State.CLOSED, State.REOPENED}, AREA_ACTORS, [Field.CALLBACK_RESULT]),
    (State.CALLBACK, Action.CLOSE): _rule(State.CLOSED, [Actor.AREA_HEAD], [Field.REASON]),
    # The whistle and the street desk.
    **{
        (state, Action.WHISTLE): _rule(State.WHISTLED, [Actor.AREA_HEAD], [Field.REASON])
        for state in WHISTLE_STATES
    },
    (State.WHISTLED, Action.STREET_ACCEPT): _rule(State.STREET_ACCEPTED, [Actor.STREET]),
    (State.STREET_ACCEPTED, Action.DISPATCH): _rule(State.DISPATCHED, [Actor.STREET], [Field.DEPARTMENTS]),
    **{
        (state, Action.REDISPATCH): _rule(State.DISPATCHED, [Actor.STREET], [Field.DEPARTMENTS])
        for state in (State.STREET_ACCEPTED, *DEPARTMENT_STATES)
    },
    # Departments, each on its own dispatch; the demand follows the least advanced one.
    (State.DISPATCHED, Action.ACKNOWLEDGE): _rule(_at_or_after(State.DISPATCHED), [Actor.DEPARTMENT]),
    **{
        (state, Action.DEPARTMENT_START): _rule(_at_or_after(state), [Actor.DEPARTMENT])
        for state in (State.DISPATCHED, State.ACKNOWLEDGED)
    },
    **{
        (state, Action.DEPARTMENT_RESOLVE): _rule(_at_or_after(state), [Actor.DEPARTMENT], [Field.NOTE])
        for state in DEPARTMENT_STATES
    },
    **{
        (state, Action.RETURN_ORDER): _rule(
            [State.STREET_ACCEPTED, *_at_or_after(state)], [Actor.DEPARTMENT], [Field.REASON]
        )
        for state in DEPARTMENT_STATES
    },
    # Extensions: asked for by whoever is handling, decided by the street; the state stays.
    **{
        (state, Action.REQUEST_EXTENSION): _rule(state, AREA_ACTORS, [Field.REASON, Field.DAYS])
        for state in AREA_STATES
    },
    **{
        (state, Action.REQUEST_EXTENSION): _rule(state, [Actor.DEPARTMENT], [Field.REASON, Field.DAYS])
        for state in DEPARTMENT_STATES
    },
    **{
        (state, Action.APPROVE_EXTENSION): _rule(state, [Actor.STREET])
        for state in (*AREA_STATES, *DEPARTMENT_STATES)
    },
    **{
        (state, Action.DENY_EXTENSION): _rule(state, [Actor.STREET], [Field.REASON])
        for state in (*AREA_STATES, *DEPARTMENT_STATES)
    },
    # A duplicate is merged into the demand it repeats, from anywhere not final.
    **{
        (state, Action.MERGE): _rule(State.MERGED, [Actor.STREET], [Field.REASON, Field.TARGET])
        for state in State
        if state not in TERMINAL_STATES
    },
}

# One department's own steps. Extension requests keep its state; a returned department has left the round.
DISPATCH_TRANSITIONS: dict[tuple[DispatchState, Action], DispatchState] = {
    (DispatchState.DISPATCHED, Action.ACKNOWLEDGE): DispatchState.ACKNOWLEDGED,
    (DispatchState.ACKNOWLEDGED, Action.DEPARTMENT_START): DispatchState.HANDLING,
    (DispatchState.HANDLING, Action.DEPARTMENT_RESOLVE): DispatchState.RESOLVED,
    **{
        (state, Action.RETURN_ORDER): DispatchState.RETURNED
        for state in (DispatchState.DISPATCHED, DispatchState.ACKNOWLEDGED, DispatchState.HANDLING)
    },
    **{
        (state, Action.REQUEST_EXTENSION): state
        for state in (DispatchState.DISPATCHED, DispatchState.ACKNOWLEDGED, DispatchState.HANDLING)
    },
}

# Steps after which the demand shows the progress of its round of dispatches rather than a fixed state.
ROUND_STEPS = frozenset(
    {
        Action.DISPATCH,
        Action.REDISPATCH,
        Action.ACKNOWLEDGE,
        Action.DEPARTMENT_START,
        Action.DEPARTMENT_RESOLVE,
        Action.RETURN_ORDER,
    }
)

CALLBACK_STATES = {
    CallbackResult.SATISFIED: State.CLOSED,
    CallbackResult.BASICALLY_SATISFIED: State.CLOSED,
    CallbackResult.DISSATISFIED: State.REOPENED,
}


class DeadlineStage(models.TextChoices):
    """Which clock runs. `handling` becomes `consultation` for a 咨询 and `complex` once a longer limit is approved."""

    FIRST_CONTACT = "first_contact", gettext_lazy("首次联系")
    HANDLING = "handling", gettext_lazy("居民区处置")
    CONSULTATION = "consultation", gettext_lazy("咨询答复")
    COMPLEX = "complex", gettext_lazy("复杂事项处置")
    REOPENED = "reopened", gettext_lazy("再次处置")
    DEPARTMENT_ACK = "department_ack", gettext_lazy("部门报到")
    DEPARTMENT_HANDLING = "department_handling", gettext_lazy("部门处置")


# Working days, from the Shanghai 12345 sub-district rules in DOMAIN.md. DOMAIN.md names no separate department
# handling limit, so a department gets the ordinary five days from its report.
DEFAULT_DEADLINES: dict[DeadlineStage, int] = {
    DeadlineStage.FIRST_CONTACT: 1,
    DeadlineStage.HANDLING: 5,
    DeadlineStage.CONSULTATION: 1,
    DeadlineStage.COMPLEX: 15,
    DeadlineStage.REOPENED: 3,
    DeadlineStage.DEPARTMENT_ACK: 1,
    DeadlineStage.DEPARTMENT_HANDLING: 5,
}

# No clock at the street desk (已吹哨, 街道受理) or while waiting for a callback: DOMAIN.md sets none.
_DEADLINE_STAGES = {
    State.ACCEPTED: DeadlineStage.FIRST_CONTACT,
    State.CONTACTED: DeadlineStage.HANDLING,
    State.AREA_HANDLING: DeadlineStage.HANDLING,
    State.REOPENED: DeadlineStage.REOPENED,
    State.DISPATCHED: DeadlineStage.DEPARTMENT_ACK,
    State.ACKNOWLEDGED: DeadlineStage.DEPARTMENT_HANDLING,
    State.DEPARTMENT_HANDLING: DeadlineStage.DEPARTMENT_HANDLING,
}


def deadline_stage(state: str) -> DeadlineStage | None:
    """The clock that runs while a demand is in `state`, or None where no clock runs."""
    return _DEADLINE_STAGES.get(State(state))


class WorkflowError(ApplicationError):
    """A step that is not allowed now, not allowed to this person, or missing what it needs."""


@dataclass(frozen=True)
class Outcome:
    """What one step does: the event to record and the demand's (and its departments') new state."""

    action: Action
    from_state: State
    to_state: State
    reason: str = ""
    departments: tuple[int, ...] = ()  # newly dispatched by this step
    dispatches: Mapping[int, DispatchState] = field(default_factory=dict)  # the round after this step
    callback_result: CallbackResult | None = None
    target: int | None = None
    days: int | None = None

    @property
    def changes_state(self) -> bool:
        return self.to_state != self.from_state


@dataclass(frozen=True)
class _Context:
    actor_role: str
    is_owner: bool
    actor_in_area: bool
    actor_department: int | None
    dispatches: Mapping[int, DispatchState]
    extension_pending: bool

    @property
    def own_dispatch(self) -> DispatchState | None:
        if self.actor_role != Role.LIAISON or self.actor_department is None:
            return None
        return self.dispatches.get(self.actor_department)

    def actors(self) -> set[Actor]:
        actors = set()
        if self.is_owner:
            actors.add(Actor.OWNER)
        if self.actor_in_area and self.actor_role in (Role.CADRE, Role.AREA_HEAD):
            actors.add(Actor.AREA)
        if self.actor_in_area and self.actor_role == Role.AREA_HEAD:
            actors.add(Actor.AREA_HEAD)
        if self.actor_role == Role.STREET_ADMIN:
            actors.add(Actor.STREET)
        if self.own_dispatch not in (None, DispatchState.RETURNED):
            actors.add(Actor.DEPARTMENT)
        return actors


def _round_state(dispatches: Mapping[int, DispatchState]) -> State:
    on_it = [state for state in dispatches.values() if state != DispatchState.RETURNED]
    if not on_it:
        return State.STREET_ACCEPTED
    return DEPARTMENT_PROGRESS[min(on_it, key=_DEPARTMENT_ORDER.index)]


def _refusal(state: State, action: Action, context: _Context) -> Callable[[], str] | None:
    """Why the step may not be taken now (as a message to build only when shown), or None when it may.

    Everything but the inputs: the step exists here, this actor may take it, and its preconditions hold.
    """
    rule = TRANSITIONS.get((state, action))
    if rule is None:
        return lambda: (
            _("当前状态“%(state)s”不能执行“%(action)s”") % {"state": state.label, "action": action.label}
        )
    if not rule.actors & context.actors():

        def who_may() -> str:
            # Name the actors in a stable order so the message reads the same every time.
            names = _("或").join(str(actor.label) for actor in Actor if actor in rule.actors)
            return _("只有%(actors)s可以%(action)s") % {"actors": names, "action": action.label}

        return who_may
    own = context.own_dispatch
    # The department's own dispatch must allow the step too (报到 once, before 处置, before 办结).
    if rule.actors == {Actor.DEPARTMENT} and own is not None and (own, action) not in DISPATCH_TRANSITIONS:
        return lambda: (
            _("本部门当前状态“%(state)s”不能执行“%(action)s”") % {"state": own.label, "action": action.label}
        )
    if action == Action.DISPATCH and context.dispatches:
        return lambda: _("本轮已派过单，请使用“重新派单”")
    if action == Action.REDISPATCH and not context.dispatches:
        return lambda: _("尚未派单，请先派单")
    if action == Action.REQUEST_EXTENSION and context.extension_pending:
        return lambda: _("已有待审批的延期申请")
    if action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION) and not context.extension_pending:
        return lambda: _("没有待审批的延期申请")
    return None


def transition(
    state: str,
    action: str,
    *,
    actor_role: str,
    is_owner: bool = False,
    actor_in_area: bool = False,
    actor_department: int | None = None,
    dispatches: Mapping[int, str] | None = None,
    extension_pending: bool = False,
    reason: str = "",
    departments: Iterable[int] = (),
    callback_result: str | None = None,
    target: int | None = None,
    days: int | None = None,
    note: str = "",
) -> Outcome:
    """Decide one step of a demand, or raise `WorkflowError` saying why not.

    `is_owner`: the actor is the demand's 首问负责人. `actor_in_area`: the actor's area is the demand's area.
    `actor_department`: a liaison's department. `dispatches`: the departments of the current round of dispatches
    and each one's `DispatchState` (empty before the first dispatch and after each whistle).
    `extension_pending`: an extension request awaits the street's decision. `note`: the step's free text, which
    only a department's 办结 requires.
    """
    current, step = State(state), Action(action)
    round_ = {department: DispatchState(value) for department, value in (dispatches or {}).items()}
    context = _Context(actor_role, is_owner, actor_in_area, actor_department, round_, extension_pending)
    refusal = _refusal(current, step, context)
    if refusal is not None:
        raise WorkflowError(refusal())
    rule = TRANSITIONS[(current, step)]

    reason = reason.strip()
    chosen = list(dict.fromkeys(departments))  # keeps the order the street chose, drops repeats
    given = {
        Field.REASON: bool(reason),
        Field.DEPARTMENTS: bool(chosen),
        Field.CALLBACK_RESULT: bool(callback_result),
        Field.TARGET: target is not None,
        Field.DAYS: days is not None,
        Field.NOTE: bool(note.strip()),
    }
    for needed in Field:  # a fixed order, so the first missing input is always the one named
        if needed in rule.requires and not given[needed]:
            raise WorkflowError(str(MISSING[needed]) % {"action": step.label})
    if Field.CALLBACK_RESULT in rule.requires and callback_result not in CallbackResult.values:
        raise WorkflowError(_("回访结果“%(result)s”无效") % {"result": callback_result})
    if Field.DAYS in rule.requires and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise WorkflowError(_("延期的工作日数须为正整数"))
    if Field.NOTE in rule.requires and len(note.strip()) < DEPARTMENT_NOTE_MIN:
        raise WorkflowError(
            _("%(action)s的办理情况请至少写%(count)s个字：做了什么、结果如何")
            % {"action": step.label, "count": DEPARTMENT_NOTE_MIN}
        )

    result = (
        CallbackResult(callback_result) if callback_result and Field.CALLBACK_RESULT in rule.requires else None
    )
    new_round = dict(round_)
    added: tuple[int, ...] = ()
    if step == Action.WHISTLE:
        new_round = {}  # a whistle starts a fresh round; earlier dispatches stay in the event history
    elif step in (Action.DISPATCH, Action.REDISPATCH):
        added = tuple(d for d in chosen if round_.get(d, DispatchState.RETURNED) == DispatchState.RETURNED)
        if not added:
            raise WorkflowError(_("所选部门都已在处置本诉求，请选择其他部门"))
        new_round.update(dict.fromkeys(added, DispatchState.DISPATCHED))
    elif rule.actors == {Actor.DEPARTMENT} and context.own_dispatch is not None:
        assert context.actor_department is not None  # own_dispatch is found by the department
        new_round[context.actor_department] = DISPATCH_TRANSITIONS[(context.own_dispatch, step)]

    if result is not None:
        to_state = CALLBACK_STATES[result]
    elif step in ROUND_STEPS:
        to_state = _round_state(new_round)
    else:
        (to_state,) = rule.to_states
    # The table is the contract: a step never leads anywhere it does not list.
    assert to_state in rule.to_states, (current, step, to_state)

    return Outcome(
        action=step,
        from_state=current,
        to_state=to_state,
        reason=reason,
        departments=added,
        dispatches=new_round,
        callback_result=result,
        target=target if Field.TARGET in rule.requires else None,
        days=days if Field.DAYS in rule.requires else None,
    )


def allowed_actions(
    state: str,
    actor_role: str,
    *,
    is_owner: bool = False,
    actor_in_area: bool = False,
    actor_department: int | None = None,
    dispatches: Mapping[int, str] | None = None,
    extension_pending: bool = False,
) -> list[Action]:
    """The steps this actor may take now (inputs aside), in the order a page shows its buttons."""
    round_ = {department: DispatchState(value) for department, value in (dispatches or {}).items()}
    context = _Context(actor_role, is_owner, actor_in_area, actor_department, round_, extension_pending)
    current = State(state)
    # Messages are built only for refusals that are shown: a page asks this for every action on every row.
    return [action for action in Action if _refusal(current, action, context) is None]

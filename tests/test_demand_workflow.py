"""The demand workflow: every step allowed to the right people, every other refused with a clear Chinese message,
the full journeys from intake to 结案, and random walks that never leave the map."""

import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import translation

from ningju.core.models import Role
from ningju.demands.workflow import (
    DEFAULT_DEADLINES,
    DISPATCH_TRANSITIONS,
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    Actor,
    DeadlineStage,
    DispatchState,
    Field,
    Outcome,
    State,
    WorkflowError,
    allowed_actions,
    deadline_stage,
    transition,
)

OWN = 1  # the liaison's department in these tests
OTHER = 2  # a second department on the same demand
ELSEWHERE = 3  # a department the demand was never dispatched to

ALL_INPUTS: dict[str, Any] = {
    "reason": "酒吧噪音超出居民区职权",
    "departments": [4],  # a department not yet on the demand
    "callback_result": "satisfied",
    "target": 42,
    "days": 3,
    "note": "已约谈店主，限时整改",
}


def refused_with(message: str) -> pytest.RaisesExc[WorkflowError]:
    """Expect a refusal whose whole message is exactly this."""
    return pytest.raises(WorkflowError, match=f"^{re.escape(message)}$")


@pytest.fixture(autouse=True)
def chinese() -> Iterator[None]:
    with translation.override("zh-hans"):
        yield


@dataclass(frozen=True)
class Persona:
    """Someone who may try a step: a role and their tie to the demand."""

    name: str
    role: str
    is_owner: bool = False
    in_area: bool = False
    department: int | None = None

    def kwargs(self) -> dict[str, Any]:
        return {
            "actor_role": self.role,
            "is_owner": self.is_owner,
            "actor_in_area": self.in_area,
            "actor_department": self.department,
        }


OWNER_FROM_ELSEWHERE = Persona("owner_from_other_area", Role.CADRE, is_owner=True)
AREA_CADRE = Persona("area_cadre", Role.CADRE, in_area=True)
AREA_HEAD = Persona("area_head", Role.AREA_HEAD, in_area=True)
STREET_ADMIN = Persona("street_admin", Role.STREET_ADMIN)
LIAISON = Persona("dispatched_liaison", Role.LIAISON, department=OWN)
OTHER_LIAISON = Persona("other_dispatched_liaison", Role.LIAISON, department=OTHER)
UNDISPATCHED_LIAISON = Persona("undispatched_liaison", Role.LIAISON, department=ELSEWHERE)
CADRE_ELSEWHERE = Persona("cadre_of_other_area", Role.CADRE)
HEAD_ELSEWHERE = Persona("area_head_of_other_area", Role.AREA_HEAD)
PERSONAS = [
    OWNER_FROM_ELSEWHERE,
    AREA_CADRE,
    AREA_HEAD,
    STREET_ADMIN,
    LIAISON,
    UNDISPATCHED_LIAISON,
    CADRE_ELSEWHERE,
    HEAD_ELSEWHERE,
]
# The persona that holds exactly one kind of permission, for the table-driven tests.
PERSONA_FOR = {
    Actor.OWNER: OWNER_FROM_ELSEWHERE,
    Actor.AREA: AREA_CADRE,
    Actor.AREA_HEAD: AREA_HEAD,
    Actor.STREET: STREET_ADMIN,
    Actor.DEPARTMENT: LIAISON,
}


def dispatches_for(state: State, action: Action) -> dict[int, DispatchState]:
    """A round of dispatches that puts the demand in `state` and lets department OWN take `action` (if it is a
    department step): OWN alone, or OWN beside a second department that is behind or ahead of it."""
    if state not in (State.DISPATCHED, State.ACKNOWLEDGED, State.DEPARTMENT_HANDLING, State.STREET_ACCEPTED):
        return {}
    if state == State.STREET_ACCEPTED:
        return {OWN: DispatchState.RETURNED} if action == Action.REDISPATCH else {}
    # Prefer a department that may take the step; for a step outside the table any round in that state will do.
    own_states = [own for own, step in DISPATCH_TRANSITIONS if step == action] + list(DispatchState)
    others: list[DispatchState | None] = [None, *DispatchState]
    for own, other in itertools.product(own_states, others):
        round_ = {OWN: own} if other is None else {OWN: own, OTHER: other}
        if own != DispatchState.RETURNED and round_state(round_) == state:
            return round_
    raise AssertionError(f"no round puts the demand in {state} for {action}")


def round_state(round_: dict[int, DispatchState]) -> State:
    """Independent of the module: the least advanced department still on the demand."""
    order = [DispatchState.DISPATCHED, DispatchState.ACKNOWLEDGED, DispatchState.HANDLING, DispatchState.RESOLVED]
    shown = {
        DispatchState.DISPATCHED: State.DISPATCHED,
        DispatchState.ACKNOWLEDGED: State.ACKNOWLEDGED,
        DispatchState.HANDLING: State.DEPARTMENT_HANDLING,
        DispatchState.RESOLVED: State.DEPARTMENT_RESOLVED,
    }
    on_it = [s for s in round_.values() if s != DispatchState.RETURNED]
    return shown[min(on_it, key=order.index)] if on_it else State.STREET_ACCEPTED


def context_for(state: State, action: Action, persona: Persona) -> dict[str, Any]:
    round_ = dispatches_for(state, action)
    if action == Action.DISPATCH:
        round_ = {}
    return {
        **persona.kwargs(),
        "dispatches": round_,
        "extension_pending": action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION),
    }


ALLOWED = [
    pytest.param(state, action, actor, id=f"{state.value}-{action.value}-{actor.value}")
    for (state, action), rule in TRANSITIONS.items()
    for actor in sorted(rule.actors, key=list(Actor).index)
]


@pytest.mark.parametrize(("state", "action", "actor"), ALLOWED)
def test_every_step_in_the_table_is_allowed_to_each_of_its_actors(
    state: State, action: Action, actor: Actor
) -> None:
    outcome = transition(state, action, **context_for(state, action, PERSONA_FOR[actor]), **ALL_INPUTS)

    rule = TRANSITIONS[(state, action)]
    assert outcome.from_state == state
    assert outcome.action == action
    assert outcome.to_state in rule.to_states
    if len(rule.to_states) == 1:
        assert outcome.to_state == next(iter(rule.to_states))
    assert action in allowed_actions(state, **context_for(state, action, PERSONA_FOR[actor]))


def test_table_covers_the_whole_ladder_and_every_state_is_reachable() -> None:
    reachable = {State.ACCEPTED} | {to for rule in TRANSITIONS.values() for to in rule.to_states}
    assert reachable == set(State)
    leaving = {state for state, _ in TRANSITIONS}
    assert leaving == set(State) - TERMINAL_STATES


INVALID = [
    pytest.param(state, action, id=f"{state.value}-{action.value}")
    for state, action in itertools.product(State, Action)
    if (state, action) not in TRANSITIONS
]


@pytest.mark.parametrize(("state", "action"), INVALID)
def test_every_step_outside_the_table_is_refused_naming_state_and_action(state: State, action: Action) -> None:
    for persona in PERSONAS:
        with pytest.raises(WorkflowError) as refused:
            transition(state, action, **context_for(state, action, persona), **ALL_INPUTS)
        assert refused.value.message == f"当前状态“{state.label}”不能执行“{action.label}”"


def test_dispatching_a_resolved_demand_is_refused_in_plain_chinese() -> None:
    with refused_with("当前状态“办结”不能执行“派单”"):
        transition(State.RESOLVED, Action.DISPATCH, actor_role=Role.STREET_ADMIN, departments=[OWN])


def personas_without(rule_actors: frozenset[Actor]) -> list[Persona]:
    holds = {
        OWNER_FROM_ELSEWHERE: {Actor.OWNER},
        AREA_CADRE: {Actor.AREA},
        AREA_HEAD: {Actor.AREA, Actor.AREA_HEAD},
        STREET_ADMIN: {Actor.STREET},
        LIAISON: {Actor.DEPARTMENT},
        UNDISPATCHED_LIAISON: set(),
        CADRE_ELSEWHERE: set(),
        HEAD_ELSEWHERE: set(),
    }
    return [persona for persona in PERSONAS if not holds[persona] & rule_actors]


WRONG_ROLE = [
    pytest.param(state, action, persona, id=f"{state.value}-{action.value}-{persona.name}")
    for (state, action), rule in TRANSITIONS.items()
    for persona in personas_without(rule.actors)
]


@pytest.mark.parametrize(("state", "action", "persona"), WRONG_ROLE)
def test_every_step_is_refused_to_everyone_else(state: State, action: Action, persona: Persona) -> None:
    with pytest.raises(WorkflowError) as refused:
        transition(state, action, **context_for(state, action, persona), **ALL_INPUTS)

    assert refused.value.message.startswith("只有")
    assert refused.value.message.endswith(f"可以{action.label}")
    assert action not in allowed_actions(state, **context_for(state, action, persona))


@pytest.mark.parametrize(
    ("state", "action", "persona", "message"),
    [
        (State.STREET_ACCEPTED, Action.DISPATCH, AREA_HEAD, "只有街道管理员可以派单"),
        (State.AREA_HANDLING, Action.WHISTLE, AREA_CADRE, "只有本居民区书记/主任可以吹哨"),
        (State.AREA_HANDLING, Action.WHISTLE, OWNER_FROM_ELSEWHERE, "只有本居民区书记/主任可以吹哨"),
        (State.AREA_HANDLING, Action.WHISTLE, HEAD_ELSEWHERE, "只有本居民区书记/主任可以吹哨"),
        (State.ACCEPTED, Action.CONTACT, CADRE_ELSEWHERE, "只有首问负责人或本居民区干部可以联系"),
        (State.ACCEPTED, Action.CONTACT, STREET_ADMIN, "只有首问负责人或本居民区干部可以联系"),
        (State.DISPATCHED, Action.ACKNOWLEDGE, UNDISPATCHED_LIAISON, "只有被派单部门的联络员可以报到"),
        (State.DISPATCHED, Action.ACKNOWLEDGE, STREET_ADMIN, "只有被派单部门的联络员可以报到"),
        (State.CALLBACK, Action.CLOSE, AREA_CADRE, "只有本居民区书记/主任可以结案"),
        (State.AREA_HANDLING, Action.MERGE, AREA_HEAD, "只有街道管理员可以合并"),
        (State.AREA_HANDLING, Action.APPROVE_EXTENSION, AREA_HEAD, "只有街道管理员可以批准延期"),
    ],
)
def test_wrong_role_is_told_who_may(state: State, action: Action, persona: Persona, message: str) -> None:
    with pytest.raises(WorkflowError) as refused:
        transition(state, action, **context_for(state, action, persona), **ALL_INPUTS)
    assert refused.value.message == message


def test_the_head_whistles_wherever_the_area_holds_the_demand_unanswered() -> None:
    """DOMAIN.md: the area handles it, and if it cannot, its head whistles. The head may know that at once (受理),
    after speaking to the resident (已联系), while handling or after a dissatisfied callback; not once answered."""
    for state in (State.ACCEPTED, State.CONTACTED, State.AREA_HANDLING, State.REOPENED):
        outcome = transition(state, Action.WHISTLE, **AREA_HEAD.kwargs(), reason="占道经营超出居民区职权")
        assert (outcome.from_state, outcome.to_state) == (state, State.WHISTLED)
        assert Action.WHISTLE in allowed_actions(state, **AREA_HEAD.kwargs())
        for persona in (AREA_CADRE, OWNER_FROM_ELSEWHERE, HEAD_ELSEWHERE, LIAISON, STREET_ADMIN):
            assert Action.WHISTLE not in allowed_actions(state, **persona.kwargs()), (state, persona.name)
    for state in (State.RESOLVED, State.CALLBACK, State.WHISTLED, State.DEPARTMENT_RESOLVED):
        assert Action.WHISTLE not in allowed_actions(state, **AREA_HEAD.kwargs()), state
    assert deadline_stage(State.WHISTLED) is None  # the first-contact clock stops at the street desk


@pytest.mark.parametrize("note", ["", "   ", "已处理", "  好了  "])
def test_a_department_finishes_only_saying_what_it_did(note: str) -> None:
    with pytest.raises(WorkflowError) as refused:
        transition(
            State.DEPARTMENT_HANDLING,
            Action.DEPARTMENT_RESOLVE,
            **LIAISON.kwargs(),
            dispatches={OWN: DispatchState.HANDLING},
            note=note,
        )
    assert refused.value.message in (
        "部门办结须填写办理情况",
        "部门办结的办理情况请至少写5个字：做了什么、结果如何",
    )
    done = transition(
        State.DEPARTMENT_HANDLING,
        Action.DEPARTMENT_RESOLVE,
        **LIAISON.kwargs(),
        dispatches={OWN: DispatchState.HANDLING},
        note="已约谈经营者，22点后关闭外放",
    )
    assert done.to_state == State.DEPARTMENT_RESOLVED


def test_an_area_user_is_refused_unless_the_caller_confirms_the_area() -> None:
    with refused_with("只有首问负责人或本居民区干部可以联系"):
        transition(State.ACCEPTED, Action.CONTACT, actor_role=Role.CADRE)


MISSING_INPUT = [
    (State.AREA_HANDLING, Action.WHISTLE, AREA_HEAD, "reason", "吹哨须填写原因"),
    (State.ACCEPTED, Action.WHISTLE, AREA_HEAD, "reason", "吹哨须填写原因"),
    (State.DEPARTMENT_HANDLING, Action.DEPARTMENT_RESOLVE, LIAISON, "note", "部门办结须填写办理情况"),
    (State.REOPENED, Action.WHISTLE, AREA_HEAD, "reason", "吹哨须填写原因"),
    (State.STREET_ACCEPTED, Action.DISPATCH, STREET_ADMIN, "departments", "派单须选择至少一个部门"),
    (State.STREET_ACCEPTED, Action.REDISPATCH, STREET_ADMIN, "departments", "重新派单须选择至少一个部门"),
    (State.CALLBACK, Action.CALLBACK, AREA_CADRE, "callback_result", "回访须选择回访结果"),
    (State.CALLBACK, Action.CLOSE, AREA_HEAD, "reason", "结案须填写原因"),
    (State.DEPARTMENT_HANDLING, Action.RETURN_ORDER, LIAISON, "reason", "退单须填写原因"),
    (State.AREA_HANDLING, Action.REQUEST_EXTENSION, AREA_CADRE, "reason", "申请延期须填写原因"),
    (State.AREA_HANDLING, Action.REQUEST_EXTENSION, AREA_CADRE, "days", "申请延期须填写延期的工作日数"),
    (State.ACKNOWLEDGED, Action.REQUEST_EXTENSION, LIAISON, "reason", "申请延期须填写原因"),
    (State.AREA_HANDLING, Action.DENY_EXTENSION, STREET_ADMIN, "reason", "不同意延期须填写原因"),
    (State.CONTACTED, Action.MERGE, STREET_ADMIN, "reason", "合并须填写原因"),
    (State.CONTACTED, Action.MERGE, STREET_ADMIN, "target", "合并须指定重复的诉求"),
]


@pytest.mark.parametrize(
    ("state", "action", "persona", "left_out", "message"),
    [pytest.param(*case, id=f"{case[1].value}-without-{case[3]}") for case in MISSING_INPUT],
)
def test_a_step_without_what_it_needs_is_refused(
    state: State, action: Action, persona: Persona, left_out: str, message: str
) -> None:
    inputs = {key: value for key, value in ALL_INPUTS.items() if key != left_out}
    with pytest.raises(WorkflowError) as refused:
        transition(state, action, **context_for(state, action, persona), **inputs)
    assert refused.value.message == message


def test_every_required_input_in_the_table_is_checked() -> None:
    required = {
        (state, action, needed) for (state, action), rule in TRANSITIONS.items() for needed in rule.requires
    }
    empty: dict[str, Any] = {
        "reason": "",
        "departments": [],
        "callback_result": None,
        "target": None,
        "days": None,
        "note": "",
    }
    for state, action, needed in required:
        rule = TRANSITIONS[(state, action)]
        persona = PERSONA_FOR[min(rule.actors, key=list(Actor).index)]
        with pytest.raises(WorkflowError) as refused:
            transition(
                state,
                action,
                **context_for(state, action, persona),
                **{**ALL_INPUTS, needed.value: empty[needed.value]},
            )
        assert refused.value.message.startswith(str(action.label)), (state, action, needed)


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_a_blank_whistle_reason_is_missing(reason: str) -> None:
    with refused_with("吹哨须填写原因"):
        transition(State.AREA_HANDLING, Action.WHISTLE, **AREA_HEAD.kwargs(), reason=reason)


def test_an_unknown_callback_result_is_refused() -> None:
    with refused_with("回访结果“很好”无效"):
        transition(State.CALLBACK, Action.CALLBACK, **AREA_CADRE.kwargs(), callback_result="很好")


@pytest.mark.parametrize("days", [0, -2, True])
def test_an_extension_needs_a_positive_number_of_working_days(days: int) -> None:
    with refused_with("延期的工作日数须为正整数"):
        transition(
            State.AREA_HANDLING, Action.REQUEST_EXTENSION, **AREA_CADRE.kwargs(), reason="等待维修", days=days
        )


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_a_closed_or_merged_demand_allows_nothing(state: State) -> None:
    for persona in PERSONAS:
        assert allowed_actions(state, **persona.kwargs()) == []
        for action in Action:
            with refused_with(f"当前状态“{state.label}”不能执行“{action.label}”"):
                transition(state, action, **persona.kwargs(), **ALL_INPUTS)


class Demand:
    """A demand walked through the workflow step by step, keeping the state, the round and the event log."""

    def __init__(self) -> None:
        self.state = State.ACCEPTED
        self.dispatches: dict[int, DispatchState] = {}
        self.extension_pending = False
        self.events: list[Outcome] = []

    def do(self, action: Action, persona: Persona, **inputs: Any) -> Outcome:
        outcome = transition(
            self.state,
            action,
            **persona.kwargs(),
            dispatches=self.dispatches,
            extension_pending=self.extension_pending,
            **inputs,
        )
        self.state = outcome.to_state
        self.dispatches = dict(outcome.dispatches)
        if action == Action.REQUEST_EXTENSION:
            self.extension_pending = True
        if action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
            self.extension_pending = False
        self.events.append(outcome)
        return outcome

    @property
    def path(self) -> list[State]:
        return [State.ACCEPTED, *(event.to_state for event in self.events)]


def test_area_handles_it_alone_from_intake_to_closed() -> None:
    demand = Demand()
    demand.do(Action.CONTACT, OWNER_FROM_ELSEWHERE)
    demand.do(Action.START_HANDLING, AREA_CADRE)  # 全岗通: a colleague in the area takes the next step
    demand.do(Action.RESOLVE, OWNER_FROM_ELSEWHERE)
    demand.do(Action.REQUEST_CALLBACK, AREA_CADRE)
    closed = demand.do(Action.CALLBACK, OWNER_FROM_ELSEWHERE, callback_result="basically_satisfied")

    assert demand.path == [
        State.ACCEPTED,
        State.CONTACTED,
        State.AREA_HANDLING,
        State.RESOLVED,
        State.CALLBACK,
        State.CLOSED,
    ]
    assert closed.callback_result == "basically_satisfied"


def test_whistle_to_two_departments_then_satisfied_callback_closes_it() -> None:
    demand = Demand()
    demand.do(Action.CONTACT, AREA_CADRE)
    demand.do(Action.START_HANDLING, AREA_CADRE)
    whistle = demand.do(Action.WHISTLE, AREA_HEAD, reason="深夜酒吧噪音，需城管和市场监管执法")
    assert whistle.reason == "深夜酒吧噪音，需城管和市场监管执法"
    assert demand.state == State.WHISTLED
    assert deadline_stage(demand.state) is None
    demand.do(Action.STREET_ACCEPT, STREET_ADMIN)
    dispatch = demand.do(Action.DISPATCH, STREET_ADMIN, departments=[OWN, OTHER, OWN])
    assert dispatch.departments == (OWN, OTHER)
    assert demand.state == State.DISPATCHED
    assert deadline_stage(demand.state) == DeadlineStage.DEPARTMENT_ACK

    demand.do(Action.ACKNOWLEDGE, LIAISON)
    assert demand.state == State.DISPATCHED  # the other department has not reported yet: its clock still runs
    demand.do(Action.DEPARTMENT_START, LIAISON)
    assert demand.state == State.DISPATCHED
    demand.do(Action.ACKNOWLEDGE, OTHER_LIAISON)
    assert demand.state == State.ACKNOWLEDGED
    demand.do(Action.DEPARTMENT_START, OTHER_LIAISON)
    assert demand.state == State.DEPARTMENT_HANDLING
    demand.do(Action.DEPARTMENT_RESOLVE, OTHER_LIAISON, note="已现场整改完毕")
    assert demand.state == State.DEPARTMENT_HANDLING  # one department is still working
    demand.do(Action.DEPARTMENT_RESOLVE, LIAISON, note="已现场整改完毕")
    assert demand.state == State.DEPARTMENT_RESOLVED
    assert demand.dispatches == {OWN: DispatchState.RESOLVED, OTHER: DispatchState.RESOLVED}

    demand.do(Action.REQUEST_CALLBACK, AREA_CADRE)  # back to the area
    demand.do(Action.CALLBACK, AREA_CADRE, callback_result="satisfied")
    assert demand.state == State.CLOSED


def test_a_department_cannot_skip_or_repeat_its_own_steps() -> None:
    demand = Demand()
    demand.state = State.STREET_ACCEPTED
    demand.do(Action.DISPATCH, STREET_ADMIN, departments=[OWN, OTHER])
    with refused_with("本部门当前状态“已派单”不能执行“部门开始处置”"):
        demand.do(Action.DEPARTMENT_START, LIAISON)
    demand.do(Action.ACKNOWLEDGE, LIAISON)
    with refused_with("本部门当前状态“已报到”不能执行“部门办结”"):
        demand.do(Action.DEPARTMENT_RESOLVE, LIAISON, note="已现场整改完毕")
    with refused_with("本部门当前状态“已报到”不能执行“报到”"):
        demand.do(Action.ACKNOWLEDGE, LIAISON)
    with refused_with("只有被派单部门的联络员可以报到"):
        demand.do(Action.ACKNOWLEDGE, UNDISPATCHED_LIAISON)
    assert allowed_actions(demand.state, **LIAISON.kwargs(), dispatches=demand.dispatches) == [
        Action.DEPARTMENT_START,
        Action.RETURN_ORDER,
        Action.REQUEST_EXTENSION,
    ]
    assert allowed_actions(demand.state, **OTHER_LIAISON.kwargs(), dispatches=demand.dispatches) == [
        Action.ACKNOWLEDGE,
        Action.RETURN_ORDER,
        Action.REQUEST_EXTENSION,
    ]


def test_a_returned_order_goes_back_to_the_street_which_redispatches() -> None:
    demand = Demand()
    demand.state = State.STREET_ACCEPTED
    demand.do(Action.DISPATCH, STREET_ADMIN, departments=[OWN])
    demand.do(Action.ACKNOWLEDGE, LIAISON)
    returned = demand.do(Action.RETURN_ORDER, LIAISON, reason="不属于本部门职责")
    assert returned.reason == "不属于本部门职责"
    assert demand.state == State.STREET_ACCEPTED
    with refused_with("当前状态“街道受理”不能执行“报到”"):
        demand.do(Action.ACKNOWLEDGE, LIAISON)
    with refused_with("本轮已派过单，请使用“重新派单”"):
        demand.do(Action.DISPATCH, STREET_ADMIN, departments=[OTHER])
    assert Action.REDISPATCH in allowed_actions(
        demand.state, **STREET_ADMIN.kwargs(), dispatches=demand.dispatches
    )
    assert Action.DISPATCH not in allowed_actions(
        demand.state, **STREET_ADMIN.kwargs(), dispatches=demand.dispatches
    )

    redispatch = demand.do(Action.REDISPATCH, STREET_ADMIN, departments=[OTHER])
    assert redispatch.departments == (OTHER,)
    assert demand.state == State.DISPATCHED
    demand.do(Action.ACKNOWLEDGE, OTHER_LIAISON)
    demand.do(Action.DEPARTMENT_START, OTHER_LIAISON)
    demand.do(Action.DEPARTMENT_RESOLVE, OTHER_LIAISON, note="已现场整改完毕")
    assert demand.state == State.DEPARTMENT_RESOLVED


def test_one_department_returning_leaves_the_demand_with_the_other() -> None:
    demand = Demand()
    demand.state = State.STREET_ACCEPTED
    demand.do(Action.DISPATCH, STREET_ADMIN, departments=[OWN, OTHER])
    demand.do(Action.ACKNOWLEDGE, OTHER_LIAISON)
    demand.do(Action.DEPARTMENT_START, OTHER_LIAISON)
    demand.do(Action.RETURN_ORDER, LIAISON, reason="非本部门职责")
    assert demand.state == State.DEPARTMENT_HANDLING
    with refused_with("所选部门都已在处置本诉求，请选择其他部门"):
        demand.do(Action.REDISPATCH, STREET_ADMIN, departments=[OTHER])
    demand.do(Action.REDISPATCH, STREET_ADMIN, departments=[OWN])  # the street may send it back after all
    assert demand.state == State.DISPATCHED


def test_dissatisfied_callback_reopens_and_it_is_resolved_again() -> None:
    demand = Demand()
    demand.do(Action.CONTACT, AREA_CADRE)
    demand.do(Action.START_HANDLING, AREA_CADRE)
    demand.do(Action.RESOLVE, AREA_CADRE)
    demand.do(Action.REQUEST_CALLBACK, AREA_CADRE)
    demand.do(Action.CALLBACK, AREA_CADRE, callback_result="dissatisfied")
    assert demand.state == State.REOPENED
    assert deadline_stage(demand.state) == DeadlineStage.REOPENED
    demand.do(Action.RESOLVE, OWNER_FROM_ELSEWHERE)
    demand.do(Action.REQUEST_CALLBACK, AREA_CADRE)
    demand.do(Action.CALLBACK, AREA_CADRE, callback_result="satisfied")
    assert demand.path[-4:] == [State.REOPENED, State.RESOLVED, State.CALLBACK, State.CLOSED]


def test_whistling_again_after_reopening_starts_a_fresh_round_of_dispatches() -> None:
    demand = Demand()
    demand.state = State.STREET_ACCEPTED
    demand.do(Action.DISPATCH, STREET_ADMIN, departments=[OWN])
    demand.do(Action.ACKNOWLEDGE, LIAISON)
    demand.do(Action.DEPARTMENT_START, LIAISON)
    demand.do(Action.DEPARTMENT_RESOLVE, LIAISON, note="已现场整改完毕")
    demand.do(Action.REQUEST_CALLBACK, AREA_CADRE)
    demand.do(Action.CALLBACK, AREA_CADRE, callback_result="dissatisfied")
    demand.do(Action.WHISTLE, AREA_HEAD, reason="部门处置后问题仍在")
    assert demand.dispatches == {}
    demand.do(Action.STREET_ACCEPT, STREET_ADMIN)
    demand.do(Action.DISPATCH, STREET_ADMIN, departments=[OWN])
    assert demand.dispatches == {OWN: DispatchState.DISPATCHED}


def test_an_extension_keeps_the_state_and_waits_for_the_street() -> None:
    demand = Demand()
    demand.do(Action.CONTACT, AREA_CADRE)
    demand.do(Action.START_HANDLING, AREA_CADRE)
    request = demand.do(Action.REQUEST_EXTENSION, AREA_CADRE, reason="等待物业报价", days=10)
    assert (request.to_state, request.days, request.changes_state) == (State.AREA_HANDLING, 10, False)
    with refused_with("已有待审批的延期申请"):
        demand.do(Action.REQUEST_EXTENSION, AREA_CADRE, reason="再等等", days=2)
    assert Action.APPROVE_EXTENSION in allowed_actions(
        demand.state, **STREET_ADMIN.kwargs(), extension_pending=True
    )
    approved = demand.do(Action.APPROVE_EXTENSION, STREET_ADMIN)
    assert approved.to_state == State.AREA_HANDLING
    with refused_with("没有待审批的延期申请"):
        demand.do(Action.DENY_EXTENSION, STREET_ADMIN, reason="不符合条件")
    assert demand.state == State.AREA_HANDLING
    demand.do(Action.RESOLVE, AREA_CADRE)
    assert demand.state == State.RESOLVED


def test_a_duplicate_is_merged_into_its_original_and_goes_no_further() -> None:
    demand = Demand()
    demand.do(Action.CONTACT, AREA_CADRE)
    merged = demand.do(Action.MERGE, STREET_ADMIN, reason="同一酒吧噪音重复反映", target=7)
    assert (merged.to_state, merged.target) == (State.MERGED, 7)
    assert allowed_actions(demand.state, **AREA_HEAD.kwargs()) == []


def test_closing_without_a_callback_is_the_area_heads_with_a_reason() -> None:
    demand = Demand()
    demand.state = State.CALLBACK
    closed = demand.do(Action.CLOSE, AREA_HEAD, reason="居民已搬离，无法回访")
    assert (closed.to_state, closed.callback_result) == (State.CLOSED, None)


def test_buttons_follow_role_and_area() -> None:
    assert allowed_actions(State.AREA_HANDLING, **AREA_CADRE.kwargs()) == [
        Action.RESOLVE,
        Action.REQUEST_EXTENSION,
    ]
    assert allowed_actions(State.AREA_HANDLING, **AREA_HEAD.kwargs()) == [
        Action.RESOLVE,
        Action.WHISTLE,
        Action.REQUEST_EXTENSION,
    ]
    assert allowed_actions(State.AREA_HANDLING, **OWNER_FROM_ELSEWHERE.kwargs()) == [
        Action.RESOLVE,
        Action.REQUEST_EXTENSION,
    ]
    assert allowed_actions(State.AREA_HANDLING, **CADRE_ELSEWHERE.kwargs()) == []
    assert allowed_actions(State.WHISTLED, **STREET_ADMIN.kwargs()) == [Action.STREET_ACCEPT, Action.MERGE]
    assert allowed_actions(State.DISPATCHED, **UNDISPATCHED_LIAISON.kwargs(), dispatches={OWN: "dispatched"}) == []


def test_each_state_names_the_clock_that_runs_in_it() -> None:
    expected = {
        State.ACCEPTED: "first_contact",
        State.CONTACTED: "handling",
        State.AREA_HANDLING: "handling",
        State.REOPENED: "reopened",
        State.DISPATCHED: "department_ack",
        State.ACKNOWLEDGED: "department_handling",
        State.DEPARTMENT_HANDLING: "department_handling",
    }
    for state in State:
        assert deadline_stage(state) == expected.get(state), state
    assert deadline_stage("accepted") == "first_contact"


def test_default_time_limits_are_the_sub_district_rules() -> None:
    assert DEFAULT_DEADLINES == {
        "first_contact": 1,
        "handling": 5,
        "consultation": 1,
        "complex": 15,
        "reopened": 3,
        "department_ack": 1,
        "department_handling": 5,
    }
    assert set(DEFAULT_DEADLINES) == set(DeadlineStage)


@dataclass
class Walk:
    rng: random.Random
    demand: Demand = field(default_factory=Demand)

    def step(self) -> bool:
        """Take one random allowed step by a random persona; False when nobody can do anything."""
        everyone = [*PERSONAS, OTHER_LIAISON]
        options = [
            (persona, action)
            for persona in everyone
            for action in allowed_actions(
                self.demand.state,
                **persona.kwargs(),
                dispatches=self.demand.dispatches,
                extension_pending=self.demand.extension_pending,
            )
        ]
        if not options:
            return False
        # Pick the action first, and merge rarely, so walks go deep instead of ending at the first merge.
        actions = sorted({action for _, action in options}, key=list(Action).index)
        if len(actions) > 1 and Action.MERGE in actions and self.rng.random() < 0.95:
            actions.remove(Action.MERGE)
        action = self.rng.choice(actions)
        persona = self.rng.choice([persona for persona, allowed in options if allowed == action])
        inputs = {
            "reason": "原因",
            "departments": self.rng.sample([OWN, OTHER, ELSEWHERE], self.rng.randint(1, 3)),
            "callback_result": self.rng.choice(["satisfied", "basically_satisfied", "dissatisfied"]),
            "target": 9,
            "days": self.rng.randint(1, 10),
            "note": "已现场整改完毕",
        }
        before = self.demand.state
        try:
            outcome = self.demand.do(action, persona, **inputs)
        except WorkflowError as refused:
            # The only refusal an allowed button may still meet: re-sending departments already on it.
            assert refused.message == "所选部门都已在处置本诉求，请选择其他部门"
            return True
        assert outcome.from_state == before
        assert outcome.to_state in TRANSITIONS[(before, action)].to_states
        return True


@pytest.mark.parametrize("seed", range(200))
def test_random_walks_stay_on_the_map(seed: int) -> None:
    walk = Walk(random.Random(seed))
    for _ in range(60):
        if not walk.step():
            break
        demand = walk.demand
        assert demand.state in set(State)
        if demand.state in (State.DISPATCHED, State.ACKNOWLEDGED, State.DEPARTMENT_HANDLING):
            assert round_state(demand.dispatches) == demand.state
        if demand.state == State.STREET_ACCEPTED:
            assert all(state == DispatchState.RETURNED for state in demand.dispatches.values())
        assert set(demand.dispatches) <= {OWN, OTHER, ELSEWHERE}
    if walk.demand.state in TERMINAL_STATES:
        assert not walk.step()


def test_random_walks_reach_every_state() -> None:
    seen: set[State] = set()
    for seed in range(200):
        walk = Walk(random.Random(seed))
        seen.add(walk.demand.state)
        for _ in range(60):
            if not walk.step():
                break
            seen.add(walk.demand.state)
    assert seen == set(State)


def test_fields_and_actors_are_all_used() -> None:
    assert {needed for rule in TRANSITIONS.values() for needed in rule.requires} == set(Field)
    assert {actor for rule in TRANSITIONS.values() for actor in rule.actors} == set(Actor)

"""The meetings API: scoped reads of meetings, action items, events and scorecards; creating and updating action
items through the same rules as the pages (400 in Chinese, 403 outside the user's scope, nothing written)."""

from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from ningju.core import workdays
from ningju.core.models import User
from ningju.demands.models import Demand
from ningju.demands.services import demand_act, demand_create
from ningju.demands.workflow import Action, State
from ningju.meetings import services
from ningju.meetings.models import ActionItem, ActionStatus, Event, EventKind, MeetingKind, ScorecardIssue
from tests.conftest import World


def api_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content.decode()
    body = response.json()
    return body["results"] if isinstance(body, dict) else body


def handling_demand(world: World) -> Demand:
    demand, _ = demand_create(
        user=world.cadre, area=world.hengdeli, kind="problem", source="visit", text="楼道堆物"
    )
    demand_act(user=world.cadre, demand_id=demand.pk, action=Action.CONTACT)
    return demand_act(user=world.cadre, demand_id=demand.pk, action=Action.START_HANDLING)


def test_meetings_are_listed_and_read_within_scope(world: World) -> None:
    meeting = services.meeting_save(
        user=world.head, kind=MeetingKind.JOINT, title="联席会议", held_at=timezone.now(), area=world.hengdeli
    )
    demand = handling_demand(world)
    services.agenda_add(user=world.head, meeting=meeting, demand_ids=[demand.pk])
    assert [row["id"] for row in results(api_for(world.cadre).get("/api/v1/meetings/"))] == [meeting.pk]
    assert results(api_for(world.other_cadre).get("/api/v1/meetings/")) == []
    detail = api_for(world.admin).get(f"/api/v1/meetings/{meeting.pk}/")
    assert detail.status_code == 200
    assert detail.json()["agenda"] == [
        {"demand": demand.pk, "demand_state": "area_handling", "order": 0, "note": ""}
    ]
    refused = api_for(world.other_cadre).get(f"/api/v1/meetings/{meeting.pk}/")
    assert refused.status_code == 403
    assert "不在您负责的范围内" in refused.json()["detail"]


def test_create_an_action_item_with_a_default_deadline_of_five_working_days(world: World) -> None:
    demand = handling_demand(world)
    response = api_for(world.head).post(
        "/api/v1/action-items/",
        {"title": "清理楼道", "owner": world.cadre.pk, "demands": [demand.pk]},
        format="json",
    )
    assert response.status_code == 201, response.content.decode()
    body = response.json()
    assert body["deadline"] == workdays.add_workdays(timezone.localdate(), 5).isoformat()
    assert (body["owner"], body["demands"], body["status"], body["area"]) == (
        world.cadre.pk,
        [demand.pk],
        "open",
        world.hengdeli.code,
    )


def test_create_refuses_in_chinese_and_writes_nothing(world: World) -> None:
    missing_owner = api_for(world.head).post("/api/v1/action-items/", {"title": "无人负责"}, format="json")
    assert missing_owner.status_code == 400
    assert "请指定责任人或责任部门" in missing_owner.content.decode()
    past = api_for(world.head).post(
        "/api/v1/action-items/",
        {
            "title": "补办",
            "owner": world.cadre.pk,
            "deadline": (timezone.localdate() - timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    assert past.status_code == 400
    assert "完成时限不能早于今天" in past.content.decode()
    assert not ActionItem.objects.exists()


def test_create_with_a_demand_outside_scope_is_forbidden(world: World) -> None:
    demand = handling_demand(world)
    response = api_for(world.other_cadre).post(
        "/api/v1/action-items/",
        {"title": "越权", "owner": world.other_cadre.pk, "demands": [demand.pk]},
        format="json",
    )
    assert response.status_code == 403
    assert not ActionItem.objects.exists()


def test_liaison_lists_only_their_departments_items_and_cannot_update_others(world: World) -> None:
    deadline = workdays.add_workdays(timezone.localdate(), 3)
    theirs = services.action_create(user=world.admin, title="拆违", department=world.department, deadline=deadline)
    other = services.action_create(user=world.head, title="走访", owner=world.cadre, deadline=deadline)
    assert [row["id"] for row in results(api_for(world.liaison).get("/api/v1/action-items/"))] == [theirs.pk]
    assert api_for(world.liaison).get(f"/api/v1/action-items/{other.pk}/").status_code == 403
    assert (
        api_for(world.liaison)
        .patch(f"/api/v1/action-items/{other.pk}/", {"status": "in_progress"}, format="json")
        .status_code
        == 403
    )
    updated = api_for(world.liaison).patch(
        f"/api/v1/action-items/{theirs.pk}/", {"status": "in_progress", "note": "已安排执法队"}, format="json"
    )
    assert updated.status_code == 200
    assert updated.json()["status"] == "in_progress"


def test_patch_to_done_resolves_the_demand_when_its_last_action_is_done(world: World) -> None:
    demand = handling_demand(world)
    item = services.action_create(
        user=world.head,
        title="清理",
        owner=world.cadre,
        deadline=workdays.add_workdays(timezone.localdate(), 2),
        demand_ids=[demand.pk],
    )
    without_result = api_for(world.cadre).patch(
        f"/api/v1/action-items/{item.pk}/", {"status": "done"}, format="json"
    )
    assert without_result.status_code == 400
    assert "完成情况" in without_result.content.decode()
    done = api_for(world.cadre).patch(
        f"/api/v1/action-items/{item.pk}/", {"status": "done", "result": "堆物已清理"}, format="json"
    )
    assert done.status_code == 200, done.content.decode()
    assert done.json()["status"] == ActionStatus.DONE
    demand.refresh_from_db()
    assert demand.state == State.RESOLVED


def test_events_and_scorecards_are_read_within_the_street(world: World) -> None:
    Event.objects.create(
        street=world.street,
        area=world.youyicun,
        kind=EventKind.CULTURE,
        title="又一村合唱",
        organiser="居委会",
        place="活动室",
        starts_at=timezone.now(),
    )
    ScorecardIssue.objects.create(
        street=world.street, subject="area", start=date(2026, 10, 1), end=date(2026, 10, 31), weights={}, rows=[]
    )
    assert results(api_for(world.cadre).get("/api/v1/events/")) == []
    assert [row["title"] for row in results(api_for(world.other_cadre).get("/api/v1/events/"))] == ["又一村合唱"]
    cards = results(api_for(world.cadre).get("/api/v1/scorecards/"))
    assert [(row["subject"], row["start"], row["rows"]) for row in cards] == [("area", "2026-10-01", [])]
    assert results(api_for(world.liaison).get("/api/v1/scorecards/")) == []

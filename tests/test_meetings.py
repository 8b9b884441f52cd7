"""Meetings, the problem list and the action list: who sees and records what, picking demands, turning an agenda
item into an action, and an action list that completes a demand only through the demand workflow."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ningju.core import workdays
from ningju.core.models import Notification, User
from ningju.demands.models import Demand, DemandEvent
from ningju.demands.services import demand_act, demand_create
from ningju.demands.workflow import Action, State
from ningju.meetings import services
from ningju.meetings.models import (
    ActionItem,
    ActionProgress,
    ActionStatus,
    AgendaItem,
    Meeting,
    MeetingKind,
)
from ningju.meetings.selectors import action_colour
from tests.conftest import World


def make_demand(world: World, *, user: User | None = None, area: Any = None, text: str = "楼道堆物") -> Demand:
    demand, _ = demand_create(
        user=user or world.cadre, area=area or world.hengdeli, kind="problem", source="walk_in", text=text
    )
    return demand


def handling_demand(world: World, text: str = "楼道堆物影响通行") -> Demand:
    demand = make_demand(world, text=text)
    demand_act(user=world.cadre, demand_id=demand.pk, action=Action.CONTACT)
    return demand_act(user=world.cadre, demand_id=demand.pk, action=Action.START_HANDLING)


def area_meeting(world: World, **extra: Any) -> Meeting:
    fields: dict[str, Any] = {
        "kind": MeetingKind.JOINT,
        "title": "恒德里1+5+x联席会议",
        "held_at": timezone.now(),
        "area": world.hengdeli,
    }
    fields.update(extra)
    return services.meeting_save(user=world.head, **fields)


def action(world: World, demand: Demand | None = None, **extra: Any) -> ActionItem:
    fields: dict[str, Any] = {
        "title": "清理楼道堆物",
        "owner": world.cadre,
        "deadline": workdays.add_workdays(timezone.localdate(), 5),
        "demand_ids": [demand.pk] if demand else [],
    }
    fields.update(extra)
    return services.action_create(user=world.head, **fields)


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


# --- meetings -------------------------------------------------------------------------------------------------


def test_cadre_of_another_area_cannot_see_an_area_meeting(world: World, client: Client) -> None:
    meeting = area_meeting(world)
    login(client, world.other_cadre)
    assert meeting.title not in client.get(reverse("meeting_list")).content.decode()
    assert client.get(reverse("meeting_detail", args=[meeting.pk])).status_code == 403
    login(client, world.cadre)
    assert meeting.title in client.get(reverse("meeting_list")).content.decode()


def test_street_meeting_is_read_by_every_area_but_recorded_only_by_the_street(
    world: World, client: Client
) -> None:
    analysis = services.meeting_save(
        user=world.admin, kind=MeetingKind.ANALYSIS, title="十一月民情分析会", held_at=timezone.now()
    )
    login(client, world.other_cadre)
    assert client.get(reverse("meeting_detail", args=[analysis.pk])).status_code == 200
    with pytest.raises(PermissionDenied):
        services.meeting_save(user=world.head, kind=MeetingKind.ANALYSIS, title="分析会", held_at=timezone.now())
    with pytest.raises(PermissionDenied):
        services.meeting_save(
            user=world.cadre, meeting=analysis, kind=MeetingKind.OTHER, title="改名", held_at=timezone.now()
        )
    analysis.refresh_from_db()
    assert analysis.title == "十一月民情分析会"


def test_area_head_records_an_area_meeting_from_the_page(world: World, client: Client) -> None:
    login(client, world.head)
    response = client.post(
        reverse("meeting_new"),
        {
            "kind": "joint",
            "title": "十一月例会",
            "held_at": "2026-11-20T14:00",
            "status": "planned",
            "place": "活动室",
        },
    )
    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert (meeting.area, meeting.created_by) == (world.hengdeli, world.head)
    assert client.get(reverse("meeting_list") + "?month=2026-11").content.decode().count("十一月例会") >= 1
    assert "十一月例会" not in client.get(reverse("meeting_list") + "?month=2026-10").content.decode()


def test_a_troika_meeting_without_a_compound_is_refused_in_chinese(world: World, client: Client) -> None:
    login(client, world.head)
    response = client.post(
        reverse("meeting_new"),
        {"kind": "troika", "title": "合署办公", "held_at": "2026-11-20T14:00", "status": "planned"},
    )
    assert response.status_code == 400
    assert "三驾马车现场合署办公须选择小区" in response.content.decode()
    assert not Meeting.objects.exists()


def test_attendees_can_be_platform_users_or_named_outside_parties(world: World, client: Client) -> None:
    meeting = area_meeting(world)
    login(client, world.head)
    client.post(
        reverse("meeting_attendee_add", args=[meeting.pk]), {"person": world.cadre.pk, "party": "committee"}
    )
    client.post(
        reverse("meeting_attendee_add", args=[meeting.pk]),
        {"name": "张警官", "party": "police", "organisation": "江宁路派出所"},
    )
    names = set(meeting.attendees.values_list("name", "party"))
    assert names == {(world.cadre.display_name, "committee"), ("张警官", "police")}
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    assert "张警官" in page and "社区民警" in page


# --- problem list ---------------------------------------------------------------------------------------------


def test_agenda_picker_offers_only_visible_open_demands_and_adds_the_chosen(world: World, client: Client) -> None:
    mine = make_demand(world, text="恒德里电梯故障")
    elsewhere = make_demand(world, user=world.other_cadre, area=world.youyicun, text="又一村路灯不亮")
    meeting = area_meeting(world)
    login(client, world.head)
    page = client.get(reverse("meeting_agenda", args=[meeting.pk])).content.decode()
    assert "恒德里电梯故障" in page and "又一村路灯不亮" not in page

    refused = client.post(reverse("meeting_agenda", args=[meeting.pk]), {"demands": [elsewhere.pk]})
    assert refused.status_code == 400
    assert not AgendaItem.objects.exists()

    client.post(reverse("meeting_agenda", args=[meeting.pk]), {"demands": [mine.pk]})
    assert list(meeting.agenda.all()) == [mine]
    assert "恒德里电梯故障" not in client.get(reverse("meeting_agenda", args=[meeting.pk])).content.decode()


def test_agenda_overdue_filter_lists_only_demands_past_their_deadline(world: World, client: Client) -> None:
    late = make_demand(world, text="逾期的诉求")
    make_demand(world, text="按时的诉求")
    Demand.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=1))
    meeting = area_meeting(world)
    login(client, world.head)
    page = client.get(reverse("meeting_agenda", args=[meeting.pk]) + "?show=overdue").content.decode()
    assert "逾期的诉求" in page and "按时的诉求" not in page


def test_an_agenda_item_becomes_an_action_with_a_deadline_in_working_days(world: World, client: Client) -> None:
    demand = make_demand(world, text="小区门口共享单车乱停")
    meeting = area_meeting(world)
    services.agenda_add(user=world.head, meeting=meeting, demand_ids=[demand.pk])
    item = AgendaItem.objects.get()
    login(client, world.head)
    form = client.get(reverse("meeting_agenda_action", args=[item.pk])).content.decode()
    assert "小区门口共享单车乱停" in form
    response = client.post(
        reverse("meeting_agenda_action", args=[item.pk]),
        {"title": "联系物业规范停放", "owner": world.cadre.pk, "days": 5, "demands": [demand.pk]},
    )
    assert response.status_code == 302
    created = ActionItem.objects.get()
    assert created.meeting == meeting
    assert created.deadline == workdays.add_workdays(timezone.localdate(), 5)
    assert list(created.demands.all()) == [demand]
    assert created.area == world.hengdeli
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    assert "联系物业规范停放" in page


def test_an_action_without_owner_or_department_is_refused(world: World, client: Client) -> None:
    login(client, world.head)
    response = client.post(reverse("action_new"), {"title": "无人负责", "days": 3})
    assert response.status_code == 400
    assert "请指定责任人或责任部门" in response.content.decode()
    assert not ActionItem.objects.exists()


# --- action list ----------------------------------------------------------------------------------------------


def test_liaison_sees_only_their_departments_action_items(world: World, client: Client) -> None:
    theirs = action(world, title="拆除违章搭建", owner=None, department=world.department)
    other = action(world, title="走访独居老人")
    login(client, world.liaison)
    page = client.get(reverse("action_list")).content.decode()
    assert "拆除违章搭建" in page and "走访独居老人" not in page
    assert client.get(reverse("action_detail", args=[other.pk])).status_code == 403
    assert client.get(reverse("action_detail", args=[theirs.pk])).status_code == 200


def test_area_tab_and_overdue_tab(world: World, client: Client) -> None:
    action(world, title="本居民区事项", owner=world.head)
    late = action(world, title="超期事项")
    ActionItem.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - timedelta(days=2))
    login(client, world.cadre)
    mine = client.get(reverse("action_list")).content.decode()
    assert "超期事项" in mine and "本居民区事项" not in mine
    assert "本居民区事项" in client.get(reverse("action_list") + "?tab=scope").content.decode()
    overdue = client.get(reverse("action_list") + "?tab=overdue").content.decode()
    assert "超期事项" in overdue and "本居民区事项" not in overdue and "已超期" in overdue


def test_overdue_colour_is_yellow_on_the_deadline_day_and_red_after() -> None:
    today = date(2026, 11, 20)
    item = ActionItem(deadline=today, status=ActionStatus.OPEN)
    assert action_colour(item, today) == "yellow"
    assert action_colour(item, today - timedelta(days=1)) == ""
    assert action_colour(item, today + timedelta(days=1)) == "red"
    item.status = ActionStatus.DONE
    assert action_colour(item, today + timedelta(days=1)) == ""


def test_progress_note_is_recorded_with_its_status(world: World, client: Client) -> None:
    item = action(world)
    login(client, world.cadre)
    response = client.post(
        reverse("action_detail", args=[item.pk]), {"status": "in_progress", "note": "已联系物业", "result": ""}
    )
    assert response.status_code == 302
    progress = ActionProgress.objects.get()
    assert (progress.status, progress.note, progress.author) == ("in_progress", "已联系物业", world.cadre)


def test_done_needs_a_result(world: World) -> None:
    item = action(world)
    from ningju.core.errors import ApplicationError

    with pytest.raises(ApplicationError, match="完成情况"):
        services.action_update(user=world.cadre, item_id=item.pk, status=ActionStatus.DONE)
    item.refresh_from_db()
    assert item.status == ActionStatus.OPEN


# --- closing the loop -----------------------------------------------------------------------------------------


def test_finishing_all_actions_of_a_handled_demand_resolves_it_through_the_workflow(world: World) -> None:
    demand = handling_demand(world)
    first = action(world, demand, title="清理堆物")
    second = action(world, demand, title="张贴告示")
    services.action_update(user=world.cadre, item_id=first.pk, status=ActionStatus.DONE, result="已清理")
    demand.refresh_from_db()
    assert demand.state == State.AREA_HANDLING

    services.action_update(user=world.cadre, item_id=second.pk, status=ActionStatus.DONE, result="已张贴")
    demand.refresh_from_db()
    assert demand.state == State.RESOLVED
    event = DemandEvent.objects.filter(demand=demand).order_by("-id").first()
    assert event is not None
    assert (event.action, event.actor) == (Action.RESOLVE, world.cadre)
    assert "行动清单事项全部完成" in event.note


def test_a_demand_the_workflow_cannot_resolve_stays_and_its_owner_is_told(world: World) -> None:
    demand = make_demand(world)  # just received: RESOLVE is not a step from 受理
    item = action(world, demand, owner=world.head)
    services.action_update(user=world.head, item_id=item.pk, status=ActionStatus.DONE, result="已处理")
    demand.refresh_from_db()
    item.refresh_from_db()
    assert demand.state == State.ACCEPTED
    assert item.status == ActionStatus.DONE
    notice = Notification.objects.get(user=world.cadre)
    assert f"#{demand.pk}" in notice.title


def test_demand_page_shows_its_meetings_and_actions(world: World, client: Client) -> None:
    demand = handling_demand(world)
    meeting = area_meeting(world, title="十一月联席会议")
    services.agenda_add(user=world.head, meeting=meeting, demand_ids=[demand.pk])
    action(world, demand, title="约谈物业经理", meeting=meeting)
    login(client, world.cadre)
    page = client.get(reverse("demand_detail", args=[demand.pk])).content.decode()
    assert "会议与行动" in page and "十一月联席会议" in page and "约谈物业经理" in page


def test_meeting_files_are_checked_stored_and_served_only_in_scope(
    world: World, client: Client, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    meeting = area_meeting(world)
    login(client, world.head)
    assert client.get(reverse("meeting_edit", args=[meeting.pk])).status_code == 200
    fake = SimpleUploadedFile("纪要.pdf", b"not a pdf", content_type="application/pdf")
    client.post(reverse("meeting_file_add", args=[meeting.pk]), {"file": fake})
    assert not meeting.files.exists()
    pdf = SimpleUploadedFile("纪要.pdf", b"%PDF-1.4 minutes", content_type="application/pdf")
    client.post(reverse("meeting_file_add", args=[meeting.pk]), {"file": pdf})
    stored = meeting.files.get()
    assert client.get(reverse("meeting_file", args=[stored.pk])).status_code == 200
    login(client, world.other_cadre)
    assert client.get(reverse("meeting_file", args=[stored.pk])).status_code == 403
    assert client.get(reverse("meeting_edit", args=[meeting.pk])).status_code == 403

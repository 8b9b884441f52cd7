"""Community-building events, registrations and attendance, participation totals in the article's words, and cadre
training with hours per cadre: scoped like everything else, capacity respected, numbers equal to direct counts."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ningju.core.errors import ApplicationError
from ningju.core.models import Role, User
from ningju.meetings import participation
from ningju.meetings.models import (
    Attendee,
    Event,
    EventKind,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Registration,
    TrainingAttendance,
    TrainingKind,
    TrainingSession,
)
from ningju.registry.models import ResidentialArea
from tests import factories
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def make_event(world: World, area: ResidentialArea | None = None, **kwargs: Any) -> Event:
    fields: dict[str, Any] = {
        "street": world.street,
        "area": area,
        "kind": EventKind.SELF_GOVERNANCE,
        "title": "楼道微更新议事",
        "organiser": "恒德里居委会",
        "place": "居民区活动室",
        "starts_at": at(2026, 3, 14),
        **kwargs,
    }
    return Event.objects.create(**fields)


def make_planning(world: World, area: ResidentialArea | None, held_at: datetime, **kwargs: Any) -> Meeting:
    fields: dict[str, Any] = {
        "street": world.street,
        "area": area,
        "kind": MeetingKind.PLANNING,
        "status": MeetingStatus.HELD,
        "title": "社区营造策划会",
        "held_at": held_at,
        **kwargs,
    }
    return Meeting.objects.create(**fields)


def register(event: Event, name: str, *, attended: bool = False, volunteer: bool = False) -> Registration:
    return Registration.objects.create(
        event=event,
        name=name,
        walk_in=True,
        attended=attended,
        volunteer=volunteer,
        registered_at=event.starts_at - timedelta(days=3),
    )


# --- scoping ----------------------------------------------------------------------------------------------------


def test_cadre_of_youyicun_cannot_see_hengdeli_event(world: World, client: Client) -> None:
    event = make_event(world, world.hengdeli, title="恒德里宝宝屋")
    client.force_login(world.other_cadre)
    assert client.get(reverse("event_detail", args=[event.pk])).status_code == 403
    listing = client.get(reverse("event_list"))
    assert listing.status_code == 200
    assert "恒德里宝宝屋" not in listing.content.decode()


def test_area_users_see_their_own_and_street_wide_events(world: World, client: Client) -> None:
    make_event(world, world.hengdeli, title="恒德里议事吧")
    make_event(world, None, title="全街道志愿服务日")
    make_event(world, world.youyicun, title="又一村文体活动")
    client.force_login(world.cadre)
    page = client.get(reverse("event_list")).content.decode()
    assert "恒德里议事吧" in page
    assert "全街道志愿服务日" in page
    assert "又一村文体活动" not in page


def test_liaison_and_nobody_get_403_on_every_page(world: World, client: Client) -> None:
    event = make_event(world, world.hengdeli)
    for user in (world.liaison, world.nobody):
        client.force_login(user)
        for url in (
            reverse("event_list"),
            reverse("event_detail", args=[event.pk]),
            reverse("participation"),
            reverse("training_list"),
        ):
            assert client.get(url).status_code == 403, (user.username, url)


def test_event_list_filters_by_kind_month_and_area(world: World, client: Client) -> None:
    make_event(world, world.hengdeli, title="三月宝宝屋", kind=EventKind.BABY_HOUSE, starts_at=at(2026, 3, 2))
    make_event(world, world.hengdeli, title="四月宝宝屋", kind=EventKind.BABY_HOUSE, starts_at=at(2026, 4, 2))
    make_event(world, world.youyicun, title="三月议事吧", kind=EventKind.DISCUSSION, starts_at=at(2026, 3, 9))
    client.force_login(world.admin)
    page = client.get(reverse("event_list"), {"kind": "baby_house", "month": "2026-03"}).content.decode()
    assert "三月宝宝屋" in page and "四月宝宝屋" not in page and "三月议事吧" not in page
    page = client.get(reverse("event_list"), {"area": world.youyicun.code}).content.decode()
    assert "三月议事吧" in page and "三月宝宝屋" not in page
    bad = client.get(reverse("event_list"), {"month": "三月"})
    assert "请输入有效的月份" in bad.content.decode()


# --- create and edit --------------------------------------------------------------------------------------------


def event_post(**changes: Any) -> dict[str, Any]:
    return {
        "kind": EventKind.BABY_HOUSE,
        "title": "宝宝屋亲子阅读",
        "organiser": "恒德里居委会",
        "place": "宝宝屋",
        "starts_at": "2026-03-20T09:30",
        "ends_at": "2026-03-20T11:00",
        "capacity": "2",
        "description": "",
        **changes,
    }


def test_cadre_creates_event_in_own_area_linked_to_planning_meeting(world: World, client: Client) -> None:
    planning = make_planning(world, world.hengdeli, at(2026, 3, 1))
    client.force_login(world.cadre)
    response = client.post(
        reverse("event_new"), event_post(area=world.hengdeli.pk, planning_meetings=[planning.pk])
    )
    event = Event.objects.get()
    assert response.status_code == 302
    assert event.area == world.hengdeli and event.created_by == world.cadre
    assert event.starts_at == at(2026, 3, 20, 9).replace(minute=30)
    assert list(event.planning_meetings.all()) == [planning]
    assert list(planning.prepared_events.all()) == [event]


def test_cadre_cannot_create_event_in_other_area_or_street_wide(world: World, client: Client) -> None:
    client.force_login(world.cadre)
    response = client.post(reverse("event_new"), event_post(area=world.youyicun.pk))
    assert "您不能在该居民区创建活动" in response.content.decode()
    response = client.post(reverse("event_new"), event_post(area=""))
    assert response.status_code == 200
    assert not Event.objects.exists()
    with pytest.raises(PermissionDenied):
        participation.event_create(
            user=world.cadre,
            area=None,
            kind=EventKind.OTHER,
            title="x",
            organiser="x",
            place="x",
            starts_at=at(2026, 3, 1),
        )


def test_street_admin_creates_street_wide_event_and_liaison_cannot_create(world: World, client: Client) -> None:
    client.force_login(world.admin)
    assert client.post(reverse("event_new"), event_post(area="")).status_code == 302
    assert Event.objects.get().area is None
    client.force_login(world.liaison)
    assert client.get(reverse("event_new")).status_code == 403


def test_event_form_refuses_end_before_start_and_other_area_planning_meeting(world: World, client: Client) -> None:
    other = make_planning(world, world.youyicun, at(2026, 3, 1), title="又一村策划会")
    client.force_login(world.admin)
    response = client.post(reverse("event_new"), event_post(area=world.hengdeli.pk, ends_at="2026-03-19T09:00"))
    assert "结束时间不能早于开始时间" in response.content.decode()
    response = client.post(reverse("event_new"), event_post(area=world.hengdeli.pk, planning_meetings=[other.pk]))
    assert "属于其他居民区" in response.content.decode()
    assert not Event.objects.exists()


def test_other_area_cadre_cannot_edit_and_capacity_cannot_drop_below_registrations(
    world: World, client: Client
) -> None:
    event = make_event(world, world.hengdeli, capacity=5)
    register(event, "甲")
    register(event, "乙")
    client.force_login(world.other_cadre)
    assert client.get(reverse("event_edit", args=[event.pk])).status_code == 403
    client.force_login(world.head)
    response = client.post(
        reverse("event_edit", args=[event.pk]),
        event_post(area=world.hengdeli.pk, starts_at="2026-03-14T10:00", ends_at="", capacity="1"),
    )
    assert "名额不能少于已报名人数（2人）" in response.content.decode()
    event.refresh_from_db()
    assert event.capacity == 5


# --- registrations ----------------------------------------------------------------------------------------------


def test_cadre_registers_resident_found_in_registry_with_masked_phone(world: World, client: Client) -> None:
    event = make_event(world, world.hengdeli)
    client.force_login(world.cadre)
    found = client.get(reverse("event_residents", args=[event.pk]), {"q": "王秀"}, HTTP_HX_REQUEST="true")
    html = found.content.decode()
    assert "王秀英" in html
    assert "13812345678" not in html and "138****5678" in html
    # A resident of the other area is not offered.
    assert "李建国" not in client.get(reverse("event_residents", args=[event.pk]), {"q": "李"}).content.decode()

    response = client.post(reverse("event_register", args=[event.pk]), {"resident": world.resident.pk})
    assert response.status_code == 302
    registration = Registration.objects.get(event=event)
    assert registration.resident == world.resident and registration.name == "王秀英"
    assert not registration.walk_in and not registration.attended
    again = participation.resident_search(world.cadre, event, "王秀")
    assert again == []  # already registered


def test_cadre_cannot_register_resident_of_other_area(world: World, client: Client) -> None:
    event = make_event(world, None)  # street-wide: any area user may register their own residents
    client.force_login(world.cadre)
    response = client.post(
        reverse("event_register", args=[event.pk]), {"resident": world.other_resident.pk}, HTTP_HX_REQUEST="true"
    )
    missing = client.post(
        reverse("event_register", args=[event.pk]),
        {"resident": world.other_resident.pk + 1000},
        HTTP_HX_REQUEST="true",
    )
    # Another area's resident reads exactly like one that does not exist (issue 9): no oracle on who lives where.
    assert response.status_code == missing.status_code == 400
    assert response.content == missing.content
    assert not Registration.objects.exists()
    client.force_login(world.other_cadre)
    client.post(reverse("event_register", args=[event.pk]), {"resident": world.other_resident.pk})
    assert Registration.objects.get().resident == world.other_resident


def test_same_resident_registers_once(world: World) -> None:
    event = make_event(world, world.hengdeli)
    participation.registration_add(user=world.cadre, event=event, resident=world.resident)
    with pytest.raises(ApplicationError, match="已经报名"):
        participation.registration_add(user=world.cadre, event=event, resident=world.resident)
    assert Registration.objects.count() == 1


def test_walk_in_by_name_and_empty_name_refused(world: World, client: Client) -> None:
    event = make_event(world, world.hengdeli)
    client.force_login(world.cadre)
    client.post(reverse("event_register", args=[event.pk]), {"name": "  张阿姨 "}, HTTP_HX_REQUEST="true")
    registration = Registration.objects.get()
    assert registration.name == "张阿姨" and registration.walk_in and registration.resident is None
    response = client.post(reverse("event_register", args=[event.pk]), {"name": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "请填写报名人姓名" in response.content.decode()
    assert Registration.objects.count() == 1


def test_registration_beyond_capacity_is_refused_but_on_the_spot_walk_in_is_signed_in(
    world: World, client: Client
) -> None:
    now = timezone.now()
    event = make_event(world, world.hengdeli, capacity=1, starts_at=now - timedelta(hours=1))
    participation.registration_add(user=world.cadre, event=event, name="甲")
    client.force_login(world.cadre)
    refused = client.post(reverse("event_register", args=[event.pk]), {"name": "乙"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "名额已满（1人），不能再报名" in refused.content.decode()
    assert Registration.objects.count() == 1

    spot = client.post(
        reverse("event_register", args=[event.pk]), {"name": "乙", "on_the_spot": "on"}, HTTP_HX_REQUEST="true"
    )
    assert spot.status_code == 200
    assert "乙已现场签到" in spot.content.decode()
    assert "现场签到超出名额 1 人" in spot.content.decode()
    counts = participation.event_counts(event)
    assert (counts.registered, counts.attended, counts.places_taken, counts.over_capacity) == (2, 1, 1, 1)


def test_on_the_spot_sign_in_waits_for_the_event_day(world: World) -> None:
    event = make_event(world, world.hengdeli, starts_at=timezone.now() + timedelta(days=3))
    with pytest.raises(ApplicationError, match="活动当天才能现场签到"):
        participation.registration_add(user=world.cadre, event=event, name="丙", on_the_spot=True)
    assert not Registration.objects.exists()


def test_marking_attendance_and_volunteers_gives_the_counts(world: World, client: Client) -> None:
    event = make_event(world, world.hengdeli)
    first = register(event, "甲")
    second = register(event, "乙")
    register(event, "丙")
    client.force_login(world.cadre)
    url = reverse("event_registration", args=[first.pk])
    client.post(url, {"op": "attend"})
    client.post(url, {"op": "volunteer"})
    client.post(reverse("event_registration", args=[second.pk]), {"op": "attend"})
    response = client.post(
        reverse("event_registration", args=[second.pk]), {"op": "cancel"}, HTTP_HX_REQUEST="true"
    )
    assert "已签到的报名不能取消" in response.content.decode()
    counts = participation.event_counts(event)
    assert (counts.registered, counts.attended, counts.volunteers) == (3, 2, 1)
    page = client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert 'data-count="attended">2<' in page and 'data-count="volunteers">1<' in page


def test_other_area_cadre_cannot_mark_attendance(world: World, client: Client) -> None:
    event = make_event(world, world.hengdeli)
    registration = register(event, "甲")
    client.force_login(world.other_cadre)
    assert client.post(reverse("event_registration", args=[registration.pk]), {"op": "attend"}).status_code == 403
    registration.refresh_from_db()
    assert not registration.attended


# --- participation totals ---------------------------------------------------------------------------------------


@pytest.fixture
def year_of_activity(world: World) -> dict[str, Any]:
    """2025: three held planning meetings (two in 恒德里, one street-wide) with attendees, a planned and a
    cancelled one and one of another kind that do not count; events in both areas and street-wide; one
    planning meeting and one event in 2024 outside the period."""
    p1 = make_planning(world, world.hengdeli, at(2025, 2, 1))
    p2 = make_planning(world, world.hengdeli, at(2025, 6, 1))
    p3 = make_planning(world, None, at(2025, 9, 1))
    make_planning(world, world.hengdeli, at(2025, 10, 1), status=MeetingStatus.PLANNED)
    make_planning(world, world.youyicun, at(2025, 10, 2), status=MeetingStatus.CANCELLED)
    make_planning(world, world.youyicun, at(2025, 10, 3), kind=MeetingKind.ANALYSIS)
    old = make_planning(world, world.hengdeli, at(2024, 12, 31, 23))
    for meeting, n in ((p1, 4), (p2, 3), (p3, 5), (old, 9)):
        Attendee.objects.bulk_create([Attendee(meeting=meeting, name=f"参会{i}") for i in range(n)])
    e1 = make_event(world, world.hengdeli, starts_at=at(2025, 3, 1), kind=EventKind.BABY_HOUSE)
    e2 = make_event(world, world.youyicun, starts_at=at(2025, 7, 1), kind=EventKind.DISCUSSION)
    e3 = make_event(world, None, starts_at=at(2025, 12, 31, 22), kind=EventKind.VOLUNTEER)
    e_old = make_event(world, world.hengdeli, starts_at=at(2024, 12, 31, 20))
    for event, attended, absent, volunteers in ((e1, 6, 2, 1), (e2, 10, 1, 2), (e3, 3, 0, 3), (e_old, 7, 0, 0)):
        for i in range(attended):
            register(event, f"到{i}", attended=True, volunteer=i < volunteers)
        for i in range(absent):
            register(event, f"缺{i}")
    return {"start": date(2025, 1, 1), "end": date(2025, 12, 31)}


def test_street_totals_equal_direct_counts(world: World, year_of_activity: dict[str, Any]) -> None:
    totals = participation.participation_totals(world.street, None, date(2025, 1, 1), date(2025, 12, 31))
    assert totals.planning_meetings == 3
    assert totals.planning_attendance == 4 + 3 + 5
    assert totals.events == 3
    assert totals.event_attendance == 6 + 10 + 3
    assert totals.participants == 12 + 19
    assert totals.volunteers == 1 + 2 + 3
    assert totals.events_by_kind == {"baby_house": 1, "discussion": 1, "volunteer": 1}
    assert totals.line() == "召开社区营造策划会3场，参与居民31人次，开展自治活动3场"


def test_area_totals_count_only_the_areas_own_rows(world: World, year_of_activity: dict[str, Any]) -> None:
    totals = participation.participation_totals(world.street, world.hengdeli, date(2025, 1, 1), date(2025, 12, 31))
    assert (totals.planning_meetings, totals.participants, totals.events) == (2, 7 + 6, 1)
    lines = {
        line.key: line
        for line in participation.participation_by_area(world.street, date(2025, 1, 1), date(2025, 12, 31))
    }
    assert (lines[world.hengdeli.code].planning_meetings, lines[world.hengdeli.code].participants) == (2, 13)
    assert (lines[world.youyicun.code].events, lines[world.youyicun.code].participants) == (1, 10)
    assert (lines["street"].planning_meetings, lines["street"].participants, lines["street"].events) == (1, 8, 1)
    assert sum(line.participants for line in lines.values()) == 31


def test_period_edges_follow_shanghai_days(world: World, year_of_activity: dict[str, Any]) -> None:
    totals = participation.participation_totals(world.street, None, date(2024, 12, 31), date(2024, 12, 31))
    assert (totals.planning_meetings, totals.planning_attendance, totals.events, totals.event_attendance) == (
        1,
        9,
        1,
        7,
    )


def test_future_events_in_the_period_are_not_counted_as_held(world: World) -> None:
    make_event(world, world.hengdeli, starts_at=timezone.now() + timedelta(days=1))
    today = timezone.localdate()
    totals = participation.participation_totals(world.street, None, today, today + timedelta(days=5))
    assert totals.events == 0


def test_article_line_rounds_large_numbers_like_the_article(world: World) -> None:
    totals = participation.Totals(
        start=date(2023, 1, 1),
        end=date(2023, 12, 31),
        planning_meetings=72,
        planning_attendance=400,
        events=61,
        event_attendance=856,
        volunteers=0,
    )
    assert totals.line() == "召开社区营造策划会72场，参与居民1200余人次，开展自治活动61场"


def test_participation_page_shows_figures_line_and_definitions(
    world: World, client: Client, year_of_activity: dict[str, Any]
) -> None:
    client.force_login(world.admin)
    page = client.get(reverse("participation"), {"period": "custom", "start": "2025-01-01", "end": "2025-12-31"})
    html = page.content.decode()
    assert "召开社区营造策划会3场，参与居民31人次，开展自治活动3场" in html
    assert 'data-figure="participants">31<' in html
    assert "参与人次 = " in html
    assert f'data-key="{world.youyicun.code}"' in html
    client.force_login(world.cadre)
    html = client.get(
        reverse("participation"), {"period": "custom", "start": "2025-01-01", "end": "2025-12-31"}
    ).content.decode()
    assert "召开社区营造策划会2场，参与居民13人次，开展自治活动1场" in html
    # An area user asking for another area still gets their own.
    html = client.get(
        reverse("participation"),
        {"period": "custom", "start": "2025-01-01", "end": "2025-12-31", "area": world.youyicun.code},
    ).content.decode()
    assert "开展自治活动1场" in html and "参与居民13人次" in html


def test_participation_page_refuses_reversed_dates_with_a_message(world: World, client: Client) -> None:
    client.force_login(world.admin)
    html = client.get(
        reverse("participation"), {"period": "custom", "start": "2025-12-31", "end": "2025-01-01"}
    ).content.decode()
    assert "开始日期不能晚于结束日期" in html


# --- training ---------------------------------------------------------------------------------------------------


def make_training(
    world: World, area: ResidentialArea | None, held_at: datetime, hours: str = "2"
) -> TrainingSession:
    return TrainingSession.objects.create(
        street=world.street, area=area, title="全岗通业务培训", held_at=held_at, hours=Decimal(hours)
    )


def test_area_head_records_training_and_ticks_attendance(world: World, client: Client) -> None:
    client.force_login(world.head)
    response = client.post(
        reverse("training_new"),
        {
            "area": world.hengdeli.pk,
            "kind": TrainingKind.FIVE_SOCIAL,
            "title": "五社联动工作坊",
            "topics": "社工、社会组织",
            "trainer": "街道社工站",
            "held_at": "2026-03-05T14:00",
            "place": "党群服务中心",
            "hours": "1.5",
        },
    )
    session = TrainingSession.objects.get()
    assert response.status_code == 302 and session.area == world.hengdeli and session.hours == Decimal("1.5")
    detail = client.get(reverse("training_detail", args=[session.pk])).content.decode()
    assert f'value="{world.cadre.pk}"' in detail and f'value="{world.other_cadre.pk}"' not in detail
    client.post(reverse("training_attendance", args=[session.pk]), {"attended": [world.cadre.pk, world.head.pk]})
    assert set(session.attendance.filter(attended=True).values_list("user_id", flat=True)) == {
        world.cadre.pk,
        world.head.pk,
    }
    client.post(reverse("training_attendance", args=[session.pk]), {"attended": [world.cadre.pk]})
    assert TrainingAttendance.objects.get(session=session, user=world.head).attended is False
    # A cadre of another area cannot be ticked in.
    client.post(reverse("training_attendance", args=[session.pk]), {"attended": [world.other_cadre.pk]})
    assert not TrainingAttendance.objects.filter(user=world.other_cadre).exists()


def test_who_may_create_training(world: World, client: Client) -> None:
    client.force_login(world.cadre)
    assert client.get(reverse("training_new")).status_code == 403
    client.force_login(world.head)
    response = client.post(
        reverse("training_new"),
        {"area": world.youyicun.pk, "kind": "training", "title": "x", "held_at": "2026-03-05T14:00", "hours": "2"},
    )
    assert "您不能在该居民区登记培训" in response.content.decode()
    with pytest.raises(PermissionDenied):
        participation.training_create(user=world.head, area=None, title="x", held_at=at(2026, 3, 5))
    session = participation.training_create(
        user=world.admin, area=None, title="全街道培训", held_at=at(2026, 3, 5)
    )
    assert session.area is None
    client.force_login(world.head)
    assert client.get(reverse("training_edit", args=[session.pk])).status_code == 403


def test_training_hours_sum_attended_sessions_in_the_period(world: World) -> None:
    spring = make_training(world, world.hengdeli, at(2025, 3, 1), "2")
    summer = make_training(world, None, at(2025, 7, 1), "3.5")
    late = make_training(world, world.hengdeli, at(2026, 1, 1, 0), "4")
    TrainingAttendance.objects.bulk_create(
        [
            TrainingAttendance(session=spring, user=world.cadre),
            TrainingAttendance(session=summer, user=world.cadre),
            TrainingAttendance(session=late, user=world.cadre),
            TrainingAttendance(session=summer, user=world.other_cadre, attended=False),
            TrainingAttendance(session=spring, user=world.head),
        ]
    )
    hours = participation.training_hours(
        [world.cadre, world.other_cadre, world.head.pk], date(2025, 1, 1), date(2025, 12, 31)
    )
    assert hours == {world.cadre.pk: Decimal("5.5"), world.other_cadre.pk: Decimal(0), world.head.pk: Decimal(2)}


def test_training_list_shows_hours_per_cadre_of_the_area(world: World, client: Client) -> None:
    session = make_training(world, world.hengdeli, timezone.now(), "2.5")
    TrainingAttendance.objects.create(session=session, user=world.cadre)
    client.force_login(world.cadre)
    html = client.get(reverse("training_list")).content.decode()
    assert "全岗通业务培训" in html
    assert f'data-user="{world.cadre.pk}"' in html and f'data-user="{world.other_cadre.pk}"' not in html
    assert "2.5" in html
    client.force_login(world.other_cadre)
    assert client.get(reverse("training_detail", args=[session.pk])).status_code == 403


def test_street_wide_training_lists_every_cadre_of_the_street(world: World) -> None:
    session = make_training(world, None, at(2025, 3, 1))
    extra: User = factories.area_user(world.youyicun, Role.AREA_HEAD, username="head-009")
    candidates = set(participation.training_candidates(session).values_list("pk", flat=True))
    assert {world.admin.pk, world.head.pk, world.cadre.pk, world.other_cadre.pk, extra.pk} <= candidates
    assert world.liaison.pk not in candidates and world.nobody.pk not in candidates

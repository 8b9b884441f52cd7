"""The troika's monthly on-site joint office: recording it (with findings turned into demands and action items),
the month × compound grid and its arithmetic, the compliance figure, the export and the month-end reminder."""

import io
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from ningju.core.models import AuditAction, AuditEntry, Notification, Role, User
from ningju.core.workdays import add_workdays, workdays_between
from ningju.demands.models import Demand, Kind, Source
from ningju.meetings import troika
from ningju.meetings.models import ActionItem, Attendee, Meeting, MeetingFile, MeetingKind, MeetingStatus, Party
from ningju.registry.models import Compound
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def compound_of(world: World) -> Compound:
    return world.household.building.compound


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def meeting(compound: Compound, day: date, status: str = MeetingStatus.HELD) -> Meeting:
    return Meeting.objects.create(
        street=compound.area.street,
        kind=MeetingKind.TROIKA,
        status=status,
        title="三驾马车",
        area=compound.area,
        compound=compound,
        held_at=at(day),
    )


def record(world: World, user: User | None = None, **overrides: Any) -> Meeting:
    compound = overrides.pop("compound", compound_of(world))
    options: dict[str, Any] = {
        "user": user or world.head,
        "compound": compound,
        "held_at": timezone.now() - timedelta(hours=1),
        "place": "小区花园",
        "committee": [world.head, world.cadre],
        "owners": ["张主任"],
        "property_names": ["李经理"],
        "property_company": "康定物业",
        "others": ["社区民警王警官"],
        "inspected": "看了楼道和非机动车棚",
        "minutes": "三方商定本周内清理楼道",
    }
    options.update(overrides)
    return troika.troika_record(**options)


# --- the grid ------------------------------------------------------------------------------------------------------

TODAY = date(2026, 4, 15)
MONTHS = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]


@pytest.fixture
def history(world: World) -> dict[str, Compound]:
    """恒德里: the world's compound (two meetings in January, a cancelled one in February, planned in April) and a
    second compound held only in April; 又一村: one compound with nothing at all."""
    first = compound_of(world)
    second = factories.CompoundFactory(area=world.hengdeli, name="第二小区")
    quiet = world.other_household.building.compound
    meeting(first, date(2026, 1, 5))
    meeting(first, date(2026, 1, 20))
    meeting(first, date(2026, 2, 10), MeetingStatus.CANCELLED)
    meeting(first, date(2026, 4, 28), MeetingStatus.PLANNED)
    meeting(second, date(2026, 4, 2))
    return {"first": first, "second": second, "quiet": quiet}


def states(grid: troika.Grid, compound: Compound) -> list[str]:
    row = next(r for r in grid.rows if r.compound.pk == compound.pk)
    return [c.state for c in row.cells]


def test_grid_marks_each_month_held_missed_planned_or_not_yet_held(
    world: World, history: dict[str, Compound]
) -> None:
    grid = troika.troika_grid(areas=[world.hengdeli, world.youyicun], months=MONTHS, today=TODAY)

    assert states(grid, history["first"]) == [troika.HELD, troika.MISSED, troika.MISSED, troika.PLANNED]
    assert states(grid, history["second"]) == [troika.MISSED, troika.MISSED, troika.MISSED, troika.HELD]
    assert states(grid, history["quiet"]) == [troika.MISSED, troika.MISSED, troika.MISSED, troika.PENDING]


def test_two_meetings_in_a_month_count_once_and_the_running_month_counts_only_when_held(
    world: World, history: dict[str, Compound]
) -> None:
    grid = troika.troika_grid(areas=[world.hengdeli, world.youyicun], months=MONTHS, today=TODAY)
    rows = {r.compound.pk: r for r in grid.rows}

    assert (rows[history["first"].pk].held, rows[history["first"].pk].required) == (1, 3)
    assert (rows[history["second"].pk].held, rows[history["second"].pk].required) == (1, 4)
    assert (rows[history["quiet"].pk].held, rows[history["quiet"].pk].required) == (0, 3)
    areas = {t.area.pk: (t.held, t.required) for t in grid.areas}
    assert areas == {world.hengdeli.pk: (2, 7), world.youyicun.pk: (0, 3)}
    assert (grid.held, grid.required, grid.pct) == (2, 10, 20.0)


def test_held_cell_links_the_latest_meeting_of_the_month(world: World, history: dict[str, Compound]) -> None:
    grid = troika.troika_grid(areas=[world.hengdeli], months=MONTHS[:1], today=TODAY)
    cell = next(r for r in grid.rows if r.compound.pk == history["first"].pk).cells[0]

    assert cell.held_on == date(2026, 1, 20)
    assert cell.meeting_id == Meeting.objects.get(held_at=at(date(2026, 1, 20))).pk


def test_compliance_gives_held_and_required_compound_months_per_area(
    world: World, history: dict[str, Compound]
) -> None:
    assert troika.troika_compliance([world.hengdeli, world.youyicun], date(2026, 1, 1), TODAY) == {
        world.hengdeli.pk: (2, 7),
        world.youyicun.pk: (0, 3),
    }
    # A closed period: every month is required.
    assert troika.troika_compliance([world.hengdeli.pk], date(2026, 1, 1), date(2026, 4, 30)) == {
        world.hengdeli.pk: (2, 8)
    }


def test_the_required_number_per_month_is_a_setting(
    world: World, history: dict[str, Compound], settings: Any
) -> None:
    settings.NINGJU_TROIKA_PER_MONTH = 2
    grid = troika.troika_grid(areas=[world.hengdeli], months=MONTHS[:1], today=TODAY)

    assert states(grid, history["first"]) == [troika.HELD]  # two held meetings in January
    assert states(grid, history["second"]) == [troika.MISSED]


def test_period_is_a_year_up_to_this_month_or_the_last_twelve_months() -> None:
    assert troika.period_months(period="year", year=2026, today=TODAY) == MONTHS
    assert len(troika.period_months(period="year", year=2025, today=TODAY)) == 12
    last12 = troika.period_months(period="last12", year=None, today=TODAY)
    assert (last12[0], last12[-1], len(last12)) == (date(2025, 5, 1), date(2026, 4, 1), 12)


# --- recording -----------------------------------------------------------------------------------------------------


def test_record_keeps_the_three_parties_and_marks_the_meeting_held(world: World) -> None:
    held = record(world)

    assert (held.kind, held.status, held.compound, held.area) == (
        MeetingKind.TROIKA,
        MeetingStatus.HELD,
        compound_of(world),
        world.hengdeli,
    )
    parties = sorted(held.attendees.values_list("party", "name", "organisation"))
    assert parties == sorted(
        [
            (Party.COMMITTEE, world.head.display_name, ""),
            (Party.COMMITTEE, world.cadre.display_name, ""),
            (Party.OWNERS, "张主任", ""),
            (Party.PROPERTY, "李经理", "康定物业"),
            (Party.OTHER, "社区民警王警官", ""),
        ]
    )


def test_findings_become_a_demand_and_an_action_item_due_in_five_workdays(world: World) -> None:
    today = date(2026, 4, 15)
    held = record(
        world,
        today=today,
        findings=[
            troika.FindingInput(text="5号楼楼道堆物", to_demand=True, to_action=True),
            troika.FindingInput(text="车棚灯坏了", to_action=True),
            troika.FindingInput(text="绿化带垃圾", to_demand=True),
        ],
    )

    demands = {d.text: d for d in Demand.objects.all()}
    assert set(demands) == {"5号楼楼道堆物", "绿化带垃圾"}
    hallway = demands["5号楼楼道堆物"]
    assert (hallway.kind, hallway.source, hallway.compound, hallway.owner) == (
        Kind.PROBLEM,
        Source.PATROL,
        compound_of(world),
        world.head,
    )
    items = {i.title: i for i in ActionItem.objects.filter(meeting=held)}
    assert set(items) == {"5号楼楼道堆物", "车棚灯坏了"}
    assert list(items["5号楼楼道堆物"].demands.all()) == [hallway]
    assert not items["车棚灯坏了"].demands.exists()
    assert {(i.owner, i.deadline, i.area) for i in items.values()} == {
        (world.head, add_workdays(today, 5), world.hengdeli)
    }


def test_record_keeps_photos(world: World, media: Path) -> None:
    held = record(world, photos=[SimpleUploadedFile("现场.jpg", JPEG, content_type="image/jpeg")])

    photo = MeetingFile.objects.get(meeting=held)
    assert (photo.name, photo.content_type, photo.uploaded_by) == ("现场.jpg", "image/jpeg", world.head)
    assert "现场" not in photo.file.name


def test_a_bad_photo_writes_nothing(world: World, media: Path) -> None:
    with pytest.raises(Exception, match="内容与扩展名"):
        record(
            world,
            findings=[troika.FindingInput(text="楼道堆物", to_demand=True)],
            photos=[SimpleUploadedFile("现场.jpg", b"#!/bin/sh\necho", content_type="image/jpeg")],
        )
    assert not Meeting.objects.exists() and not Demand.objects.exists()


def test_compound_in_another_area_is_refused(world: World) -> None:
    with pytest.raises(PermissionDenied):
        record(world, compound=world.other_household.building.compound)
    assert not Meeting.objects.exists()


def test_committee_must_be_cadres_of_the_compounds_area(world: World) -> None:
    from ningju.core.errors import ApplicationError

    with pytest.raises(ApplicationError, match="居委会参会人"):
        record(world, committee=[world.other_cadre])
    assert not Attendee.objects.exists()


def test_street_admin_records_for_any_compound_of_the_street(world: World) -> None:
    held = record(
        world, user=world.admin, compound=world.other_household.building.compound, committee=[world.other_cadre]
    )
    assert held.area == world.youyicun


# --- the pages -----------------------------------------------------------------------------------------------------


def form_data(world: World, **overrides: str | list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "compound": str(compound_of(world).pk),
        "held_at": timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "place": "小区花园",
        "committee": [str(world.head.pk)],
        "owners": "张主任\n",
        "property_names": "李经理",
        "property_company": "康定物业",
        "others": "",
        "inspected": "楼道、车棚",
        "finding_1": "楼道堆物",
        "action_1": "on",
        "action_owner": str(world.cadre.pk),
        "minutes": "",
    }
    data.update(overrides)
    return data


def test_head_records_on_the_phone_form_and_lands_on_the_meeting_or_the_grid(client: Client, world: World) -> None:
    client.force_login(world.head)
    page = client.get(reverse("troika_new"))
    assert page.status_code == 200
    assert page.context["form"]["committee"].value() == [world.head.pk]  # the recorder is pre-checked
    assert page.context["form"]["property_company"].value() == compound_of(world).property_company

    response = client.post(reverse("troika_new"), form_data(world))

    held = Meeting.objects.get()
    assert response.status_code == 302
    assert str(response["Location"]) in (f"/meetings/{held.pk}/", reverse("troika_grid"))
    item = ActionItem.objects.get()
    assert (item.title, item.owner, item.meeting) == ("楼道堆物", world.cadre, held)


def test_missing_parties_give_chinese_errors_and_write_nothing(client: Client, world: World) -> None:
    client.force_login(world.head)
    response = client.post(reverse("troika_new"), form_data(world, owners="", property_names=""))

    assert response.status_code == 200
    assert "请填写业委会参会人。" in response.content.decode()
    assert not Meeting.objects.exists()


def test_cadre_of_youyicun_cannot_record_for_hengdelis_compound(client: Client, world: World) -> None:
    client.force_login(world.other_cadre)

    # Another area's compound answers exactly like one that does not exist (issue 9: no oracle on ids).
    foreign = client.get(reverse("troika_new"), {"compound": compound_of(world).pk})
    missing = client.get(reverse("troika_new"), {"compound": compound_of(world).pk + 1000})
    assert foreign.status_code == missing.status_code == 404
    assert compound_of(world).name not in foreign.content.decode()
    assert client.post(reverse("troika_new"), form_data(world)).status_code == 404
    assert not Meeting.objects.exists()


def test_liaison_sees_neither_form_nor_grid(client: Client, world: World) -> None:
    client.force_login(world.liaison)
    assert client.get(reverse("troika_new")).status_code == 403
    assert client.get(reverse("troika_grid")).status_code == 403


def test_area_user_grid_shows_only_their_area(client: Client, world: World) -> None:
    meeting(compound_of(world), timezone.localdate())
    client.force_login(world.cadre)
    response = client.get(reverse("troika_grid"))

    assert response.status_code == 200
    compounds = {row.compound.pk for row in response.context["grid"].rows}
    assert compounds == {compound_of(world).pk}
    assert 'data-state="held"' in response.content.decode()


def test_street_grid_filters_by_area(client: Client, world: World) -> None:
    client.force_login(world.admin)
    everything = client.get(reverse("troika_grid"))
    one = client.get(reverse("troika_grid"), {"area": world.youyicun.code, "period": "last12"})

    assert len(everything.context["grid"].rows) == 2
    assert [r.compound.area for r in one.context["grid"].rows] == [world.youyicun]
    assert len(one.context["grid"].months) == 12


def test_export_is_an_audited_xlsx(client: Client, world: World) -> None:
    meeting(compound_of(world), timezone.localdate())
    client.force_login(world.admin)
    response = client.get(reverse("troika_export"))

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("居民区", "小区")
    assert {r[1] for r in rows[1:]} == {compound_of(world).name, world.other_household.building.compound.name}
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert (entry.user, entry.target_type, entry.detail["rows"]) == (world.admin, "meetings.troika", 2)


# --- the reminder --------------------------------------------------------------------------------------------------


def near_and_far(year: int = 2026, month: int = 6) -> tuple[datetime, datetime]:
    """A day with 5 working days or fewer left in the month, and one with more."""
    last = date(year, month, 30)
    days = [date(year, month, d) for d in range(1, 31)]
    near = next(d for d in days if len(workdays_between(d, last)) <= troika.REMIND_WORKDAYS)
    far = next(d for d in days if len(workdays_between(d, last)) > troika.REMIND_WORKDAYS)
    return at(near, 9), at(far, 9)


def test_reminder_tells_area_heads_once_and_only_near_month_end(world: World) -> None:
    near, far = near_and_far()
    done = factories.CompoundFactory(area=world.hengdeli, name="已开小区")
    meeting(done, date(2026, 6, 3))
    meeting(compound_of(world), date(2026, 6, 4), MeetingStatus.CANCELLED)
    factories.area_user(world.youyicun, Role.AREA_HEAD, username="head-009")

    assert troika.troika_remind(now=far, url="/meetings/troika/") == 0
    assert not Notification.objects.exists()

    assert troika.troika_remind(now=near, url="/meetings/troika/") == 2
    told = set(Notification.objects.values_list("user__username", "key", "level"))
    assert told == {
        ("head-006", f"troika:{compound_of(world).pk}:2026-06", "yellow"),
        ("head-009", f"troika:{world.other_household.building.compound.pk}:2026-06", "yellow"),
    }
    assert not Notification.objects.filter(user=world.cadre).exists()

    # The next day's run tells nobody again.
    assert troika.troika_remind(now=near + timedelta(days=1), url="/meetings/troika/") == 0
    assert Notification.objects.count() == 2


def test_street_admin_picks_a_compound_and_gets_its_areas_committee(client: Client, world: World) -> None:
    client.force_login(world.admin)
    assert client.get(reverse("troika_new")).status_code == 200

    other = world.other_household.building.compound
    page = client.get(reverse("troika_new"), {"compound": other.pk})

    committee = page.context["form"].fields["committee"].queryset
    assert list(committee) == [world.other_cadre]
    assert f"又一村 · {other.name}" in page.content.decode()

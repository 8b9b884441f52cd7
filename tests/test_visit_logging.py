"""Logging a visit: the service (findings, corrections in history, GPS flag, idempotency) and the phone pages."""

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ningju.core.errors import ApplicationError
from ningju.core.models import User
from ningju.registry.models import Household, PatrolSite, PatrolSiteType, Tag, Tenure
from ningju.visits import services
from ningju.visits.models import Finding, Plan, Route, Stop, Visit, VisitMode, VisitSettings
from tests.conftest import World

# The world's buildings stand at (31.2376, 121.4508); 0.001° of latitude is about 111 m.
NEAR = (31.2386, 121.4508)
FAR = (31.2416, 121.4508)  # about 445 m north


def record(world: World, **overrides: Any) -> tuple[Visit, bool]:
    fields: dict[str, Any] = {
        "user": world.cadre,
        "visit_id": uuid.uuid4(),
        "household": world.household,
        "visited_at": timezone.now() - timedelta(minutes=5),
        "mode": VisitMode.FACE_TO_FACE,
        "met": "王秀英",
        "notes": "身体硬朗，独自在家",
    }
    fields.update(overrides)
    return services.visit_record(**fields)


def patrol_site(world: World, area: Any = None) -> PatrolSite:
    return PatrolSite.objects.create(
        area=area or world.hengdeli,
        site_type=PatrolSiteType.objects.filter(street=world.street).order_by("sort_order")[0],
        name="5号楼非机动车棚",
        lat=31.2380,
        lng=121.4510,
    )


def history_reasons(household: Household) -> list[str]:
    return list(household.history.order_by("history_date").values_list("history_change_reason", flat=True))


# --- the service -------------------------------------------------------------------------------------------


def test_cadre_records_a_visit_to_a_household_of_own_area(world: World) -> None:
    visit, created = record(world, way=" 跟着宠物访 ", mood="good", needs="想参加老年食堂")

    assert created
    stored = Visit.objects.get(pk=visit.pk)
    assert stored.area == world.hengdeli
    assert stored.cadre == world.cadre
    assert stored.household == world.household
    assert stored.way == "跟着宠物访"
    assert (stored.met, stored.mood, stored.needs) == ("王秀英", "good", "想参加老年食堂")


def test_findings_are_stored_one_row_each_and_blank_lines_dropped(world: World) -> None:
    visit, _ = record(world, findings=["楼道灯坏了", "  ", "门口堆放杂物 "])

    assert sorted(Finding.objects.filter(visit=visit).values_list("text", flat=True)) == [
        "楼道灯坏了",
        "门口堆放杂物",
    ]


def test_corrections_land_in_household_history_as_visit_corrections(world: World) -> None:
    must_visit = Tag.objects.get(street=world.street, name="独居老人")
    disabled = Tag.objects.filter(street=world.street).exclude(pk=must_visit.pk).first()
    assert disabled is not None

    record(
        world,
        corrections=services.Corrections(tenure=Tenure.TENANT, notes="女儿每周来", tags=[must_visit, disabled]),
    )

    household = Household.objects.get(pk=world.household.pk)
    assert household.tenure == Tenure.TENANT
    assert household.notes == "女儿每周来"
    assert set(household.tags.all()) == {must_visit, disabled}
    latest = household.history.latest("history_date")
    assert latest.history_change_reason == services.CORRECTION_REASON == "走访更正"
    assert latest.history_user == world.cadre


def test_corrections_that_change_nothing_leave_no_history(world: World) -> None:
    before = history_reasons(world.household)
    household = world.household

    record(
        world,
        corrections=services.Corrections(
            tenure=household.tenure, notes=household.notes, tags=list(household.tags.all())
        ),
    )

    assert history_reasons(world.household) == before


def test_bad_correction_refuses_the_whole_visit(world: World) -> None:
    tenure = world.household.tenure
    with pytest.raises(ApplicationError, match="居住类型"):
        record(world, findings=["楼道灯坏了"], corrections=services.Corrections(tenure="palace"))

    assert not Visit.objects.exists()
    assert not Finding.objects.exists()
    assert Household.objects.get(pk=world.household.pk).tenure == tenure


def test_gps_near_the_building_records_the_distance_without_a_flag(world: World) -> None:
    visit, _ = record(world, lat=NEAR[0], lng=NEAR[1])

    assert visit.distance_m is not None and 100 <= visit.distance_m <= 120
    assert not visit.far_from_target


def test_gps_beyond_300_metres_is_flagged_but_still_recorded(world: World) -> None:
    visit, created = record(world, lat=FAR[0], lng=FAR[1])

    assert created
    assert visit.distance_m is not None and 430 <= visit.distance_m <= 460
    assert Visit.objects.get(pk=visit.pk).far_from_target


def test_gps_flag_follows_the_street_setting(world: World) -> None:
    VisitSettings.objects.update_or_create(street=world.street, defaults={"gps_flag_metres": 50})

    visit, _ = record(world, lat=NEAR[0], lng=NEAR[1])

    assert visit.far_from_target


def test_visit_without_gps_is_recorded_without_distance(world: World) -> None:
    visit, _ = record(world)

    assert visit.distance_m is None
    assert not visit.far_from_target


def test_half_a_gps_reading_is_refused(world: World) -> None:
    with pytest.raises(ApplicationError, match="纬度和经度"):
        record(world, lat=NEAR[0])


def test_patrol_is_recorded_against_the_site_with_its_distance(world: World) -> None:
    site = patrol_site(world)

    visit, _ = record(world, household=None, patrol_site=site, mode=VisitMode.PATROL, lat=31.2380, lng=121.4510)

    assert visit.patrol_site == site
    assert visit.area == world.hengdeli
    assert visit.distance_m == 0


def test_patrol_mode_is_only_for_patrol_sites(world: World) -> None:
    with pytest.raises(ApplicationError, match="巡查"):
        record(world, mode=VisitMode.PATROL)
    with pytest.raises(ApplicationError, match="巡查"):
        record(world, household=None, patrol_site=patrol_site(world), mode=VisitMode.PHONE)
    assert not Visit.objects.exists()


def test_visit_in_the_future_is_refused(world: World) -> None:
    with pytest.raises(ApplicationError, match="晚于现在"):
        record(world, visited_at=timezone.now() + timedelta(hours=2))


def test_replay_returns_the_stored_visit_and_writes_nothing(world: World) -> None:
    visit_id = uuid.uuid4()
    when = timezone.now() - timedelta(hours=1)
    corrections = services.Corrections(notes="已装紧急呼叫器")
    first, created = record(
        world, visit_id=visit_id, visited_at=when, findings=["扶手松动"], corrections=corrections
    )
    history = history_reasons(world.household)

    again, created_again = record(
        world, visit_id=visit_id, visited_at=when, findings=["扶手松动"], corrections=corrections
    )

    assert created and not created_again
    assert again.pk == first.pk
    assert Visit.objects.count() == 1
    assert Finding.objects.count() == 1
    assert history_reasons(world.household) == history


def test_other_content_under_a_stored_id_is_a_conflict(world: World) -> None:
    visit_id = uuid.uuid4()
    record(world, visit_id=visit_id, notes="第一次")

    with pytest.raises(services.VisitConflict):
        record(world, visit_id=visit_id, notes="改过的内容")

    assert Visit.objects.get(pk=visit_id).notes == "第一次"


def test_concurrent_twin_that_wins_the_insert_makes_this_upload_a_replay(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    visit_id = uuid.uuid4()
    when = timezone.now() - timedelta(minutes=3)
    record(world, visit_id=visit_id, visited_at=when, findings=["楼道灯坏了"])
    real_stored: Callable[[uuid.UUID], Visit | None] = services._stored
    calls: list[uuid.UUID] = []

    def not_yet_seen(pk: uuid.UUID) -> Visit | None:
        # The twin commits between this upload's look-up and its insert.
        calls.append(pk)
        return None if len(calls) == 1 else real_stored(pk)

    monkeypatch.setattr(services, "_stored", not_yet_seen)
    visit, created = record(world, visit_id=visit_id, visited_at=when, findings=["楼道灯坏了"])

    assert not created
    assert visit.pk == visit_id
    assert Visit.objects.count() == 1
    assert Finding.objects.count() == 1


@pytest.mark.parametrize("who", ["other_cadre", "street_admin", "liaison", "nobody"])
def test_only_the_areas_own_cadres_log_its_visits(world: World, who: str) -> None:
    with pytest.raises(PermissionDenied):
        record(world, user=world.users()[who])

    assert not Visit.objects.exists()


def test_area_head_logs_visits_of_own_area(world: World) -> None:
    visit, created = record(world, user=world.head)

    assert created and visit.cadre == world.head


def test_cadre_cannot_log_a_patrol_of_another_areas_site(world: World) -> None:
    with pytest.raises(PermissionDenied):
        record(world, household=None, patrol_site=patrol_site(world, world.youyicun), mode=VisitMode.PATROL)


# --- the pages ---------------------------------------------------------------------------------------------


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def new_url(**query: Any) -> str:
    return reverse("visit_new") + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_visit_form_opens_on_one_screen_with_sensible_defaults(world: World) -> None:
    response = client_for(world.cadre).get(new_url(household=world.household.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert "常德路633弄5号302室" in html
    for label in ("入户面对面", "电话", "线上点对点", "跟着宠物访", "哪里人多就去哪里访", "发现问题 → 转为诉求"):
        assert label in html
    assert re.search(r'<input type="radio" name="mode" value="face_to_face"[^>]* checked>', html)
    assert "王秀英" in html  # who can be met: one tap
    assert 'value="patrol"' not in html
    config = response.context["config"]
    assert config["household"] == world.household.pk
    assert config["user"] == "cadre-006-1"
    assert config["initial"]["tags"] == [t.pk for t in world.household.tags.order_by("pk")]
    assert "visits-offline.js" in html


def test_patrol_form_offers_only_patrol(world: World) -> None:
    site = patrol_site(world)

    html = client_for(world.cadre).get(new_url(patrol_site=site.pk)).content.decode()

    assert "5号楼非机动车棚" in html
    assert 'value="patrol"' in html
    assert 'value="face_to_face"' not in html
    assert "更正户信息" not in html


@pytest.mark.parametrize(("who", "status"), [("other_cadre", 403), ("street_admin", 403), ("liaison", 403)])
def test_visit_form_is_refused_outside_the_cadres_area(world: World, who: str, status: int) -> None:
    response = client_for(world.users()[who]).get(new_url(household=world.household.pk))

    assert response.status_code == status
    assert "王秀英" not in response.content.decode()


def test_visit_form_needs_a_sign_in(world: World) -> None:
    response = Client().get(new_url(household=world.household.pk))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_visit_form_without_a_target_is_not_found(world: World) -> None:
    assert client_for(world.cadre).get(reverse("visit_new")).status_code == 404
    assert client_for(world.cadre).get(new_url(household="abc")).status_code == 404


def test_visit_form_posted_without_javascript_records_the_visit(world: World) -> None:
    visit_id = uuid.uuid4()
    response = client_for(world.cadre).post(
        new_url(household=world.household.pk),
        {
            "id": str(visit_id),
            "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "mode": "phone",
            "way": "晒着太阳访",
            "met": "王秀英",
            "mood": "",
            "notes": "电话问候",
            "findings": "楼道灯坏了\n\n电梯异响",
            "tenure": world.household.tenure,
            "household_notes": "改为电话联系为主",
            "tags": [t.pk for t in world.household.tags.all()],
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("visit_detail", args=[visit_id])
    visit = Visit.objects.get(pk=visit_id)
    assert visit.mode == "phone"
    assert set(visit.findings.values_list("text", flat=True)) == {"电梯异响", "楼道灯坏了"}
    assert Household.objects.get(pk=world.household.pk).notes == "改为电话联系为主"
    assert history_reasons(world.household)[-1] == "走访更正"


def test_visit_form_shows_a_chinese_error_and_writes_nothing(world: World) -> None:
    response = client_for(world.cadre).post(
        new_url(household=world.household.pk),
        {"id": str(uuid.uuid4()), "visited_at": "", "mode": "", "tenure": world.household.tenure},
    )

    assert response.status_code == 200
    assert "方式：该字段是必填项" in response.content.decode()
    assert not Visit.objects.exists()


def test_visit_from_a_route_stop_knows_its_household_and_why(world: World) -> None:
    plan = Plan.objects.create(street=world.street, start=date.today(), days=1)
    route = Route.objects.create(plan=plan, day=date.today(), cadre=world.cadre, area=world.hengdeli, walk_m=800)
    stop = Stop.objects.create(
        route=route,
        seq=1,
        kind=Stop.Kind.HOUSEHOLD,
        household=world.household,
        lat=31.2376,
        lng=121.4508,
        reason="独居老人 — 每月，上次走访 28 天前",
    )

    response = client_for(world.cadre).get(new_url(stop=stop.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert "常德路633弄5号302室" in html
    assert "独居老人 — 每月，上次走访 28 天前" in html
    assert f'href="{reverse("route_day", args=["cadre-006-1", date.today().isoformat()])}"' in html  # 返回路线
    assert client_for(world.other_cadre).get(new_url(stop=stop.pk)).status_code == 403


def test_household_visits_page_lists_who_when_how_and_findings(world: World) -> None:
    record(world, notes="身体硬朗", findings=["楼道灯坏了"], lat=FAR[0], lng=FAR[1])
    record(world, user=world.head, mode=VisitMode.PHONE, notes="电话问候")

    response = client_for(world.admin).get(reverse("household_visits", args=[world.household.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<tr id="visit-') == 2
    for text in ("身体硬朗", "楼道灯坏了", "电话问候", "入户面对面", "电话", "偏离", world.head.display_name):
        assert text in html
    assert "记录走访" not in html  # the street administrator reads, the area's cadres log


def test_household_visits_page_offers_logging_to_the_areas_cadre(world: World) -> None:
    html = client_for(world.cadre).get(reverse("household_visits", args=[world.household.pk])).content.decode()

    assert "记录走访" in html
    assert "该户尚无走访记录" in html


@pytest.mark.parametrize("who", ["other_cadre", "liaison", "nobody"])
def test_household_visits_are_refused_outside_the_users_scope(world: World, who: str) -> None:
    record(world, notes="身体硬朗")

    response = client_for(world.users()[who]).get(reverse("household_visits", args=[world.household.pk]))

    assert response.status_code == 403
    assert "身体硬朗" not in response.content.decode()


def test_visit_page_shows_the_visit_to_its_area_and_refuses_others(world: World) -> None:
    visit, _ = record(world, findings=["楼道灯坏了"])

    own = client_for(world.head).get(reverse("visit_detail", args=[visit.pk]))
    other = client_for(world.other_cadre).get(reverse("visit_detail", args=[visit.pk]))

    assert own.status_code == 200
    assert "楼道灯坏了" in own.content.decode()
    assert other.status_code == 403
    assert client_for(world.head).get(reverse("visit_detail", args=[uuid.uuid4()])).status_code == 404


def test_service_worker_is_served_for_the_visit_pages(db: None) -> None:
    response = Client().get(reverse("visit_sw"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/visits/"
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert "/static/ningju/visits-offline.js" in body
    assert "/static/ningju/ningju.css" in body

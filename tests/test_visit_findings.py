"""A visit's findings become demands where they are found: one per line, owned by the cadre, source 走访, at the
household, linked to the visit and the finding; atomic with the visit, once however often the phone uploads it."""

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from ningju.core.errors import ApplicationError
from ningju.core.models import User
from ningju.demands import services as demand_services
from ningju.demands.models import Demand, Kind, Source
from ningju.demands.workflow import State
from ningju.registry.models import Household, PatrolSite, PatrolSiteType, Tenure
from ningju.visits import services
from ningju.visits.models import Finding, Plan, Route, Stop, Visit, VisitMode
from tests.conftest import World


def record(world: World, **overrides: Any) -> tuple[Visit, bool]:
    fields: dict[str, Any] = {
        "user": world.cadre,
        "visit_id": uuid.uuid4(),
        "household": world.household,
        "visited_at": timezone.now() - timedelta(minutes=5),
        "mode": VisitMode.FACE_TO_FACE,
        "met": "王秀英",
        "findings": ["楼道灯坏了", "门口堆放杂物"],
    }
    fields.update(overrides)
    return services.visit_record(**fields)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def form_data(world: World, visit_id: uuid.UUID, findings: str) -> dict[str, Any]:
    return {
        "id": str(visit_id),
        "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "mode": "face_to_face",
        "met": "王秀英",
        "findings": findings,
        "tenure": world.household.tenure,
        "household_notes": world.household.notes,
        "tags": [t.pk for t in world.household.tags.all()],
    }


def api_payload(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "household": world.household.pk,
        "visited_at": (timezone.now() - timedelta(minutes=10)).isoformat(),
        "mode": "face_to_face",
        "findings": ["楼道灯坏了", "门口堆放杂物"],
    }
    body.update(overrides)
    return body


# --- the service --------------------------------------------------------------------------------------------


def test_two_findings_become_two_demands_of_the_cadre_at_the_household(world: World) -> None:
    visit, created = record(world)

    assert created
    demands = list(Demand.objects.order_by("pk"))
    assert [d.text for d in demands] == ["楼道灯坏了", "门口堆放杂物"]
    for demand in demands:
        assert demand.owner == world.cadre  # 首问负责人: the cadre who found it
        assert demand.source == Source.VISIT
        assert demand.kind == Kind.PROBLEM
        assert demand.state == State.ACCEPTED
        assert demand.area == world.hengdeli
        assert demand.household == world.household
        assert demand.visit == visit
        assert demand.finding is not None and demand.finding.visit == visit
        assert demand.finding.text == demand.text
        assert demand.category is None  # left for triage, as the visit page's 转为诉求 does
        assert demand.due_at is not None  # the first-contact clock runs
    assert {f.pk for f in visit.findings.all()} == {d.finding_id for d in demands}


def test_blank_finding_lines_file_nothing(world: World) -> None:
    record(world, findings=["", "   ", "\t"])

    assert not Finding.objects.exists()
    assert not Demand.objects.exists()


def test_a_visit_without_findings_files_nothing(world: World) -> None:
    visit, _ = record(world, findings=[])

    assert Visit.objects.filter(pk=visit.pk).exists()
    assert not Demand.objects.exists()


def test_replayed_visit_files_its_findings_once(world: World) -> None:
    visit_id = uuid.uuid4()
    when = timezone.now() - timedelta(hours=1)
    first, created = record(world, visit_id=visit_id, visited_at=when)
    again, created_again = record(world, visit_id=visit_id, visited_at=when)

    assert created and not created_again
    assert again.pk == first.pk
    assert Finding.objects.count() == 2
    assert Demand.objects.count() == 2


def test_the_visit_pages_convert_button_opens_the_demand_already_filed(world: World) -> None:
    visit, _ = record(world, findings=["楼道灯坏了"])
    finding = visit.findings.get()
    demand = Demand.objects.get(finding=finding)

    response = client_for(world.cadre).post(reverse("finding_to_demand", args=[finding.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("demand_detail", args=[demand.pk])
    assert Demand.objects.count() == 1


def test_a_patrols_findings_are_filed_as_patrol_demands_at_the_site(world: World) -> None:
    site = PatrolSite.objects.create(
        area=world.hengdeli,
        site_type=PatrolSiteType.objects.filter(street=world.street).order_by("sort_order")[0],
        name="5号楼非机动车棚",
        lat=31.2380,
        lng=121.4510,
    )

    record(world, household=None, patrol_site=site, mode=VisitMode.PATROL, findings=["车棚电线私拉"])

    demand = Demand.objects.get()
    assert (demand.source, demand.patrol_site, demand.household) == (Source.PATROL, site, None)


def test_another_areas_household_cannot_be_targeted(world: World) -> None:
    with pytest.raises(PermissionDenied):
        record(world, household=world.other_household)

    assert not Visit.objects.exists()
    assert not Demand.objects.exists()


@pytest.mark.parametrize("who", ["liaison", "street_admin", "other_cadre", "nobody"])
def test_only_the_areas_own_cadres_file_findings_by_visit(world: World, who: str) -> None:
    with pytest.raises(PermissionDenied):
        record(world, user=world.users()[who])

    assert not Visit.objects.exists()
    assert not Demand.objects.exists()


def test_a_failed_demand_leaves_no_half_saved_visit(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    real = demand_services.demand_create
    calls: list[str] = []

    def second_fails(**kwargs: Any) -> tuple[Demand, bool]:
        calls.append(kwargs["text"])
        if len(calls) == 2:
            raise ApplicationError("分类已停用。")
        return real(**kwargs)

    monkeypatch.setattr(demand_services, "demand_create", second_fails)
    tenure = world.household.tenure
    with pytest.raises(ApplicationError):
        record(
            world, corrections=services.Corrections(tenure=Tenure.TENANT if tenure != Tenure.TENANT else "owner")
        )

    assert calls == ["楼道灯坏了", "门口堆放杂物"]
    assert not Visit.objects.exists()
    assert not Finding.objects.exists()
    assert not Demand.objects.exists()
    assert Household.objects.get(pk=world.household.pk).tenure == tenure


# --- the form without JavaScript ------------------------------------------------------------------------------


def test_form_files_each_line_and_the_visit_page_says_what_it_filed(world: World) -> None:
    visit_id = uuid.uuid4()
    client = client_for(world.cadre)

    response = client.post(
        reverse("visit_new") + f"?household={world.household.pk}",
        form_data(world, visit_id, "楼道灯坏了\n\n  \n门口堆放杂物\n"),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("visit_detail", args=[visit_id])
    numbers = list(Demand.objects.order_by("pk").values_list("pk", flat=True))
    assert len(numbers) == 2
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"#{numbers[0]}、#{numbers[1]}" in message
    html = client.get(response["Location"]).content.decode()
    for number in numbers:
        assert f'href="{reverse("demand_detail", args=[number])}"' in html
    assert f'href="{reverse("household_detail", args=[world.household.pk])}"' in html
    assert "再记一条" in html


def test_form_from_a_route_stop_leads_back_to_the_route(world: World) -> None:
    today = timezone.localdate()
    plan = Plan.objects.create(street=world.street, start=today, days=1)
    route = Route.objects.create(plan=plan, day=today, cadre=world.cadre, area=world.hengdeli, walk_m=800)
    stop = Stop.objects.create(
        route=route, seq=1, kind=Stop.Kind.HOUSEHOLD, household=world.household, lat=31.2376, lng=121.4508
    )
    visit_id = uuid.uuid4()
    client = client_for(world.cadre)

    response = client.post(reverse("visit_new") + f"?stop={stop.pk}", form_data(world, visit_id, "楼道灯坏了"))

    assert response["Location"] == reverse("visit_detail", args=[visit_id]) + f"?stop={stop.pk}"
    html = client.get(response["Location"]).content.decode()
    assert f'href="{reverse("route_day", args=[world.cadre.username, today.isoformat()])}"' in html  # 返回路线
    # Someone else's stop named in the link is refused, not followed.
    assert client_for(world.other_cadre).get(response["Location"]).status_code == 403
    assert client.get(reverse("visit_detail", args=[visit_id]) + "?stop=abc").status_code == 404


def test_liaison_cannot_post_the_visit_form(world: World) -> None:
    response = client_for(world.liaison).post(
        reverse("visit_new") + f"?household={world.household.pk}", form_data(world, uuid.uuid4(), "楼道灯坏了")
    )

    assert response.status_code == 403
    assert not Visit.objects.exists() and not Demand.objects.exists()


def test_form_help_text_says_what_saving_does(world: World) -> None:
    html = client_for(world.cadre).get(reverse("visit_new") + f"?household={world.household.pk}").content.decode()

    assert "诉求模块上线后" not in html
    assert "每行登记为一条诉求" in html
    config = json.loads(html.split('id="visit-config" type="application/json">')[1].split("</script>")[0])
    assert config["links"]["demand"] == reverse("demand_detail", args=[int(config["links"]["demand_placeholder"])])


# --- the API (the phone's outbox) -----------------------------------------------------------------------------


def test_upload_answers_each_findings_demand_and_a_replay_files_nothing_new(world: World) -> None:
    body = api_payload(world)
    client = api_for(world.cadre)

    first = client.post("/api/v1/visits/", body, format="json")
    again = client.post("/api/v1/visits/", body, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    filed = {f["text"]: f["demand"] for f in first.json()["findings"]}
    assert set(filed) == {"楼道灯坏了", "门口堆放杂物"}
    assert {d.text: d.pk for d in Demand.objects.all()} == filed
    assert {f["text"]: f["demand"] for f in again.json()["findings"]} == filed
    assert Demand.objects.filter(owner=world.cadre, source=Source.VISIT, household=world.household).count() == 2


@pytest.mark.parametrize(("who", "status"), [("liaison", 403), ("street_admin", 403), ("other_cadre", 400)])
def test_upload_by_someone_else_files_nothing(world: World, who: str, status: int) -> None:
    response = api_for(world.users()[who]).post("/api/v1/visits/", api_payload(world), format="json")

    assert response.status_code == status
    assert not Visit.objects.exists() and not Demand.objects.exists()


def test_upload_of_another_areas_household_files_nothing(world: World) -> None:
    response = api_for(world.cadre).post(
        "/api/v1/visits/", api_payload(world, household=world.other_household.pk), format="json"
    )

    assert response.status_code == 400
    assert not Demand.objects.exists()


def test_findings_filed_this_week_show_in_my_demands(world: World) -> None:
    record(world)

    html = client_for(world.cadre).get(reverse("demand_mine")).content.decode()

    assert "楼道灯坏了" in html and "门口堆放杂物" in html

"""The street administrator's demand settings: working-day limits that new clocks use, and the category taxonomy;
nobody else may open them."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from ningju.core.models import User
from ningju.demands.models import Category, DeadlineLimit, Kind, Source
from ningju.demands.services import demand_create
from ningju.registry.models import Department, Street
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def limits_post(**changes: int) -> dict[str, int]:
    values = {
        "first_contact": 1,
        "handling": 5,
        "consultation": 1,
        "complex": 15,
        "reopened": 3,
        "department_ack": 1,
        "department_handling": 5,
    }
    return {**values, **changes}


def test_the_deadlines_page_shows_each_stage_with_its_default(world: World) -> None:
    response = client_for(world.admin).get("/demands/deadlines/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "复杂事项处置" in text and "15个工作日" in text
    assert "只对此后新开始计时的环节生效" in text


def test_an_edited_limit_is_used_by_the_next_new_demand(world: World) -> None:
    response = client_for(world.admin).post("/demands/deadlines/", limits_post(first_contact=2))
    assert response.status_code == 302
    assert list(DeadlineLimit.objects.values_list("street", "stage", "workdays")) == [
        (world.street.pk, "first_contact", 2)
    ]
    demand, _created = demand_create(
        user=world.cadre,
        area=world.hengdeli,
        kind=Kind.PROBLEM,
        source=Source.VISIT,
        text="楼道灯坏了",
        received_at=datetime(2026, 10, 12, 10, tzinfo=SHANGHAI),  # Monday
    )
    assert demand.due_at == datetime.combine(datetime(2026, 10, 14).date(), time.max, tzinfo=SHANGHAI)


@pytest.mark.parametrize("value", ["0", "61", "三", ""])
def test_a_limit_outside_one_to_sixty_working_days_is_refused(world: World, value: str) -> None:
    response = client_for(world.admin).post("/demands/deadlines/", {**limits_post(), "handling": value})
    assert response.status_code == 200
    assert "请填写1至60之间的整数（工作日）。" in response.content.decode()
    assert not DeadlineLimit.objects.exists()


@pytest.mark.parametrize("who", ["cadre", "head", "liaison"])
def test_only_the_street_administrator_opens_the_settings(world: World, who: str) -> None:
    client = client_for(getattr(world, who))
    assert client.get("/demands/deadlines/").status_code == 403
    assert client.post("/demands/deadlines/", limits_post(handling=9)).status_code == 403
    assert client.get("/demands/categories/").status_code == 403
    assert client.post("/demands/categories/", {"name": "新分类"}).status_code == 403
    assert (
        not DeadlineLimit.objects.exists()
        and not Category.objects.filter(street=world.street, name="新分类").exists()
    )


def test_the_categories_page_lists_parents_with_their_children(
    world: World, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.admin)
    with django_assert_max_num_queries(15):
        response = client.get("/demands/categories/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "噪音扰民" in text and "商铺夜间经营噪音" in text


def test_the_admin_adds_a_category_under_a_parent_with_a_usual_department(world: World) -> None:
    noise = Category.objects.get(street=world.street, name="噪音扰民", parent=None)
    response = client_for(world.admin).post(
        "/demands/categories/",
        {"parent": noise.pk, "name": "广场舞噪音", "default_department": world.department.pk},
    )
    assert response.status_code == 302
    added = Category.objects.get(street=world.street, name="广场舞噪音")
    assert (added.parent, added.default_department, added.active) == (noise, world.department, True)


def test_a_duplicate_name_under_the_same_parent_is_refused(world: World) -> None:
    noise = Category.objects.get(street=world.street, name="噪音扰民", parent=None)
    response = client_for(world.admin).post("/demands/categories/", {"parent": noise.pk, "name": "施工噪音"})
    assert response.status_code == 200
    assert "“噪音扰民”下已有名为“施工噪音”的分类。" in response.content.decode()
    assert Category.objects.filter(street=world.street, name="施工噪音").count() == 1


def test_a_duplicate_top_level_name_is_refused(world: World) -> None:
    response = client_for(world.admin).post("/demands/categories/", {"name": "噪音扰民"})
    assert "已有名为“噪音扰民”的一级分类。" in response.content.decode()
    assert Category.objects.filter(street=world.street, name="噪音扰民").count() == 1


def test_the_admin_renames_deactivates_and_changes_the_usual_department(world: World) -> None:
    category = Category.objects.get(street=world.street, name="施工噪音")
    response = client_for(world.admin).post(
        f"/demands/categories/{category.pk}/",
        {f"c{category.pk}-name": "建筑施工噪音", f"c{category.pk}-default_department": world.department.pk},
    )
    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.name, category.default_department, category.active) == (
        "建筑施工噪音",
        world.department,
        False,
    )


def test_renaming_to_a_siblings_name_is_refused(world: World) -> None:
    category = Category.objects.get(street=world.street, name="施工噪音")
    response = client_for(world.admin).post(
        f"/demands/categories/{category.pk}/", {f"c{category.pk}-name": "邻里噪音", f"c{category.pk}-active": "on"}
    )
    assert "“噪音扰民”下已有名为“邻里噪音”的分类。" in response.content.decode()
    category.refresh_from_db()
    assert category.name == "施工噪音"


def test_a_department_of_another_street_cannot_be_the_usual_one(world: World) -> None:
    elsewhere = Street.objects.create(code="310106007", name="南京西路街道")
    foreign = Department.objects.create(street=elsewhere, name="城管", slug="chengguan")
    category = Category.objects.get(street=world.street, name="施工噪音")
    response = client_for(world.admin).post(
        f"/demands/categories/{category.pk}/",
        {f"c{category.pk}-name": "施工噪音", f"c{category.pk}-default_department": foreign.pk},
    )
    assert response.status_code == 200
    category.refresh_from_db()
    assert category.default_department is None

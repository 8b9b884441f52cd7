"""Registry pages for every role: what each sees, what each is refused, and masking on the page."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from ningju.core.models import AuditAction, AuditEntry
from ningju.registry.models import Tag
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pages(world: World) -> dict[str, tuple[str, str]]:
    """Each registry page, as (URL in 恒德里, the same kind of page in 又一村)."""
    h, o = world.household, world.other_household
    return {
        "area": (
            reverse("area_detail", args=[world.hengdeli.code]),
            reverse("area_detail", args=[world.youyicun.code]),
        ),
        "compound": (
            reverse("compound_detail", args=[h.building.compound_id]),
            reverse("compound_detail", args=[o.building.compound_id]),
        ),
        "building": (
            reverse("building_detail", args=[h.building_id]),
            reverse("building_detail", args=[o.building_id]),
        ),
        "household": (reverse("household_detail", args=[h.pk]), reverse("household_detail", args=[o.pk])),
        "household_edit": (reverse("household_edit", args=[h.pk]), reverse("household_edit", args=[o.pk])),
        "resident_edit": (
            reverse("resident_edit", args=[world.resident.pk]),
            reverse("resident_edit", args=[world.other_resident.pk]),
        ),
    }


@pytest.mark.parametrize("page", ["area", "compound", "building", "household", "household_edit", "resident_edit"])
def test_street_admin_sees_every_area(world: World, page: str) -> None:
    client = client_for(world.admin)
    own, other = pages(world)[page]
    assert client.get(own).status_code == 200
    assert client.get(other).status_code == 200


@pytest.mark.parametrize("role", ["head", "cadre"])
@pytest.mark.parametrize("page", ["area", "compound", "building", "household", "household_edit", "resident_edit"])
def test_area_users_see_their_area_and_are_refused_others(world: World, role: str, page: str) -> None:
    client = client_for(getattr(world, role))
    own, other = pages(world)[page]
    assert client.get(own).status_code == 200
    refused = client.get(other)
    assert refused.status_code == 403
    assert "无权" in refused.content.decode()


@pytest.mark.parametrize("role", ["liaison", "nobody"])
@pytest.mark.parametrize("page", ["area", "compound", "building", "household", "household_edit", "resident_edit"])
def test_liaison_and_roleless_users_see_nothing_of_the_registry(world: World, role: str, page: str) -> None:
    client = client_for(getattr(world, role))
    for url in pages(world)[page]:
        assert client.get(url).status_code == 403


def test_anonymous_is_sent_to_login(world: World) -> None:
    for own, _other in pages(world).values():
        response = Client().get(own)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_missing_household_is_404(world: World) -> None:
    assert client_for(world.admin).get(reverse("household_detail", args=[999999])).status_code == 404


def test_area_list_counts_only_visible_areas(world: World) -> None:
    admin_page = client_for(world.admin).get(reverse("area_list")).content.decode()
    assert "恒德里" in admin_page and "又一村" in admin_page
    cadre_page = client_for(world.cadre).get(reverse("area_list")).content.decode()
    assert "恒德里" in cadre_page and "又一村" not in cadre_page
    liaison_page = client_for(world.liaison).get(reverse("area_list")).content.decode()
    assert "恒德里" not in liaison_page and "又一村" not in liaison_page


def test_area_list_counts_households_residents_and_must_visit(world: World) -> None:
    response = client_for(world.admin).get(reverse("area_list"))
    areas = {area.code: area for area in response.context["areas"]}
    hengdeli = areas["310106006006"]
    assert (hengdeli.household_count, hengdeli.resident_count, hengdeli.must_visit_count) == (1, 1, 1)
    assert areas["310106006009"].must_visit_count == 0


def test_home_sends_cadre_to_todays_route_and_head_to_their_area(world: World) -> None:
    assert client_for(world.cadre).get(reverse("home"))["Location"] == reverse("route_today")
    assert client_for(world.head).get(reverse("home"))["Location"] == reverse("area_detail", args=["310106006006"])


def test_household_page_shows_phone_and_id_masked(world: World) -> None:
    body = client_for(world.cadre).get(reverse("household_detail", args=[world.household.pk])).content.decode()
    assert "138****5678" in body
    assert "310106********1228" in body
    assert "13812345678" not in body
    assert "310106194503071228" not in body


def test_reveal_shows_clear_number_and_writes_audit_row(world: World) -> None:
    client = client_for(world.cadre)
    url = reverse("resident_reveal", args=[world.resident.pk])
    response = client.post(url, {"field": "phone", "reason": "电话回访"})
    assert response.status_code == 200
    assert "13812345678" in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL)
    assert (entry.user, entry.field, entry.reason, entry.target_id) == (
        world.cadre,
        "phone",
        "电话回访",
        str(world.resident.pk),
    )


def test_reveal_without_reason_is_refused_and_not_logged(world: World) -> None:
    response = client_for(world.cadre).post(
        reverse("resident_reveal", args=[world.resident.pk]), {"field": "phone"}
    )
    assert response.status_code == 400
    assert "13812345678" not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()


def test_reveal_of_other_area_resident_is_refused(world: World) -> None:
    url = reverse("resident_reveal", args=[world.other_resident.pk])
    response = client_for(world.cadre).post(url, {"field": "phone", "reason": "电话回访"})
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()


def test_household_edit_is_kept_in_history_with_who_and_what(world: World) -> None:
    client = client_for(world.cadre)
    elderly = Tag.objects.get(street=world.street, name="高龄老人(80岁以上)")
    response = client.post(
        reverse("household_edit", args=[world.household.pk]),
        {
            "room": "302",
            "tenure": "public_rent",
            "notes": "走访核实",
            "tags": [elderly.pk],
            "change_reason": "走访更正",
        },
    )
    assert response.status_code == 302
    page = client.get(reverse("household_detail", args=[world.household.pk]))
    body = page.content.decode()
    assert "走访更正" in body
    assert "自有产权 → 公房租赁" in body
    assert world.cadre.display_name in body
    assert "独居老人 → 高龄老人(80岁以上)" in body


def test_resident_correction_validates_id_number(world: World) -> None:
    client = client_for(world.cadre)
    data = {"name": "王秀英", "gender": "F", "relation": "head", "id_number": "310106194503071229", "active": "on"}
    response = client.post(reverse("resident_edit", args=[world.resident.pk]), data)
    assert response.status_code == 200
    assert "校验位错误" in response.content.decode()
    world.resident.refresh_from_db()
    assert world.resident.id_number.reveal() == "310106194503071228"


def test_resident_phone_correction_is_masked_in_history(world: World) -> None:
    client = client_for(world.cadre)
    data = {"name": "王秀英", "gender": "F", "relation": "head", "phone": "13999998888", "active": "on"}
    assert client.post(reverse("resident_edit", args=[world.resident.pk]), data).status_code == 302
    body = client.get(reverse("household_detail", args=[world.household.pk])).content.decode()
    assert "138****5678 → 139****8888" in body
    assert "13999998888" not in body


def test_search_by_full_phone_finds_resident_through_hash(world: World) -> None:
    body = client_for(world.cadre).post(reverse("search"), {"q": "138 1234 5678"}).content.decode()
    assert "王秀英" in body


def test_search_by_id_number_and_name_and_address(world: World) -> None:
    client = client_for(world.admin)
    assert "王秀英" in client.post(reverse("search"), {"q": "310106194503071228"}).content.decode()
    assert "王秀英" in client.post(reverse("search"), {"q": "秀英"}).content.decode()
    assert "常德路633弄5号302室" in client.post(reverse("search"), {"q": "常德路633弄5号"}).content.decode()


def test_search_is_scoped(world: World) -> None:
    client = client_for(world.cadre)
    for query in ("13900001111", "李建国", "常德路545弄"):
        response = client.post(reverse("search"), {"q": query})
        assert response.context["residents"].paginator.count == 0
        assert response.context["households"].paginator.count == 0
        assert "没有找到匹配的记录" in response.content.decode()
    assert (
        client_for(world.admin).post(reverse("search"), {"q": "李建国"}).context["residents"].paginator.count == 1
    )


def urls_in(html: str) -> list[str]:
    """Every URL a page holds: links, form targets, htmx requests and pushed URLs, images and scripts."""
    return re.findall(r'(?:href|action|src|hx-get|hx-post|hx-push-url|hx-replace-url)="([^"]*)"', html)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_search_by_id_number_is_posted_and_leaves_the_number_in_no_url(world: World, htmx: bool) -> None:
    client = client_for(world.cadre)
    headers = {"HX-Request": "true"} if htmx else {}

    response = client.post(reverse("search"), {"q": "310106194503071228"}, headers=headers)

    assert response.status_code == 200
    html = response.content.decode()
    assert "王秀英" in html
    assert "Location" not in response and "HX-Push-Url" not in response and "HX-Replace-Url" not in response
    assert not [url for url in urls_in(html) if "310106194503071228" in url or "q=" in url]
    assert "hx-push-url" not in html


def test_search_form_posts_and_pushes_no_url(world: World) -> None:
    html = client_for(world.cadre).get(reverse("search")).content.decode()

    form = re.search(r"<form [^>]*hx-target=\"#results\"[^>]*>", html)
    assert form is not None
    assert 'method="post"' in form.group(0) and "hx-post=" in form.group(0)
    assert "hx-push-url" not in html


def test_search_in_the_address_bar_is_not_run(world: World) -> None:
    response = client_for(world.cadre).get(reverse("search"), {"q": "310106194503071228"})

    assert response.status_code == 200
    assert "王秀英" not in response.content.decode()


def test_next_page_of_results_is_posted_with_the_query_in_the_body(world: World) -> None:
    for n in range(31):
        factories.ResidentFactory(household=world.household, name=f"王{n:02d}")
    client = client_for(world.cadre)

    first = client.post(reverse("search"), {"q": "王"}).content.decode()
    second = client.post(reverse("search"), {"q": "王", "page": "2"}).content.decode()

    assert "第 1 / 2 页" in first and 'name="page" value="2"' in first
    assert not [url for url in urls_in(first) if "page=" in url or "q=" in url]
    assert "第 2 / 2 页" in second and "王30" in second and "王00" not in second


def test_only_street_admin_manages_tags(world: World) -> None:
    assert client_for(world.cadre).get(reverse("tag_create")).status_code == 403
    client = client_for(world.admin)
    response = client.post(
        reverse("tag_create"),
        {"name": "独居困难", "category": "must_visit", "description": "", "sort_order": 8, "active": "on"},
    )
    assert response.status_code == 302
    assert Tag.objects.get(street=world.street, name="独居困难").category == "must_visit"


def test_tag_list_shows_the_seven_must_visit_defaults(world: World) -> None:
    body = client_for(world.cadre).get(reverse("tag_list")).content.decode()
    for name in [
        "独居老人",
        "高龄老人(80岁以上)",
        "困难家庭(低保/低收入)",
        "残疾人",
        "优抚对象",
        "失独家庭",
        "重点关注人员",
    ]:
        assert name in body


def test_english_switch_translates_the_navigation(world: World) -> None:
    client = client_for(world.cadre)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = client.get(reverse("area_list")).content.decode()
    assert "Residential areas" in body

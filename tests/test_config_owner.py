"""Configuration has an owner: tags, categories, patrol types, visit rules, deadlines and score weights belong to a
street. The administrator of a second street (静安寺街道) can neither see nor change any of 江宁路街道's, and a street
created today starts with its own copy of the defaults."""

import csv
import io
from importlib import import_module
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from ningju.core.errors import ApplicationError
from ningju.core.identifiers import id_check_char
from ningju.core.models import Role, User
from ningju.demands import street_settings
from ningju.demands.defaults import CATEGORIES, ensure_categories
from ningju.demands.hotline import HEADERS as HOTLINE_HEADERS
from ningju.demands.hotline import import_hotline
from ningju.demands.models import Category, DeadlineLimit, Demand, Kind, Source
from ningju.demands.services import demand_create, stage_limits
from ningju.demands.workflow import DEFAULT_DEADLINES, DeadlineStage
from ningju.meetings import assessment
from ningju.meetings.models import ScoreWeights
from ningju.registry import services as registry_services
from ningju.registry.defaults import MUST_VISIT_TAGS, PATROL_TYPES
from ningju.registry.imports import HEADERS as IMPORT_HEADERS
from ningju.registry.imports import import_registry
from ningju.registry.models import Department, Household, PatrolSiteType, Resident, ResidentialArea, Street, Tag
from ningju.visits import rule_services
from ningju.visits.models import Interval, VisitRule, VisitSettings
from ningju.visits.rules import ensure_rules
from tests.conftest import World


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def tag_post(**fields: object) -> dict[str, object]:
    return {
        "name": "独居老人",
        "category": "must_visit",
        "description": "",
        "sort_order": 1,
        "active": "on",
        **fields,
    }


# --- tags ------------------------------------------------------------------------------------------------------


def test_second_street_admin_cannot_rename_the_first_streets_tag(world: World) -> None:
    lonely = Tag.objects.get(street=world.street, name="独居老人")

    response = client_for(world.other_street_admin).post(
        reverse("tag_edit", args=[lonely.pk]), tag_post(name="改名了")
    )

    assert response.status_code == 403
    lonely.refresh_from_db()
    assert lonely.name == "独居老人" and lonely.active


def test_second_street_admin_cannot_deactivate_the_first_streets_tag(world: World) -> None:
    lonely = Tag.objects.get(street=world.street, name="独居老人")
    post = tag_post()
    del post["active"]

    response = client_for(world.other_street_admin).post(reverse("tag_edit", args=[lonely.pk]), post)

    assert response.status_code == 403
    lonely.refresh_from_db()
    assert lonely.active
    with pytest.raises(PermissionDenied):
        registry_services.tag_save(user=world.other_street_admin, tag=lonely, active=False)
    assert Tag.objects.get(pk=lonely.pk).active


def test_deactivating_a_tag_in_one_street_leaves_the_other_streets_tag_of_that_name(world: World) -> None:
    theirs = Tag.objects.get(street=world.other_street, name="独居老人")
    post = tag_post()
    del post["active"]

    response = client_for(world.other_street_admin).post(reverse("tag_edit", args=[theirs.pk]), post)

    assert response.status_code == 302
    assert not Tag.objects.get(pk=theirs.pk).active
    assert Tag.objects.get(street=world.street, name="独居老人").active
    # 江宁路's cadres still offer it on the household form
    page = client_for(world.cadre).get(reverse("household_edit", args=[world.household.pk])).content.decode()
    assert "独居老人" in page


def test_a_tag_added_in_one_street_is_not_listed_in_the_other(world: World) -> None:
    response = client_for(world.other_street_admin).post(reverse("tag_create"), tag_post(name="静安特色标签"))
    assert response.status_code == 302
    assert Tag.objects.get(name="静安特色标签").street == world.other_street

    assert "静安特色标签" in client_for(world.other_street_admin).get(reverse("tag_list")).content.decode()
    assert "静安特色标签" not in client_for(world.admin).get(reverse("tag_list")).content.decode()
    edit = client_for(world.cadre).get(reverse("household_edit", args=[world.household.pk])).content.decode()
    assert "静安特色标签" not in edit


def test_a_household_cannot_be_given_another_streets_tag(world: World) -> None:
    foreign = Tag.objects.create(street=world.other_street, name="静安特色标签")
    client = client_for(world.cadre)

    response = client.post(
        reverse("household_edit", args=[world.household.pk]),
        {"room": "302", "tenure": "owner", "notes": "", "change_reason": "", "tags": [foreign.pk]},
    )

    assert response.status_code == 200  # the form comes back with the error
    assert foreign not in world.household.tags.all()


# --- categories ------------------------------------------------------------------------------------------------


def test_second_street_admin_cannot_edit_the_first_streets_category(world: World) -> None:
    noise = Category.objects.get(street=world.street, name="噪音扰民", parent=None)
    prefix = f"c{noise.pk}"

    response = client_for(world.other_street_admin).post(
        reverse("demand_category_edit", args=[noise.pk]),
        {f"{prefix}-name": "改名了", f"{prefix}-default_department": "", f"{prefix}-active": ""},
    )

    assert response.status_code == 403
    noise.refresh_from_db()
    assert noise.name == "噪音扰民" and noise.active
    with pytest.raises(PermissionDenied):
        street_settings.category_update(
            user=world.other_street_admin, category=noise, name="改名了", default_department=None, active=False
        )
    assert Category.objects.get(pk=noise.pk).name == "噪音扰民"


def test_the_categories_page_lists_only_the_streets_own(world: World) -> None:
    Category.objects.create(street=world.street, name="江宁路专有分类")

    page = client_for(world.other_street_admin).get(reverse("demand_categories")).content.decode()

    assert "噪音扰民" in page  # its own copy of the defaults
    assert "江宁路专有分类" not in page
    assert "江宁路专有分类" in client_for(world.admin).get(reverse("demand_categories")).content.decode()


def test_a_category_cannot_get_another_streets_department(world: World) -> None:
    noise = Category.objects.get(street=world.street, name="噪音扰民", parent=None)
    prefix = f"c{noise.pk}"

    response = client_for(world.admin).post(
        reverse("demand_category_edit", args=[noise.pk]),
        {
            f"{prefix}-name": "噪音扰民",
            f"{prefix}-default_department": world.other_street_department.pk,
            f"{prefix}-active": "on",
        },
    )

    assert response.status_code == 200  # the form comes back with the error
    assert Category.objects.get(pk=noise.pk).default_department is None
    with pytest.raises(ApplicationError, match="所选部门无效"):
        street_settings.category_update(
            user=world.admin,
            category=noise,
            name="噪音扰民",
            default_department=world.other_street_department,
            active=True,
        )
    assert Category.objects.get(pk=noise.pk).default_department is None


def test_second_street_admin_cannot_set_the_first_streets_usual_department(world: World) -> None:
    noise = Category.objects.get(street=world.street, name="噪音扰民", parent=None)
    prefix = f"c{noise.pk}"

    response = client_for(world.other_street_admin).post(
        reverse("demand_category_edit", args=[noise.pk]),
        {
            f"{prefix}-name": "噪音扰民",
            f"{prefix}-default_department": world.other_street_department.pk,
            f"{prefix}-active": "on",
        },
    )

    assert response.status_code == 403
    assert Category.objects.get(pk=noise.pk).default_department is None


def test_a_sub_category_cannot_be_added_under_another_streets_parent(world: World) -> None:
    noise = Category.objects.get(street=world.street, name="噪音扰民", parent=None)

    response = client_for(world.other_street_admin).post(
        reverse("demand_categories"), {"parent": noise.pk, "name": "广场舞噪音", "default_department": ""}
    )

    assert response.status_code == 200  # the form comes back with the error
    assert not Category.objects.filter(name="广场舞噪音").exists()
    with pytest.raises(ApplicationError, match="不属于本街道"):
        street_settings.category_create(user=world.other_street_admin, name="广场舞噪音", parent=noise)
    assert not Category.objects.filter(name="广场舞噪音").exists()


def test_intake_offers_only_the_streets_own_categories(world: World) -> None:
    Category.objects.create(street=world.other_street, name="静安专有分类")
    Category.objects.create(street=world.street, name="江宁路专有分类")

    page = client_for(world.cadre).get(reverse("demand_new")).content.decode()

    assert "江宁路专有分类" in page and "静安专有分类" not in page


# --- visit rules and patrol types ------------------------------------------------------------------------------


def test_second_street_admin_cannot_change_the_first_streets_visit_rule(world: World) -> None:
    ensure_rules(world.street)
    ensure_rules(world.other_street)
    lonely = VisitRule.objects.get(street=world.street, tag__name="独居老人")
    data: dict[str, object] = {"min_households_per_day": 1, "max_households_per_day": 3, "gps_flag_metres": 50}
    for rule in VisitRule.objects.filter(street=world.other_street):
        data[f"interval-{rule.pk}"] = rule.interval
        data[f"active-{rule.pk}"] = "on"
    data[f"interval-{lonely.pk}"] = Interval.WEEK  # the first street's rule smuggled into the form

    client_for(world.other_street_admin).post(reverse("visit_rules"), data)

    lonely.refresh_from_db()
    assert lonely.interval == Interval.MONTH and lonely.active
    assert VisitSettings.objects.get(street=world.street).min_households_per_day == 5
    with pytest.raises(ApplicationError):
        rule_services.rules_update(
            user=world.other_street_admin,
            street=world.other_street,
            changes={lonely.pk: rule_services.RuleChange(Interval.WEEK, True)},
            min_households_per_day=5,
            max_households_per_day=12,
            gps_flag_metres=300,
        )
    assert VisitRule.objects.get(pk=lonely.pk).interval == Interval.MONTH


def test_a_rule_cannot_be_made_for_another_streets_tag_or_patrol_type(world: World) -> None:
    ensure_rules(world.other_street)
    care = Tag.objects.create(street=world.street, name="助餐对象", category="care")
    shed = PatrolSiteType.objects.create(street=world.street, name="健身苑点", must_patrol=False)
    client = client_for(world.other_street_admin)

    page = client.get(reverse("visit_rules")).content.decode()
    assert "助餐对象" not in page and "健身苑点" not in page
    client.post(reverse("visit_rule_create"), {"subject": f"t-{care.pk}", "interval": Interval.MONTH})
    client.post(reverse("visit_rule_create"), {"subject": f"p-{shed.pk}", "interval": Interval.WEEK})

    assert not VisitRule.objects.filter(tag=care).exists()
    assert not VisitRule.objects.filter(patrol_type=shed).exists()
    with pytest.raises(ApplicationError, match="不属于本街道"):
        rule_services.rule_create(
            user=world.other_street_admin, street=world.other_street, interval=Interval.WEEK, patrol_type=shed
        )
    assert not VisitRule.objects.filter(patrol_type=shed).exists()


def test_each_streets_rules_point_at_its_own_tags_and_patrol_types(world: World) -> None:
    ensure_rules(world.street)
    ensure_rules(world.other_street)

    for street in (world.street, world.other_street):
        rules = VisitRule.objects.filter(street=street).select_related("tag", "patrol_type")
        assert {r.tag.street_id for r in rules if r.tag is not None} == {street.pk}
        assert {r.patrol_type.street_id for r in rules if r.patrol_type is not None} == {street.pk}


# --- deadlines and score weights -------------------------------------------------------------------------------


def test_second_street_deadlines_leave_the_first_streets_alone(world: World) -> None:
    limits = {stage.value: workdays for stage, workdays in DEFAULT_DEADLINES.items()}

    response = client_for(world.other_street_admin).post(
        reverse("demand_deadlines"), {**limits, DeadlineStage.HANDLING.value: 9}
    )

    assert response.status_code == 302
    assert stage_limits(world.other_street.pk)[DeadlineStage.HANDLING] == 9
    assert stage_limits(world.street.pk)[DeadlineStage.HANDLING] == DEFAULT_DEADLINES[DeadlineStage.HANDLING]
    assert not DeadlineLimit.objects.filter(street=world.street).exists()


def test_second_street_score_weights_leave_the_first_streets_alone(world: World) -> None:
    before = assessment.weights_for(world.street.pk)
    only_visits = {**dict.fromkeys(assessment.INDICATOR_KEYS, "0"), "visits": "100"}

    response = client_for(world.other_street_admin).post(reverse("scorecard_weights"), only_visits)

    assert response.status_code == 302
    assert assessment.weights_for(world.other_street.pk)["visits"] == 100
    assert assessment.weights_for(world.street.pk) == before
    assert not ScoreWeights.objects.filter(street=world.street).exists()


# --- a new street ----------------------------------------------------------------------------------------------


def test_a_new_street_starts_with_its_own_copy_of_the_defaults(world: World) -> None:
    Tag.objects.filter(street=world.street, name="独居老人").update(name="独居老人(改)")

    street = registry_services.street_create(code="310106013", name="石门二路街道")

    tags = set(Tag.objects.filter(street=street).values_list("name", flat=True))
    assert tags == {
        name for name, _high_risk, _description in MUST_VISIT_TAGS
    }  # the first street's edit stays there
    assert set(PatrolSiteType.objects.filter(street=street).values_list("name", flat=True)) == set(PATROL_TYPES)
    top = set(Category.objects.filter(street=street, parent=None).values_list("name", flat=True))
    assert top == {name for name, _department, _children in CATEGORIES}
    children = Category.objects.filter(street=street, parent__isnull=False).select_related("parent")
    assert children.count() == sum(len(c) for _n, _d, c in CATEGORIES)
    assert {child.parent.street_id for child in children if child.parent} == {street.pk}
    rules = VisitRule.objects.filter(street=street)
    assert rules.filter(target=VisitRule.Target.HOUSEHOLD, interval=Interval.YEAR).exists()
    assert rules.filter(tag__name="重点关注人员", interval=Interval.WEEK).exists()
    assert rules.filter(target=VisitRule.Target.PATROL_TYPE).count() == len(PATROL_TYPES)
    assert VisitSettings.objects.filter(street=street).exists()
    assert stage_limits(street.pk) == DEFAULT_DEADLINES
    assert assessment.weights_for(street.pk) == assessment.DEFAULT_WEIGHTS
    # and nothing of 江宁路's changed
    assert Tag.objects.filter(street=world.street, name="独居老人(改)").exists()


def test_the_usual_departments_link_within_the_street(world: World) -> None:
    street = registry_services.street_create(code="310106013", name="石门二路街道")
    Department.objects.create(street=street, name="城管", slug="chengguan")

    ensure_categories(street)

    noise = Category.objects.get(street=street, name="噪音扰民", parent=None)
    assert noise.default_department is not None and noise.default_department.street_id == street.pk
    assert Category.objects.get(street=world.street, name="噪音扰民", parent=None).default_department is None


def test_a_street_code_must_be_valid_and_new(world: World) -> None:
    with pytest.raises(ApplicationError):
        registry_services.street_create(code="310106006", name="重复")
    with pytest.raises(ApplicationError):
        registry_services.street_create(code="123", name="坏代码")


# --- lookups by name: imports, intake, API --------------------------------------------------------------------


def csv_of(headers: list[str], rows: list[dict[str, str]]) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return io.BytesIO(text.getvalue().encode("utf-8-sig"))


def test_registry_import_resolves_tag_names_within_the_imported_street(world: World) -> None:
    first17 = "31010619400506002"
    row = {
        "居民区": "华山",
        "小区": "华山小区",
        "地址": "华山路100弄1号",
        "室号": "101",
        "姓名": "陈阿婆",
        "性别": "女",
        "出生日期": "1940-05-06",
        "身份证号": first17 + id_check_char(first17),
        "与户主关系": "户主",
        "标签": "独居老人",
        "户标签": "独居老人",
        "经度": "121.4450",
        "纬度": "31.2220",
    }

    import_registry(source=csv_of(list(IMPORT_HEADERS), [row]), filename="居民.csv", user=world.other_street_admin)

    resident = Resident.objects.get(name="陈阿婆")
    theirs = Tag.objects.get(street=world.other_street, name="独居老人")
    assert list(resident.tags.all()) == [theirs]
    assert list(resident.household.tags.all()) == [theirs]


def test_hotline_import_files_orders_under_the_streets_own_categories(world: World) -> None:
    row = {
        "工单编号": "SH-0001",
        "受理时间": "2026/3/5 9:00",
        "诉求内容": "楼道里堆满杂物",
        "地址": "常德路633弄5号302室",
        "分类": "噪音扰民/施工噪音",
        "诉求类型": "投诉",
    }

    import_hotline(source=csv_of(list(HOTLINE_HEADERS), [row]), filename="12345.csv", user=world.admin)

    demand = Demand.objects.select_related("category__parent").get(external_id="SH-0001")
    assert demand.category is not None and str(demand.category) == "噪音扰民 / 施工噪音"
    assert demand.category.street == world.street


def test_a_demand_cannot_be_filed_under_another_streets_category(world: World) -> None:
    theirs = Category.objects.get(street=world.other_street, name="噪音扰民", parent=None)

    with pytest.raises(ApplicationError, match="不属于本街道"):
        demand_create(
            user=world.cadre,
            area=world.hengdeli,
            kind=Kind.PROBLEM,
            source=Source.WALK_IN,
            text="楼下酒吧很吵",
            category=theirs,
        )
    assert not Demand.objects.exists()


def test_api_tag_filter_knows_only_the_users_streets_tags(world: World) -> None:
    theirs = Tag.objects.get(street=world.other_street, name="独居老人")
    ours = Tag.objects.get(street=world.street, name="独居老人")
    client = client_for(world.cadre)

    foreign = client.get(reverse("api_household_list"), {"tag": theirs.pk})
    by_name = client.get(reverse("api_household_list"), {"tag": "独居老人"})

    assert foreign.status_code == 400
    assert by_name.status_code == 200
    assert [h["id"] for h in by_name.json()["results"]] == [world.household.pk]
    assert ours in world.household.tags.all()


# --- the demo --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_with_two_streets_builds_a_neighbour_with_its_own_configuration_and_admin() -> None:
    out = StringIO()
    call_command("demo", "--streets", "2", "--no-visits", households=40, seed=7, stdout=out)

    assert "石门二路街道" in out.getvalue()
    first, second = Street.objects.get(code="310106006"), Street.objects.get(code="310106013")
    assert ResidentialArea.objects.filter(street=second).count() >= 2
    assert Household.objects.filter(building__compound__area__street=second).exists()
    for street in (first, second):
        assert Tag.objects.filter(street=street, name="独居老人").count() == 1
        assert Category.objects.filter(street=street, name="噪音扰民", parent=None).count() == 1
        assert VisitRule.objects.filter(street=street, target=VisitRule.Target.HOUSEHOLD).exists()
        tagged = Household.objects.filter(building__compound__area__street=street, tags__isnull=False)
        assert set(tagged.values_list("tags__street", flat=True)) <= {street.pk}
    neighbour_admin = User.objects.get(username="admin-013")
    assert neighbour_admin.role == Role.STREET_ADMIN and neighbour_admin.street == second
    page = client_for(neighbour_admin).get(reverse("area_list")).content.decode()
    assert "新福康里" in page and "恒德里" not in page

    # --reset removes both streets and builds them again
    call_command("demo", "--streets", "2", "--no-visits", "--reset", households=40, seed=7, stdout=StringIO())
    assert Street.objects.count() == 2


# --- the data migrations -----------------------------------------------------------------------------------------

BEFORE = [
    ("registry", "0002_default_tags_and_patrol_types"),
    ("demands", "0003_default_categories"),
    ("visits", "0002_visit_rule_partial_unique_constraints"),
    ("insights", "0001_text_models_clusters_mechanisms_rollups"),
]


@pytest.mark.django_db(transaction=True)
def test_migrating_gives_each_existing_street_its_own_copy_and_repoints_references() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    import_module("ningju.registry.migrations.0002_default_tags_and_patrol_types").add_defaults(old, None)
    import_module("ningju.demands.migrations.0003_default_categories").install(old, None)
    OldTag, OldCategory = old.get_model("registry", "Tag"), old.get_model("demands", "Category")
    tags, categories = OldTag.objects.count(), OldCategory.objects.count()
    lonely, noise = OldTag.objects.get(name="独居老人"), OldCategory.objects.get(name="噪音扰民", parent=None)
    for code, area_code in (("310106006", "310106006006"), ("310106012", "310106012001")):
        street = old.get_model("registry", "Street").objects.create(code=code, name=code)
        area = old.get_model("registry", "ResidentialArea").objects.create(street=street, code=area_code, name="x")
        compound = old.get_model("registry", "Compound").objects.create(area=area, name="c")
        building = old.get_model("registry", "Building").objects.create(
            compound=compound, road=f"路{code}", number="1", lat=31.2, lng=121.4
        )
        household = old.get_model("registry", "Household").objects.create(building=building, room="101")
        household.tags.add(lonely)
        old.get_model("visits", "VisitRule").objects.create(
            street=street, target="tag", tag=lonely, interval="month"
        )
        department = old.get_model("registry", "Department").objects.create(street=street, name="城管", slug="cg")
        if code == "310106006":
            OldCategory.objects.filter(pk=noise.pk).update(default_department=department)

    executor = MigrationExecutor(connection)
    executor.migrate(latest)

    assert Tag.objects.count() == 2 * tags and Category.objects.count() == 2 * categories
    for street in Street.objects.all():
        household = Household.objects.get(building__compound__area__street=street)
        assert [t.street_id for t in household.tags.all()] == [street.pk]
        assert VisitRule.objects.get(street=street).tag.street_id == street.pk  # type: ignore[union-attr]
        noise_copy = Category.objects.get(street=street, name="噪音扰民", parent=None)
        assert noise_copy.default_department is not None and noise_copy.default_department.street_id == street.pk
        children = Category.objects.filter(street=street, parent__isnull=False).select_related("parent")
        assert {c.parent.street_id for c in children} == {street.pk}  # type: ignore[union-attr]

    # Reversing collapses the copies back into one installation-wide set.
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    assert old.get_model("registry", "Tag").objects.count() == tags
    assert old.get_model("demands", "Category").objects.count() == categories
    assert all(h.tags.count() == 1 for h in old.get_model("registry", "Household").objects.all())
    MigrationExecutor(connection).migrate(latest)

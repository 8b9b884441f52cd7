"""Category suggestion and similar open demands at intake; training, bootstrap and background retraining."""

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ningju.core.errors import ApplicationError
from ningju.core.models import Job, JobKind, JobStatus
from ningju.demands.models import Category, Demand, Kind, Source
from ningju.demands.services import demand_create
from ningju.demands.workflow import State
from ningju.insights import engine, training
from ningju.insights.models import Suggestion, TextModel
from ningju.registry.models import Department
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

TEXTS = {
    ("噪音扰民", "商铺夜间经营噪音"): [
        "楼下酒吧夜间音乐声太吵，影响休息",
        "沿街酒吧半夜还在放音乐，噪音扰民",
        "夜里烧烤店顾客喧哗到凌晨",
        "酒吧门口深夜吵闹，老人睡不着",
        "饭店夜间经营噪音很大",
        "KTV夜间唱歌声音太响",
        "酒吧音响声音太大，晚上无法入睡",
        "夜宵店深夜营业，顾客大声喧哗",
    ],
    ("消防与安全", "电动自行车充电"): [
        "有居民把电动自行车推进楼道充电",
        "电瓶车在楼道里充电很危险",
        "飞线给电动车充电，存在火灾隐患",
        "电动自行车停在楼梯口充电",
        "楼道里电瓶车充电，担心起火",
        "有人从窗口拉电线给电动车充电",
        "电动车电池在家里充电不安全",
        "希望增设电动自行车充电桩",
    ],
    ("房屋与加装电梯", "加装电梯"): [
        "希望加装电梯，老人上下楼不方便",
        "加装电梯意见征询进展如何",
        "加装电梯费用分摊有分歧",
        "低层住户反对加装电梯",
        "申请加装电梯需要什么手续",
        "老楼加装电梯施工何时开始",
        "加装电梯影响一楼采光",
        "楼里大部分住户同意加装电梯",
    ],
}


@pytest.fixture(autouse=True)
def var_in_tmp(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    engine.forget()
    yield
    engine.forget()


def category(parent: str, name: str) -> Category:
    return Category.objects.get(street__code="310106006", parent__name=parent, name=name)  # street 1 (`world`)


@pytest.fixture
def market(world: World) -> Department:
    """The department bar noise usually goes to."""
    department = factories.DepartmentFactory(street=world.street, name="市场监管", slug="shichang")
    bar_noise = category("噪音扰民", "商铺夜间经营噪音")
    bar_noise.default_department = department
    bar_noise.save(update_fields=["default_department"])
    return department


def categorised(world: World) -> list[Demand]:
    """The street's handled history: closed demands with a category each (closed: not in the similar panel)."""
    return Demand.objects.bulk_create(
        Demand(
            area=world.hengdeli,
            kind=Kind.PROBLEM,
            source=Source.VISIT,
            text=text,
            category=category(*key),
            owner=world.cadre,
            state=State.CLOSED,
        )
        for key, texts in TEXTS.items()
        for text in texts
    )


@pytest.fixture
def trained(world: World, market: Department) -> TextModel:
    categorised(world)
    return training.classifier_train(street=world.street)


def open_demand(world: World, area: Any, text: str, **kwargs: Any) -> Demand:
    user = world.cadre if area == world.hengdeli else world.other_cadre
    demand, _created = demand_create(
        user=user, area=area, kind=Kind.PROBLEM, source=Source.VISIT, text=text, **kwargs
    )
    return demand


# --- training ---------------------------------------------------------------------------------------------------


def test_training_saves_an_active_model_under_var(world: World, trained: TextModel, tmp_path: Path) -> None:
    assert trained.active and trained.samples == 24 and trained.labels == 3
    assert trained.macro_f1 is None  # too few demands to hold some out
    assert (tmp_path / trained.file).is_file()
    assert Path(trained.file).name.startswith(f"classifier-{world.street.code}-")


def test_suggestion_names_the_category_its_department_and_the_words_behind_it(
    world: World, trained: TextModel, market: Department
) -> None:
    suggestion = engine.suggest_category(world.street, "酒吧晚上音乐太吵了，吵得睡不着")
    assert suggestion is not None
    assert suggestion.category == category("噪音扰民", "商铺夜间经营噪音")
    assert 0 < suggestion.score <= 1
    assert suggestion.department == market
    assert "酒吧" in suggestion.words
    assert all(score < suggestion.score for _category, score in suggestion.alternatives)


def test_a_newer_model_replaces_the_old_one_and_only_three_files_are_kept(
    world: World, trained: TextModel
) -> None:
    models = [trained] + [training.classifier_train(street=world.street) for _ in range(3)]
    assert list(TextModel.objects.filter(active=True)) == [models[-1]]
    assert TextModel.objects.count() == training.KEEP_MODELS
    assert not engine.model_path(models[0]).exists()
    assert engine.current_classifier(world.street.pk)[0] == models[-1]


def test_training_without_two_categories_refuses_and_saves_nothing(world: World, tmp_path: Path) -> None:
    with pytest.raises(ApplicationError, match="训练数据不足"):
        training.classifier_train(street=world.street)
    assert not TextModel.objects.exists()
    assert not list(tmp_path.glob("models/*.pkl"))


# --- the intake panel -------------------------------------------------------------------------------------------


def test_panel_shows_the_suggestion_and_similar_open_demands_of_other_areas_without_their_details(
    world: World, trained: TextModel
) -> None:
    here = open_demand(world, world.hengdeli, "常德路夜猫子酒吧晚上音乐太吵，楼上居民睡不着")
    there = open_demand(
        world, world.youyicun, "常德路夜猫子酒吧晚上音乐太吵，附近居民都有意见", reporter=world.other_resident
    )
    client = Client()
    client.force_login(world.cadre)
    response = client.get(
        reverse("insights_suggest"), {"text": "常德路夜猫子酒吧晚上音乐太吵", "area": world.hengdeli.pk}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "建议分类" in page and "商铺夜间经营噪音" in page and "市场监管" in page
    assert f'data-suggest-category="{category("噪音扰民", "商铺夜间经营噪音").pk}"' in page
    assert "2 条相似的在办诉求" in page
    assert reverse("demand_detail", args=[here.pk]) in page
    assert "又一村" in page
    assert reverse("demand_detail", args=[there.pk]) not in page
    assert world.other_resident.name not in page


def test_panel_masks_phone_numbers_in_excerpts(world: World) -> None:
    open_demand(world, world.youyicun, "常德路夜猫子酒吧晚上太吵，联系电话13900001111")
    client = Client()
    client.force_login(world.cadre)
    page = client.get(reverse("insights_suggest"), {"text": "常德路夜猫子酒吧晚上太吵"}).content.decode()
    assert "又一村" in page and "13900001111" not in page and "139****1111" in page


def test_unrelated_text_finds_no_similar_demands(world: World) -> None:
    open_demand(world, world.youyicun, "常德路夜猫子酒吧晚上音乐太吵")
    client = Client()
    client.force_login(world.cadre)
    page = client.get(reverse("insights_suggest"), {"text": "希望社区增加老年助餐点"}).content.decode()
    assert "相似的在办诉求" not in page


def test_closed_demands_are_not_offered_as_similar(world: World) -> None:
    demand = open_demand(world, world.hengdeli, "常德路夜猫子酒吧晚上音乐太吵")
    Demand.objects.filter(pk=demand.pk).update(state=State.CLOSED)
    assert engine.similar_open_demands(world.cadre, "常德路夜猫子酒吧晚上音乐太吵") == []


def test_a_demand_created_after_the_index_was_built_is_found(world: World) -> None:
    open_demand(world, world.hengdeli, "海防路垃圾厢房门坏了")
    assert engine.similar_open_demands(world.cadre, "安远路20弄有人把电瓶车推进楼道充电") == []
    later = open_demand(world, world.hengdeli, "安远路20弄有居民把电动自行车推进楼道充电")
    assert [d for d, _s in engine.similar_open_demands(world.cadre, "安远路20弄有人把电瓶车推进楼道充电")] == [
        later
    ]


def test_without_a_model_the_panel_is_quietly_empty(world: World) -> None:
    client = Client()
    client.force_login(world.cadre)
    response = client.get(reverse("insights_suggest"), {"text": "楼下酒吧夜间音乐声太吵"})
    assert response.status_code == 200
    assert "建议分类" not in response.content.decode()


def test_short_text_suggests_nothing(world: World, trained: TextModel) -> None:
    client = Client()
    client.force_login(world.cadre)
    assert "建议分类" not in client.get(reverse("insights_suggest"), {"text": "酒吧"}).content.decode()


@pytest.mark.parametrize("who", ["liaison", "nobody"])
def test_liaison_and_users_without_role_cannot_ask_for_suggestions(world: World, who: str) -> None:
    client = Client()
    client.force_login(world.users()[who])
    assert client.get(reverse("insights_suggest"), {"text": "楼下酒吧夜间音乐声太吵"}).status_code == 403


def test_intake_page_asks_for_suggestions_as_the_text_is_typed(world: World) -> None:
    client = Client()
    client.force_login(world.cadre)
    page = client.get(reverse("demand_new")).content.decode()
    assert f'hx-get="{reverse("insights_suggest")}"' in page and "from:#id_text" in page


# --- recording suggestions and corrections -------------------------------------------------------------------


def test_intake_records_what_was_suggested_and_what_the_person_chose(world: World, trained: TextModel) -> None:
    chosen = category("噪音扰民", "邻里噪音")
    client = Client()
    client.force_login(world.cadre)
    response = client.post(
        reverse("demand_new"),
        {
            "kind": Kind.PROBLEM,
            "text": "楼下酒吧夜间音乐声太吵，影响休息",
            "source": Source.WALK_IN,
            "category": str(chosen.pk),
            "client_key": "intake-1",
        },
    )
    assert response.status_code == 302
    suggestion = Suggestion.objects.get(demand__client_key="intake-1")
    assert suggestion.suggested == category("噪音扰民", "商铺夜间经营噪音")
    assert suggestion.chosen == chosen and suggestion.corrected
    assert suggestion.model == trained and 0 < suggestion.score <= 1


def test_intake_without_a_model_records_nothing_and_still_succeeds(world: World) -> None:
    demand = open_demand(world, world.hengdeli, "楼下酒吧夜间音乐声太吵")
    assert training.suggestion_record(demand=demand) is None
    assert not Suggestion.objects.exists()


def corrections(world: World, count: int) -> None:
    wrong, right = category("噪音扰民", "商铺夜间经营噪音"), category("噪音扰民", "邻里噪音")
    demands = Demand.objects.bulk_create(
        Demand(
            area=world.hengdeli,
            kind=Kind.PROBLEM,
            source=Source.VISIT,
            text=f"楼上邻居深夜吵闹{i}",
            category=right,
            owner=world.cadre,
        )
        for i in range(count)
    )
    Suggestion.objects.bulk_create(Suggestion(demand=d, suggested=wrong, chosen=right, score=0.6) for d in demands)


def test_retraining_waits_for_twenty_corrections(world: World, trained: TextModel) -> None:
    corrections(world, training.RETRAIN_AFTER_CORRECTIONS - 1)
    assert training.classifiers_retrain_due() == []
    corrections(world, 1)
    [retrained] = training.classifiers_retrain_due()
    assert retrained.active and retrained != trained
    assert retrained.corrections_seen == training.RETRAIN_AFTER_CORRECTIONS
    trained.refresh_from_db()
    assert not trained.active
    assert training.classifiers_retrain_due() == []  # the corrections are counted in now


def test_a_street_without_model_is_first_trained_at_fifty_categorised_demands(world: World) -> None:
    categorised(world)
    assert training.streets_due() == []
    categorised(world)
    assert training.streets_due() == []
    categorised(world)
    assert training.streets_due() == [world.street]


# --- bootstrap from a labelled file ----------------------------------------------------------------------------


def labelled_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("诉求内容,分类\n" + "".join(f"{text},{label}\n" for text, label in rows), encoding="utf-8")
    return path


def test_bootstrap_with_unknown_labels_lists_them_and_saves_nothing(world: World, tmp_path: Path) -> None:
    rows = [(text, "/".join(key)) for key, texts in TEXTS.items() for text in texts[:4]]
    file = labelled_csv(tmp_path / "labelled.csv", [*rows, ("外星人半夜敲门", "外星人入侵"), ("路灯不亮", "照明")])
    with pytest.raises(ApplicationError, match="外星人入侵、照明") as refused:
        training.classifier_bootstrap(street=world.street, file=file, text_cols=["诉求内容"], label_col="分类")
    assert refused.value.extra["errors"][0]["row"] == 14
    assert not TextModel.objects.exists()
    assert not training.bootstrap_path(world.street).exists()


def test_bootstrap_rows_keep_counting_in_later_retrains(world: World, tmp_path: Path) -> None:
    rows = [(text, "/".join(key)) for key, texts in TEXTS.items() for text in texts[:4]]
    file = labelled_csv(tmp_path / "labelled.csv", rows)
    first = training.classifier_bootstrap(street=world.street, file=file, text_cols=["诉求内容"], label_col="分类")
    assert (first.samples, first.labels) == (12, 3)
    categorised(world)
    assert training.classifier_train(street=world.street).samples == 36


# --- the model page ---------------------------------------------------------------------------------------------


def test_street_admin_retrains_from_the_model_page_and_follows_the_job(
    world: World, market: Department, django_capture_on_commit_callbacks: Any
) -> None:
    categorised(world)
    client = Client()
    client.force_login(world.admin)
    assert "还没有分类模型" in client.get(reverse("insights_model")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("insights_model"), {"action": "retrain"})
    job = Job.objects.get(kind=JobKind.TEXT_TRAIN)
    assert response["Location"] == reverse("job_detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    page = client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "分类模型已更新并启用" in page and "样本 24 条，分类 3 个" in page
    assert "训练样本数" in client.get(reverse("insights_model")).content.decode()


def test_bootstrap_upload_with_unknown_labels_fails_with_the_rows_named(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    client.force_login(world.admin)
    upload = io.BytesIO("诉求内容,分类\n外星人半夜敲门,外星人入侵\n".encode())
    upload.name = "labelled.csv"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("insights_model"),
            {"action": "bootstrap", "file": upload, "text_cols": "诉求内容", "label_col": "分类"},
        )
    job = Job.objects.get(kind=JobKind.TEXT_TRAIN)
    assert job.status == JobStatus.FAILED and "外星人入侵" in job.message
    assert not job.input_file
    page = client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "系统中没有分类“外星人入侵”" in page
    assert not TextModel.objects.exists()


def test_only_the_street_admin_opens_the_model_page(world: World) -> None:
    client = Client()
    client.force_login(world.head)
    assert client.get(reverse("insights_model")).status_code == 403
    assert client.post(reverse("insights_model"), {"action": "retrain"}).status_code == 403
    assert not Job.objects.exists()

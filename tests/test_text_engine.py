"""The Chinese text engine: segmentation, classifier, similar search, place-aware clusters and `ningju text`."""

import csv
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import joblib
import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ningju.core.errors import ApplicationError
from ningju.insights.text import classifier as classifier_module
from ningju.insights.text.classifier import TextClassifier, train
from ningju.insights.text.cluster import cluster, describe
from ningju.insights.text.features import SimilarityVectorizer, extract_places, place_keys
from ningju.insights.text.io import parse_datetime, read_demands
from ningju.insights.text.segment import words
from ningju.insights.text.similar import SimilarIndex, recall

FIXTURE = Path(__file__).parent / "fixtures" / "text" / "demands.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def rows():
    return read_demands(FIXTURE, text_cols=["主题", "详情"], id_col="编号", label_col="类别", time_col="时间")


@pytest.fixture(scope="module")
def model(rows):
    return train(rows.texts, rows.labels)


def test_segmentation_keeps_community_terms_whole():
    tokens = words("楼里想加装电梯，可是有人飞线充电，还有群租，找居委会和12345都没用")
    for term in ("加装电梯", "飞线充电", "群租", "居委会", "12345"):
        assert term in tokens


def test_classifier_labels_clear_unseen_demands(model):
    held_out = {
        "我们楼的垃圾厢房夏天臭气熏天，湿垃圾一直没人清运": "环境卫生",
        "隔壁酒吧每天半夜放音乐，吵得老人睡不着": "噪音扰民",
        "老房子屋顶漏水，墙面都发霉了，希望修一修": "房屋修缮",
        "有人在楼道里飞线充电，电瓶车停在楼梯口，太危险": "治安消防",
        "独居老人腿脚不便，希望社区安排助餐送饭": "养老服务",
        "僵尸车占着车位好几个月，小区停车难": "停车交通",
    }
    predicted = model.predict(list(held_out))
    assert [label for label, _score in predicted] == list(held_out.values())
    for _label, score in predicted:
        assert 0 <= score <= 1


def test_scores_are_probabilities_over_all_labels(model):
    top = model.top_labels("小区停车难，外来车辆乱停", k=10)
    assert len(top) == 6
    assert all(0 <= score <= 1 for _label, score in top)
    assert sum(score for _label, score in top) == pytest.approx(1.0, abs=1e-6)
    assert [s for _l, s in top] == sorted((s for _l, s in top), reverse=True)


def test_explain_names_the_words_behind_a_suggestion(model):
    reasons = model.explain("楼道里有人飞线充电，太危险了", k=5)
    assert reasons
    assert any("飞线" in word or "充电" in word for word, _weight in reasons)
    assert all(weight > 0 for _word, weight in reasons)


def test_saved_model_predicts_the_same_after_loading(model, tmp_path):
    path = tmp_path / "model.joblib"
    model.save(path)
    loaded = TextClassifier.load(path)
    texts = ["广场舞音响声音太大", "希望加装电梯"]
    assert loaded.predict(texts) == model.predict(texts)


def test_model_file_from_another_version_is_refused_in_chinese(model, tmp_path, monkeypatch):
    path = tmp_path / "old.joblib"
    model.save(path)
    monkeypatch.setattr(classifier_module, "FORMAT_VERSION", classifier_module.FORMAT_VERSION + 1)
    with pytest.raises(ApplicationError, match="另一版本"):
        TextClassifier.load(path)
    joblib.dump({"something": "else"}, tmp_path / "other.joblib")
    with pytest.raises(ApplicationError, match="不是宁聚的分类模型"):
        TextClassifier.load(tmp_path / "other.joblib")


def test_tiny_training_set_with_a_single_example_label_works():
    tiny = train(
        ["垃圾没人清运", "垃圾厢房很臭", "酒吧太吵", "楼上装修噪音", "想加装电梯"],
        ["环境"] * 2 + ["噪音"] * 2 + ["房屋"],
    )
    label, score = tiny.predict(["垃圾厢房没人清运"])[0]
    assert label == "环境"
    assert 0 < score <= 1
    assert train(["只有一条"], ["唯一"]).predict(["别的"]) == [("唯一", 1.0)]


def test_similar_search_finds_a_near_duplicate_first(rows):
    index = SimilarIndex.build(rows.ids, rows.texts)
    target = rows.texts.index(next(t for t in rows.texts if "飞线充电" in t))
    query = rows.texts[target].replace("我住在", "本人住").replace("。", "！")
    found = index.search(query, k=5)
    assert found[0][0] == rows.ids[target]
    assert found[0][1] > found[-1][1]


def test_similar_index_recall_against_brute_force_and_incremental_add(tmp_path):
    rng = np.random.default_rng(3)
    roads = ["常德路", "康定路", "武定路", "西康路", "新闸路", "昌平路"]
    problems = ["垃圾厢房很臭", "夜间施工噪音", "楼道堆物", "飞线充电", "屋顶漏水", "停车难", "路灯不亮"]
    texts = [
        f"{roads[rng.integers(6)]}{rng.integers(1, 900)}弄{problems[rng.integers(7)]}{problems[rng.integers(7)]}"
        for _ in range(3000)
    ]
    index = SimilarIndex.build(list(range(3000)), texts, nlist=30)  # force the inverted-file path on a small set
    queries = index.vectorizer.dense(texts[:100])
    recalls = [recall(index.search_vector(q, 10)[1], index.exact_search(q, 10)[1]) for q in queries]
    assert np.mean(recalls) >= 0.95
    index.add(["new"], ["常德路77弄夜猫子酒吧半夜唱歌太吵"])
    assert index.search("常德路77弄夜猫子酒吧唱歌吵", k=1)[0][0] == "new"
    index.save(tmp_path / "index.joblib")
    assert SimilarIndex.load(tmp_path / "index.joblib").search("常德路77弄夜猫子酒吧唱歌吵", k=1)[0][0] == "new"


def test_places_are_found_in_demand_texts():
    assert extract_places("反映延安中路恒德里小区垃圾厢房很臭") == ["延安中路", "恒德里", "恒德里小区"]
    assert "夜猫子酒吧" in extract_places("常德路上的夜猫子酒吧半夜很吵")
    assert extract_places("小区里晚上太吵") == []
    assert "常德路88号" in place_keys("常德路88号楼下")


def test_same_bar_clusters_together_but_noise_at_different_places_does_not():
    texts = [
        "常德路夜猫子酒吧夜间音乐噪音扰民，吵得睡不着",
        "夜猫子酒吧每晚放音乐到凌晨，常德路居民无法休息",
        "康定路景苑小区楼上装修噪音扰民",
        "武定路三星坊广场舞噪音扰民",
    ]
    labels = cluster(["a", "b", "c", "d"], texts)
    assert labels["a"] == labels["b"]
    assert len({labels["a"], labels["c"], labels["d"]}) == 3
    assert "夜猫子酒吧" in describe(texts[:2])


def test_cluster_gives_every_id_exactly_one_label_and_respects_the_time_window(rows):
    labels = cluster(rows.ids, rows.texts, rows.times)
    assert set(labels) == set(rows.ids)
    assert len(set(labels.values())) < len(rows.ids)
    same = ["常德路夜猫子酒吧夜间噪音扰民", "常德路夜猫子酒吧夜间噪音扰民"]
    apart = [datetime(2023, 1, 1, tzinfo=SHANGHAI), datetime(2023, 6, 1, tzinfo=SHANGHAI)]
    assert len(set(cluster([1, 2], same).values())) == 1
    assert len(set(cluster([1, 2], same, apart, window_days=30).values())) == 2
    assert cluster(["alone"], ["只有一条留言"]) == {"alone": "C0001"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019/2/14  20:00:00", datetime(2019, 2, 14, 20, 0, tzinfo=SHANGHAI)),
        ("2020-01-03 09:12", datetime(2020, 1, 3, 9, 12, tzinfo=SHANGHAI)),
        ("2019年2月14日", datetime(2019, 2, 14, tzinfo=SHANGHAI)),
        ("43510.5", datetime(2019, 2, 14, 12, 0, tzinfo=SHANGHAI)),
        (datetime(2021, 5, 6, 7, 8), datetime(2021, 5, 6, 7, 8, tzinfo=SHANGHAI)),
        ("", None),
        ("不详", None),
        ("2019/13/40", None),
    ],
)
def test_mixed_date_formats_are_read(value, expected):
    assert parse_datetime(value) == expected


def _write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def _read_csv(path):
    with open(path, encoding="utf-8") as source:
        return list(csv.reader(source))


def test_command_trains_classifies_and_clusters_a_csv(tmp_path, capsys):
    model = tmp_path / "model.joblib"
    call_command(
        "text",
        "train",
        "--input",
        str(FIXTURE),
        "--text-cols",
        "主题,详情",
        "--label-col",
        "类别",
        "--model",
        str(model),
    )
    assert "已训练分类模型" in capsys.readouterr().out
    new = tmp_path / "new.csv"
    _write_csv(
        new,
        ["留言编号", "留言主题", "留言详情", "留言时间"],
        [
            ["9001", "常德路夜猫子酒吧太吵", "每晚音乐声很大", "2019/2/14  20:00:00"],
            ["9002", "希望加装电梯", "老人爬楼困难", "2020-01-03 09:12"],
            ["9003", "", "", ""],
            ["9004", "夜猫子酒吧音乐噪音", "常德路酒吧半夜扰民", "2019/2/15  21:00:00"],
        ],
    )
    predictions = tmp_path / "p.csv"
    call_command(
        "text", "classify", "--model", str(model), "--input", str(new), "--text-cols", "留言主题,留言详情",
        "--id-col", "留言编号", "--output", str(predictions),
    )  # fmt: skip
    lines = _read_csv(predictions)
    assert lines[0] == ["id", "label", "score"]
    assert [line[0] for line in lines[1:]] == ["9001", "9002", "9003", "9004"]
    assert lines[1][1] == "噪音扰民" and lines[2][1] == "房屋修缮"
    clusters = tmp_path / "c.csv"
    call_command(
        "text", "cluster", "--input", str(new), "--id-col", "留言编号", "--text-cols", "留言主题,留言详情",
        "--time-col", "留言时间", "--output", str(clusters),
    )  # fmt: skip
    lines = _read_csv(clusters)
    assert lines[0] == ["id", "cluster"]
    assert sorted(line[0] for line in lines[1:]) == ["9001", "9002", "9003", "9004"]
    by_id = dict(lines[1:])
    assert by_id["9001"] == by_id["9004"] != by_id["9002"]
    assert "已聚类 4 条留言" in capsys.readouterr().out


def test_command_names_a_missing_column_and_writes_nothing(tmp_path):
    source = tmp_path / "in.csv"
    _write_csv(source, ["编号", "内容"], [["1", "垃圾没人清运"]])
    output = tmp_path / "out.csv"
    with pytest.raises(CommandError, match="没有“留言主题”列；找到的列：编号、内容"):
        call_command(
            "text", "cluster", "--input", str(source), "--id-col", "编号", "--text-cols", "留言主题",
            "--output", str(output),
        )  # fmt: skip
    assert not output.exists()


def test_training_on_fields_reads_the_subject_on_its_own_and_predicts_fields_or_plain_text(rows):
    fields = [(text.split("。", 1)[0], text.split("。", 1)[-1]) for text in rows.texts]
    model = train(fields, rows.labels)
    assert "s" in dict(model.features.transformer_list)
    assert model.predict([("隔壁酒吧每天半夜放音乐", "吵得老人睡不着")])[0][0] == "噪音扰民"
    assert model.predict(["隔壁酒吧每天半夜放音乐，吵得老人睡不着"])[0][0] == "噪音扰民"
    assert model.explain(("隔壁酒吧每天半夜放音乐", ""), 3)
    # plain strings keep the two views they always had
    assert "s" not in dict(train(rows.texts, rows.labels).features.transformer_list)


def test_query_vector_equals_the_batch_vector_after_the_learnt_reduction():
    rng = np.random.default_rng(5)
    places = ["常德路", "康定路", "恒德里", "景苑", "武定坊"]
    problems = ["垃圾厢房很臭", "夜间施工噪音", "楼道堆物", "飞线充电", "屋顶漏水"]
    texts = [f"{places[rng.integers(5)]}{rng.integers(1, 300)}号{problems[rng.integers(5)]}" for _ in range(1200)]
    vectorizer = SimilarityVectorizer().fit(texts)
    assert vectorizer.width == 128
    assert np.allclose(vectorizer.query(texts[7]), vectorizer.dense([texts[7]])[0], atol=1e-5)

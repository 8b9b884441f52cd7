"""Benchmark of the Chinese text engine; prints the figures.

    .venv/bin/python benchmarks/text.py                          # everything, similar search at 10k, 100k, 1M
    .venv/bin/python benchmarks/text.py --sizes 10000,100000     # smaller similar-search runs
    .venv/bin/python benchmarks/text.py --only classifier        # one part: classifier, cluster, similar

(a) classifier macro-F1 on the teddy2020c dev files (../shared/data, when present) with a clean stratified split
    — no subject in both train and validation — against a plain char n-gram TF-IDF + LinearSVC baseline; the
    settings are chosen on a validation split carved from train, the reported split is touched once.
(b) clustering of the unlabelled reply file: cluster count, sizes and a sample of clusters to read.
(c) similar search on synthetic demand texts: build time, memory, p50/p99 latency, recall@10 against exact brute
    force over the same 128-d vectors (ties counted: a result scoring at least the 10th exact score is a hit).
"""

import argparse
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "teddy2020c"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ningju.settings")

ROADS = [
    "常德路",
    "江宁路",
    "康定路",
    "武定路",
    "西康路",
    "昌平路",
    "长寿路",
    "新闸路",
    "陕西北路",
    "胶州路",
    "余姚路",
    "泰兴路",
    "海防路",
    "宜昌路",
    "澳门路",
    "安远路",
    "延安中路",
    "北京西路",
    "南阳路",
    "石门二路",
]
COMPOUNDS = [
    "恒德里",
    "又一村",
    "景苑",
    "联宝里",
    "众乐里",
    "武定坊",
    "三星坊",
    "蒋家巷",
    "海防村",
    "通安里",
    "三乐里",
    "句容里",
    "天河苑",
    "永乐公寓",
    "新安花园",
    "北京公寓",
    "康定小区",
    "长寿新村",
    "昌平花园",
    "江宁大楼",
]
SHOPS = [
    "夜猫子酒吧",
    "老王饭店",
    "全家便利店",
    "联华超市",
    "好德便利店",
    "阿强烧烤店",
    "小杨生煎店",
    "星光网吧",
    "蓝调酒吧",
    "金鼎餐厅",
    "和平菜场",
    "大润发超市",
    "阿婆馄饨店",
    "红房子酒店",
    "顺风快递店",
]
TEMPLATES = [
    "{place}{time}{noise}，{impact}，{ask}",
    "反映{place}{problem}，{impact}，{ask}",
    "{place}附近{problem}已经{duration}了，{ask}",
    "居民来电：{place}{problem}，{ask}",
    "{time}{place}{noise}，多次向物业反映无果，{ask}",
    "我家住在{place}，{problem}，{impact}",
]
NOISE = [
    "酒吧音乐声很大",
    "装修噪音扰民",
    "广场舞音响太响",
    "空调外机噪音",
    "夜间施工噪音",
    "烧烤摊喧哗",
    "货车卸货噪音",
]
PROBLEMS = [
    "垃圾厢房臭味严重",
    "楼道堆物堵塞消防通道",
    "有人飞线充电",
    "群租人员进出杂乱",
    "电动自行车乱停放",
    "二次供水水质发黄",
    "屋顶漏水",
    "下水道堵塞",
    "路灯不亮",
    "绿化带无人修剪",
    "油烟扰民",
    "违章搭建",
    "占道经营",
    "高空抛物",
    "流浪猫太多",
    "非机动车占用人行道",
    "电梯故障频繁",
    "希望加装电梯",
    "老鼠很多",
    "共享单车堆积",
    "窨井盖破损",
    "积水严重",
]
TIMES = ["每天晚上", "凌晨一点", "周末", "最近一周", "晚上十点以后", "早上六点", "中午", ""]
IMPACT = ["影响老人休息", "孩子无法学习", "居民意见很大", "存在安全隐患", "出行不便", "影响生活"]
ASK = ["请尽快处理", "希望有关部门管一管", "请城管来查一下", "请居委会协调", "希望物业整改", "要求给个说法"]
DURATION = ["三个月", "半年", "一年多", "好几周"]


def synthetic_texts(n: int, seed: int) -> list[str]:
    """Demand-like sentences: templates × places (road + number, compound, shop) × details; few exact repeats."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        kind = rng.random()
        road = rng.choice(ROADS)
        if kind < 0.4:
            place = f"{road}{rng.randint(1, 1500)}弄{rng.randint(1, 60)}号"
        elif kind < 0.75:
            place = f"{rng.choice(COMPOUNDS)}小区{rng.randint(1, 40)}号楼"
        else:
            place = f"{road}上的{rng.choice(SHOPS)}"
        texts.append(
            rng.choice(TEMPLATES).format(
                place=place,
                time=rng.choice(TIMES),
                noise=rng.choice(NOISE),
                problem=rng.choice(PROBLEMS),
                impact=rng.choice(IMPACT),
                ask=rng.choice(ASK),
                duration=rng.choice(DURATION),
            )
        )
    return texts


def setup() -> None:
    import django

    django.setup()


# -- (a) classifier ---------------------------------------------------------------------------------------------


def load_labelled():
    """(fields, text, label): full messages (subject, detail) and the further subjects, deduplicated by subject;
    text is the fields joined with "。" (the split is made on it, as before the multi-field model)."""
    import csv

    def norm(s: str) -> str:
        return re.sub(r"\W+", "", s).lower()

    rows, seen = [], set()
    with open(DATA / "messages_labelled_dev.csv", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            key = norm(r["留言主题"])
            if key and key not in seen:
                seen.add(key)
                fields = (r["留言主题"], r["留言详情"])
                rows.append((fields, r["留言主题"] + "。" + r["留言详情"], r["一级标签"].strip()))
    with open(DATA / "subjects_labelled_dev.csv", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            key = norm(r["留言主题"])
            if key and key not in seen:
                seen.add(key)
                rows.append(((r["留言主题"], ""), r["留言主题"], r["一级标签"].strip()))
    return rows


def classifier_part() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from ningju.insights.text.classifier import train

    print("\n== (a) classifier: macro-F1 on teddy2020c dev files ==")
    rows = load_labelled()
    texts = [t for _f, t, _y in rows]
    fields = [f for f, _t, _y in rows]
    labels = [y for _f, _t, y in rows]
    print(f"labelled texts after dedupe by subject: {len(rows)}; labels: {dict(Counter(labels))}")
    # the same split as before (the shuffle depends only on the row count, the labels and the seed)
    train_x, test_x, train_f, test_f, train_y, test_y = train_test_split(
        texts, fields, labels, test_size=0.2, stratify=labels, random_state=0
    )
    assert not set(train_x) & set(test_x)
    print(f"train {len(train_x)}, validation (reported) {len(test_x)}; no text in both")

    # tuning on a split carved from train only
    fit_x, tune_x, fit_y, tune_y = train_test_split(
        train_f, train_y, test_size=0.2, stratify=train_y, random_state=1
    )
    candidates = [
        {"method": "svm", "c": 1.0, "subject_weight": 0.0},
        {"method": "svm", "c": 1.0, "subject_weight": 0.5},
        {"method": "svm", "c": 1.0, "subject_weight": 1.0},
        {"method": "svm", "c": 0.5, "subject_weight": 1.0},
    ]
    best, best_f1 = candidates[0], -1.0
    for params in candidates:
        started = time.perf_counter()
        model = train(fit_x, fit_y, **params)
        f1 = f1_score(tune_y, [y for y, _s in model.predict(tune_x)], average="macro")
        print(f"  tuning {params}: macro-F1 {f1:.4f} ({time.perf_counter() - started:.0f} s)")
        if f1 > best_f1:
            best, best_f1 = params, f1
    print(f"chosen on the tuning split: {best}")

    started = time.perf_counter()
    model = train(train_f, train_y, **best)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    predicted = [y for y, _s in model.predict(test_f)]
    per_text = (time.perf_counter() - started) / len(test_x) * 1000
    ours = f1_score(test_y, predicted, average="macro")

    baseline = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True), LinearSVC(C=1.0)
    ).fit(train_x, train_y)
    base = f1_score(test_y, baseline.predict(test_x), average="macro")
    print(f"baseline char 1-3 TF-IDF + LinearSVC: macro-F1 {base:.4f}")
    print(
        f"ningju classifier (jieba words + char 1-3 of subject+detail, char 1-3 of the subject, calibrated): "
        f"macro-F1 {ours:.4f}"
        f"  (train {trained:.0f} s, predict {per_text:.1f} ms/text)"
    )
    sample = test_f[0]
    print(f"explain example: {sample[0][:40]}… → {model.top_labels(sample, 2)}; words {model.explain(sample, 6)}")


# -- (b) clustering ---------------------------------------------------------------------------------------------


def cluster_part() -> None:
    import csv

    from ningju.insights.text.cluster import TopicDescriber, cluster
    from ningju.insights.text.io import parse_datetime

    print("\n== (b) clustering: f4_replies_2816.csv ==")
    with open(DATA / "f4_replies_2816.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    ids = [r["留言编号"] for r in rows]
    texts = [r["留言主题"] + "。" + r["留言详情"] for r in rows]
    times = [parse_datetime(r["留言时间"]) for r in rows]
    print(f"messages {len(rows)}, dates parsed {sum(t is not None for t in times)}")
    started = time.perf_counter()
    labels = cluster(ids, texts, times)
    print(f"clustered in {time.perf_counter() - started:.1f} s (time window 30 days)")
    sizes = Counter(labels.values())
    distribution = Counter(sizes.values())
    print(
        f"clusters {len(sizes)}; multi-member {sum(1 for s in sizes.values() if s > 1)}; "
        f"messages in multi-member clusters {sum(s for s in sizes.values() if s > 1)}"
    )
    print("size distribution (size: clusters): " + ", ".join(f"{s}: {c}" for s, c in sorted(distribution.items())))
    describer = TopicDescriber([r["留言主题"] for r in rows])
    by_cluster: dict[str, list[int]] = {}
    for i, identifier in enumerate(ids):
        by_cluster.setdefault(labels[identifier], []).append(i)
    multi = sorted((m for m in by_cluster.values() if len(m) > 1), key=len, reverse=True)
    rng = random.Random(0)
    sample = multi[:4] + rng.sample(multi[4:], min(6, len(multi[4:])))
    for members in sample:
        title = describer.describe([rows[i]["留言主题"] for i in members])
        print(f"\n  [{len(members)}] {title}")
        for i in members[:3]:
            print(f"     - {rows[i]['留言时间']} {rows[i]['留言主题'][:50]}")


# -- (c) similar search -----------------------------------------------------------------------------------------


def similar_part(sizes: list[int], queries: int) -> None:
    import numpy as np

    from ningju.insights.text.features import SimilarityVectorizer
    from ningju.insights.text.similar import SimilarIndex, recall

    print(
        "\n== (c) similar search on synthetic demand texts (256-d random projection → 128 singular directions, float32, IVF vs exact brute force) =="
    )
    results = []
    for n in sizes:
        started = time.perf_counter()
        texts = synthetic_texts(n, seed=n)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        index = SimilarIndex.build(np.arange(n), texts, vectorizer=SimilarityVectorizer())
        built = time.perf_counter() - started
        del texts
        query_texts = synthetic_texts(queries, seed=n + 1)
        latencies, recalls, exact_ms = [], [], []
        for text in query_texts:
            started = time.perf_counter()
            index.search(text, 10)
            latencies.append((time.perf_counter() - started) * 1000)
        vectors = index.vectorizer.dense(query_texts)
        for q in vectors:
            started = time.perf_counter()
            _e, exact = index.exact_search(q, 10)
            exact_ms.append((time.perf_counter() - started) * 1000)
            _p, found = index.search_vector(q, 10)
            recalls.append(recall(found, exact))
        row = (
            n,
            generated,
            built,
            index.memory_bytes() / 2**20,
            len(index.centroids),
            index.nprobe,
            np.percentile(latencies, 50),
            np.percentile(latencies, 99),
            float(np.mean(recalls)),
            np.percentile(exact_ms, 50),
        )
        results.append(row)
        print(
            f"  N={n:,}: generated {generated:.0f} s, built {built:.0f} s, "
            f"p50 {row[6]:.2f} ms, p99 {row[7]:.2f} ms, recall@10 {row[8]:.4f}",
            flush=True,
        )
        del index
    print("\n     N | build s | index MiB | lists | nprobe | p50 ms | p99 ms | recall@10 | brute p50 ms")
    for n, _g, built, mib, nlist, nprobe, p50, p99, rec, brute in results:
        print(
            f"{n:>9,} | {built:7.1f} | {mib:9.0f} | {nlist:5d} | {nprobe:6d} | {p50:6.2f} | {p99:6.2f} | "
            f"{rec:9.4f} | {brute:8.2f}"
        )
    print("(latency: one query text end to end — vectorising, centroid scoring, list scan and re-rank)")


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the Chinese text engine")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--only", choices=["classifier", "cluster", "similar"], default=None)
    options = parser.parse_args()
    setup()
    import resource

    if options.only in (None, "classifier", "cluster"):
        if DATA.exists():
            if options.only in (None, "classifier"):
                classifier_part()
            if options.only in (None, "cluster"):
                cluster_part()
        else:
            print(f"{DATA} not found: skipping the classifier and clustering parts (synthetic parts only)")
    if options.only in (None, "similar"):
        similar_part([int(s) for s in options.sizes.split(",") if s], options.queries)
    # Dashboard latency needs a built street, not text: it has its own script.
    print(
        "\n== dashboard latency ==\nrun: NINGJU_VAR_DIR=<a copy of a demo database> .venv/bin/python benchmarks/dashboard.py"
    )
    print(f"\npeak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

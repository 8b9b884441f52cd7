"""Titles of groups of similar demands (同类诉求) as a person would write them: the place and the problem, never the
most frequent words joined by spaces; on realistic groups and on the demo street."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from ningju.insights.clusters import street_places
from ningju.insights.models import Cluster
from ningju.insights.text.cluster import describe
from ningju.insights.text.titles import MAX_TITLE, TitleMaker, strip_lead_in
from ningju.registry.models import Street

PLACES = ["静安悦庭苑", "恒德里", "鸿安邨", "常德路", "康定路", "武定路", "陕西北路", "新闸路", "胶州路"]
# the street's other demands: words every second demand says carry little
BACKGROUND = [
    "走访武定路500弄6号2102室时发现：老人晚上出行不便，希望有人陪同就医。",
    "居民来居委会反映：小区晚上路灯太暗，出行不便。",
    "入户走访时居民提出：希望附近增加菜场。",
    "居民在楼组微信群反映：楼道堆放杂物，物业提醒过没有效果。",
    "市民来电反映：建议恒德里物业公开收支情况。",
    "巡查鸿安邨垃圾厢房时发现：垃圾厢房周边垃圾满溢。",
    "居民反映：小区停车难，晚上外来车辆占位。",
] * 3

GROUPS = [
    pytest.param(
        [
            "走访陕西北路560弄6号302室时发现：楼道灯损坏，晚上出行不便。",
            "走访康定路103弄14号101室时发现：楼道灯损坏，晚上出行不便。",
            "走访武定路500弄6号2102室时发现：楼道灯损坏，晚上出行不便。",
            "居民来居委会反映：楼道灯损坏，晚上出行不便，希望尽快修好。",
        ],
        {"楼道灯损坏"},
        id="was 出行 损坏 不便 晚上",
    ),
    pytest.param(
        [
            "建议静安悦庭苑物业报修电话24小时有人接听。",
            "居民来居委会反映：建议静安悦庭苑物业报修电话24小时有人接听，业委会也提过意见。",
            "走访中居民反映：静安悦庭苑物业报修电话晚上没人接听。",
        ],
        {"静安悦庭苑 物业报修电话"},
        id="was 建议静安悦庭苑 静安悦庭苑 接听 小时",
    ),
    pytest.param(
        [
            "咨询办理居住证需要哪些材料？",
            "请问居住证怎么办理，需要哪些材料",
            "居民来电咨询：居住证办理需要什么材料",
        ],
        {"办理居住证咨询", "居住证办理咨询", "居住证办理材料咨询", "办理居住证材料咨询"},
        id="was 哪些 居住证 办理 材料",
    ),
    pytest.param(
        [
            "静安悦庭苑楼下饭店夜间噪音很大",
            "静安悦庭苑夜间噪音扰民，睡不着",
            "居民反映：静安悦庭苑晚上噪音大，夜间噪音严重",
        ],
        {"静安悦庭苑 夜间噪音"},
        id="place and problem",
    ),
    pytest.param(
        [
            "常德路“夜猫子酒吧”每天半夜音乐声很大，噪音扰民",
            "“夜猫子酒吧”深夜噪音扰民，客人在门口喧哗",
            "常德路“夜猫子酒吧”凌晨还在放音乐，噪音严重",
        ],
        {"常德路夜猫子酒吧 噪音扰民", "常德路夜猫子酒吧 噪音"},
        id="a shop after its road",
    ),
    pytest.param(
        [
            "走访新闸路1301弄4号101室时发现：外墙空鼓，有坠落风险。",
            "走访陕西北路561弄2号101室时发现：外墙空鼓，有坠落风险。",
            "走访新闸路1300弄2号802室时发现：外墙空鼓，有坠落风险。",
        ],
        {"外墙空鼓"},
        id="the first clause is the matter",
    ),
    pytest.param(
        [
            "巡查鸿安邨16号楼道，发现楼道堆放杂物，堵塞疏散通道，物业提醒过没有效果。",
            "巡查鸿安邨3号楼道时发现：楼道堆放杂物，堵塞消防通道。",
            "鸿安邨楼道堆放杂物，晚上看不清容易绊倒。",
        ],
        {"鸿安邨 楼道堆放杂物"},
        id="a registry compound the suffix patterns miss",
    ),
    pytest.param(
        [
            "居民在楼组微信群反映：有居民把电动自行车推进楼道充电，电线就挂在窗外。",
            "走访武定路500弄7号2003室时发现：有居民把电动自行车推进楼道充电。",
            "新闸路1300弄1号105室居民反映：有居民把电动自行车推进楼道充电，担心火灾。",
        ],
        {"电动自行车推进楼道充电"},
        id="function words trimmed",
    ),
]


@pytest.fixture(scope="module")
def maker() -> TitleMaker:
    return TitleMaker(BACKGROUND, PLACES)


def assert_readable(title: str, fallback: bool = False) -> None:
    """Not a token list: at most one space, after a place that the problem does not repeat; short enough for a
    phone line (a fallback names its category in full)."""
    assert len(title) <= (MAX_TITLE + 4 if fallback else MAX_TITLE), title
    parts = title.split(" ")
    assert len(parts) <= 2, title
    assert len(parts) == 1 or parts[0] not in parts[1], title


@pytest.mark.parametrize(("texts", "expected"), GROUPS)
def test_title_is_the_place_and_the_problem(maker: TitleMaker, texts: list[str], expected: set[str]) -> None:
    title = maker.title(texts)
    assert title.text in expected
    assert_readable(title.text)
    assert not title.fallback


def test_a_mixed_group_falls_back_to_its_category_and_most_common_phrase(maker: TitleMaker) -> None:
    texts = [
        "居民来电反映：希望安远路366弄小区挖潜增加停车位。",
        "巡查安远路376号大楼垃圾厢房时发现：垃圾厢房周边垃圾满溢。",
        "居民通过线上平台留言：希望公开安远路21弄小区维修资金使用明细。",
        "希望安远路23弄3号也能加装电梯，老人多，上下楼困难。",
    ]
    title = maker.title(texts, ["物业管理", "物业管理", "物业管理", "加装电梯"])
    assert title.fallback and title.place == "安远路" and title.text.startswith("安远路 物业管理")
    again = maker.title([*texts[:2], "巡查安远路沿街商铺时发现：商铺占道经营。"], ["占道经营"] * 3)
    assert again.fallback and again.text.count("占道经营") <= 1  # the phrase does not repeat the category
    assert_readable(title.text, fallback=True)


def test_lead_in_and_hostile_input_give_a_plain_title(maker: TitleMaker) -> None:
    assert strip_lead_in("巡查鸿安邨垃圾厢房时发现：垃圾满溢") == "垃圾满溢"
    assert maker.title([]).text == ""
    assert maker.title(["", "   "]).text == ""
    hostile = [
        "<script>alert(1)</script>楼道灯损坏",
        "楼道灯损坏<script>alert(1)</script>",
        "“" * 500 + "楼道灯损坏",
    ]
    title = maker.title(hostile).text
    assert title == "楼道灯损坏" and "<" not in title


def test_describe_keeps_its_signature_and_names_the_shop() -> None:
    assert "夜猫子酒吧" in describe(["常德路夜猫子酒吧每天半夜音乐声很大", "夜猫子酒吧深夜噪音扰民"], 4)


@pytest.mark.django_db
def test_no_demo_title_is_a_space_joined_token_list() -> None:
    call_command("demo", households=200, seed=7, stdout=StringIO())
    street = Street.objects.get()
    places = set(street_places(street))
    titles = list(Cluster.objects.values_list("title", flat=True))
    assert len(titles) >= 5
    for title in titles:
        assert_readable(title, fallback=True)
        if " " in title:  # only after a place: "静安悦庭苑 夜间噪音", "常德路420弄 增设误时投放点"
            place = title.split(" ")[0]
            assert (
                place in places
                or re.search(r"\d+弄$|[路街]$|[吧馆店]$", place)
                or any(place.endswith(p) for p in places)
            ), title

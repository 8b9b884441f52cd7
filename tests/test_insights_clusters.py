"""Clusters of similar demands across the street (合并同类项) and standing mechanisms (常态化响应机制)."""

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ningju.core.models import AuditEntry, Job, JobKind, JobStatus, User
from ningju.demands.models import Demand, Kind, Source
from ningju.demands.services import demand_create
from ningju.demands.workflow import State
from ningju.insights import clusters
from ningju.insights.models import Cluster, ClusterMember, ClusterStatus, Mechanism
from ningju.registry.models import ResidentialArea
from tests.conftest import World

TODAY = timezone.localdate()
START, END = TODAY - timedelta(days=29), TODAY

BAR = [
    "常德路夜猫子酒吧每天半夜音乐声很大，吵得睡不着",
    "夜猫子酒吧深夜噪音扰民，客人在门口喧哗",
    "常德路夜猫子酒吧凌晨还在放音乐，噪音严重",
]
GARBAGE = ["恒德里小区12号楼垃圾房异味很重，垃圾满溢", "恒德里小区垃圾房没人清理，臭味熏人"]
NOISE = ["康定路工地夜间施工噪音", "又一村小区广场舞音响噪音太大", "昌平路菜市场早上卸货噪音"]


def received(days_ago: int) -> datetime:
    return timezone.make_aware(datetime.combine(TODAY - timedelta(days=days_ago), time(10)))


def record(world: World, text: str, area: ResidentialArea | None = None, days_ago: int = 5) -> Demand:
    demand, created = demand_create(
        user=world.cadre,
        area=area or world.hengdeli,
        kind=Kind.PROBLEM,
        source=Source.VISIT,
        text=text,
        received_at=received(days_ago),
    )
    assert created
    return demand


@pytest.fixture
def demands(world: World) -> dict[str, list[Demand]]:
    return {
        "bar": [
            record(world, BAR[0], days_ago=20),
            record(world, BAR[1], world.youyicun, days_ago=12),
            record(world, BAR[2], days_ago=3),
        ],
        "garbage": [record(world, GARBAGE[0], days_ago=15), record(world, GARBAGE[1], days_ago=14)],
        "noise": [
            record(world, NOISE[0], days_ago=10),
            record(world, NOISE[1], world.youyicun, days_ago=9),
            record(world, NOISE[2], days_ago=8),
        ],
    }


def propose(world: World) -> list[Cluster]:
    return clusters.clusters_propose(street=world.street, start=START, end=END)


def members(cluster: Cluster) -> set[int]:
    return set(ClusterMember.objects.filter(cluster=cluster).values_list("demand_id", flat=True))


def bar_cluster(world: World) -> Cluster:
    return Cluster.objects.get(street=world.street, title__contains="夜猫子酒吧")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ids(found: list[Demand]) -> set[int]:
    return {d.pk for d in found}


def test_proposal_groups_the_same_bar_across_two_areas_and_not_noise_at_different_places(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    found = propose(world)
    groups = [members(c) for c in found]
    assert ids(demands["bar"]) in groups
    assert ids(demands["garbage"]) in groups
    noise = ids(demands["noise"])
    assert all(len(group & noise) <= 1 for group in groups)  # "噪音" alone is not a topic
    bar = bar_cluster(world)
    assert bar.status == ClusterStatus.PROPOSED and (bar.window_start, bar.window_end) == (START, END)
    assert bar.title.startswith(("夜猫子酒吧", "常德路"))  # places first
    assert {d.area_id for d in bar.demands.all()} == {world.hengdeli.pk, world.youyicun.pk}
    assert all(m.similarity > 0 for m in ClusterMember.objects.filter(cluster=bar))


def test_merged_demands_are_left_out_of_proposals(world: World, demands: dict[str, list[Demand]]) -> None:
    repeat = demands["bar"][2]
    Demand.objects.filter(pk=repeat.pk).update(state=State.MERGED, merged_into=demands["bar"][0])
    propose(world)
    assert members(bar_cluster(world)) == ids(demands["bar"][:2])


def test_proposing_again_replaces_proposals_and_keeps_decided_clusters(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    propose(world)
    bar = bar_cluster(world)
    clusters.cluster_confirm(user=world.admin, cluster_id=bar.pk)
    garbage = Cluster.objects.get(title__contains="垃圾房")
    clusters.cluster_dismiss(user=world.admin, cluster_id=garbage.pk)
    propose(world)
    propose(world)
    assert Cluster.objects.count() == 2  # nothing duplicated, nothing re-proposed
    assert Cluster.objects.get(pk=bar.pk).status == ClusterStatus.CONFIRMED
    assert Cluster.objects.get(pk=garbage.pk).status == ClusterStatus.DISMISSED
    assert members(Cluster.objects.get(pk=bar.pk)) == ids(demands["bar"])


def test_a_new_demand_of_a_confirmed_group_is_proposed_with_it(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    propose(world)
    clusters.cluster_confirm(user=world.admin, cluster_id=bar_cluster(world).pk)
    later = record(world, "夜猫子酒吧昨晚又放音乐到两点，噪音扰民", days_ago=1)
    propose(world)
    proposed = Cluster.objects.get(status=ClusterStatus.PROPOSED, title__contains="酒吧")
    assert later.pk in members(proposed)


def test_confirm_is_audited_and_leaves_each_demand_in_its_own_workflow(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    propose(world)
    bar = bar_cluster(world)
    response = client_for(world.admin).post(reverse("cluster_decide", args=[bar.pk, "confirm"]))
    assert response.status_code == 302
    bar.refresh_from_db()
    assert bar.status == ClusterStatus.CONFIRMED and bar.decided_by == world.admin and bar.decided_at
    assert set(Demand.objects.filter(pk__in=members(bar)).values_list("state", flat=True)) == {State.ACCEPTED}
    entry = AuditEntry.objects.get(target_type="insights.cluster", target_id=str(bar.pk))
    assert entry.user == world.admin and entry.action == clusters.CLUSTER_AUDIT
    assert entry.detail["what"] == "cluster_confirm" and set(entry.detail["demands"]) == ids(demands["bar"])
    again = client_for(world.admin).post(reverse("cluster_decide", args=[bar.pk, "confirm"]), follow=True)
    assert "已经确认过了" in again.content.decode()
    assert AuditEntry.objects.filter(target_type="insights.cluster").count() == 1


def test_dismiss_is_audited(world: World, demands: dict[str, list[Demand]]) -> None:
    propose(world)
    garbage = Cluster.objects.get(title__contains="垃圾房")
    client_for(world.admin).post(reverse("cluster_decide", args=[garbage.pk, "dismiss"]))
    garbage.refresh_from_db()
    assert garbage.status == ClusterStatus.DISMISSED and garbage.decided_by == world.admin
    assert AuditEntry.objects.get(target_id=str(garbage.pk)).detail["what"] == "cluster_dismiss"


def test_split_moves_chosen_demands_into_a_new_cluster_and_is_audited(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    propose(world)
    bar = bar_cluster(world)
    extra = record(world, "夜猫子酒吧门口乱停车", days_ago=2)
    ClusterMember.objects.create(cluster=bar, demand=extra)
    chosen = [demands["bar"][1].pk, extra.pk]
    response = client_for(world.admin).post(
        reverse("cluster_split", args=[bar.pk]), {"demands": chosen, "new_cluster": "on"}
    )
    split_off = Cluster.objects.exclude(pk=bar.pk).get(members__demand=extra)
    assert response.status_code == 302 and response["Location"] == reverse("cluster_detail", args=[split_off.pk])
    assert members(bar) == {demands["bar"][0].pk, demands["bar"][2].pk}
    assert members(split_off) == set(chosen) and split_off.status == ClusterStatus.PROPOSED
    bar.refresh_from_db()
    assert bar.status == ClusterStatus.PROPOSED
    entry = AuditEntry.objects.get(target_id=str(bar.pk))
    assert entry.detail["what"] == "cluster_split" and entry.detail["removed"] == sorted(chosen)
    assert entry.detail["new_cluster"] == split_off.pk


def test_split_leaving_one_demand_dismisses_the_cluster(world: World, demands: dict[str, list[Demand]]) -> None:
    propose(world)
    garbage = Cluster.objects.get(title__contains="垃圾房")
    client_for(world.admin).post(
        reverse("cluster_split", args=[garbage.pk]), {"demands": [demands["garbage"][0].pk]}
    )
    garbage.refresh_from_db()
    assert garbage.status == ClusterStatus.DISMISSED and members(garbage) == {demands["garbage"][1].pk}
    assert Cluster.objects.count() == 2  # no new cluster of one demand


def test_split_refuses_bad_choices_and_writes_nothing(world: World, demands: dict[str, list[Demand]]) -> None:
    propose(world)
    bar = bar_cluster(world)
    client = client_for(world.admin)
    everything = client.post(
        reverse("cluster_split", args=[bar.pk]), {"demands": list(ids(demands["bar"]))}, follow=True
    )
    assert "不能拆出全部诉求" in everything.content.decode()
    one_alone = client.post(
        reverse("cluster_split", args=[bar.pk]),
        {"demands": [demands["bar"][0].pk], "new_cluster": "on"},
        follow=True,
    )
    assert "另立一组至少需要勾选 2 条诉求" in one_alone.content.decode()
    nothing = client.post(reverse("cluster_split", args=[bar.pk]), {}, follow=True)
    assert "请先勾选要拆出的诉求" in nothing.content.decode()
    assert members(bar) == ids(demands["bar"])
    assert not AuditEntry.objects.filter(target_type="insights.cluster").exists()


@pytest.mark.parametrize("who", ["cadre", "head", "liaison"])
def test_only_the_street_admin_sees_and_decides_clusters(
    world: World, demands: dict[str, list[Demand]], who: str
) -> None:
    propose(world)
    bar = bar_cluster(world)
    client = client_for(getattr(world, who))
    assert client.get(reverse("cluster_list")).status_code == 403
    assert client.get(reverse("cluster_detail", args=[bar.pk])).status_code == 403
    assert client.post(reverse("cluster_decide", args=[bar.pk, "confirm"])).status_code == 403
    assert (
        client.post(reverse("cluster_split", args=[bar.pk]), {"demands": [demands["bar"][0].pk]}).status_code
        == 403
    )
    assert client.post(reverse("cluster_analyse"), {"window": "30"}).status_code == 403
    bar.refresh_from_db()
    assert bar.status == ClusterStatus.PROPOSED and members(bar) == ids(demands["bar"])
    assert not AuditEntry.objects.filter(target_type="insights.cluster").exists()


def test_cluster_list_shows_one_line_per_cluster_with_size_areas_and_trend(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    propose(world)
    bar = bar_cluster(world)
    page = client_for(world.admin).get(reverse("cluster_list")).content.decode()
    assert bar.title in page and "3 条诉求，2 个居民区" in page and "2 条诉求，1 个居民区" in page
    assert page.index(bar.title) < page.index("2 条诉求")  # the larger group first
    assert any(block in page for block in clusters.SPARK[1:])
    assert "每周条数（5周）" in page and 'role="img" aria-label="自' in page  # the bars say what they count
    assert "持平" in page and "精确二项检验" in page  # three demands in 30 days are no significant rise
    clusters.cluster_dismiss(user=world.admin, cluster_id=bar.pk)
    assert bar.title not in client_for(world.admin).get(reverse("cluster_list")).content.decode()
    dismissed = client_for(world.admin).get(reverse("cluster_list") + "?status=dismissed").content.decode()
    assert bar.title in dismissed


def test_decided_clusters_get_fresh_titles_and_proposals_are_not_touched(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    propose(world)
    bar = bar_cluster(world)
    clusters.cluster_confirm(user=world.admin, cluster_id=bar.pk)
    Cluster.objects.filter(pk=bar.pk).update(title="音乐 睡不着 凌晨 门口")  # a title of the old keyword engine
    garbage = Cluster.objects.get(title__contains="垃圾房")
    assert clusters.clusters_retitle(world.street) == 1
    bar.refresh_from_db()
    assert "夜猫子酒吧" in bar.title and bar.title.count(" ") <= 1
    assert Cluster.objects.get(pk=garbage.pk).title == garbage.title


def days_back(end: date, *offsets: int) -> list[date]:
    return [end - timedelta(days=o) for o in offsets]


def test_trend_says_rising_only_when_the_last_30_days_rise_significantly() -> None:
    start, end = date(2026, 1, 1), date(2026, 3, 31)  # 90 days: the last 30 against the 60 before
    # 8 in the last 30 days, 2 in the 60 before: P(X ≥ 8 | Binomial(10, 1/3)) ≈ 0.003
    rise = clusters.trend(start, end, days_back(end, 1, 3, 5, 8, 12, 15, 20, 25, 50, 80))
    assert (rise.direction, rise.label, rise.recent, rise.earlier) == (clusters.UP, "上升", 8, 2)
    assert rise.p_value < 0.01 and "近30天 8 条，此前60天 2 条" in rise.explanation
    # 2 recent against 1 before is more, but as likely as not at a constant rate: not a rise
    small = clusters.trend(start, end, days_back(end, 2, 10, 70))
    assert (small.direction, small.label) == (clusters.FLAT, "持平") and small.p_value > 0.05
    # 4 recent against 4 before (a share of 1/2 where 1/3 is expected): P ≈ 0.26, still 持平
    assert clusters.trend(start, end, days_back(end, 1, 2, 3, 4, 40, 50, 60, 70)).direction == clusters.FLAT
    # 0 recent against 12 before: a significant fall
    fall = clusters.trend(start, end, days_back(end, *range(31, 89, 5)))
    assert (fall.direction, fall.label) == (clusters.DOWN, "下降") and fall.p_value < 0.05


def test_sparkline_bars_are_weeks_or_months_and_their_text_gives_every_count() -> None:
    start, end = date(2026, 1, 1), date(2026, 3, 31)
    weekly = clusters.trend(start, end, [date(2026, 1, 5), date(2026, 3, 1), date(2026, 3, 20), date(2026, 3, 21)])
    assert weekly.unit == "week" and len(weekly.counts) == 13 and sum(weekly.counts) == 4
    assert len(weekly.spark) == 13 and weekly.spark[0] != weekly.spark[1]
    assert weekly.caption == "每周条数（13周）"
    assert weekly.description == "自2026-01-01起每周诉求条数：1、0、0、0、0、0、0、0、1、0、0、2、0"
    yearly = clusters.trend(date(2025, 6, 15), date(2026, 6, 14), [date(2025, 6, 20), date(2026, 6, 1)])
    assert yearly.unit == "month" and len(yearly.counts) == 13 and yearly.counts[0] == yearly.counts[-1] == 1
    assert yearly.caption == "每月条数（13个月）" and yearly.description.startswith(
        "自2025-06起每月诉求条数：1、0"
    )


def test_cluster_detail_lists_members_with_a_merge_link_never_merging(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    propose(world)
    bar = bar_cluster(world)
    page = client_for(world.admin).get(reverse("cluster_detail", args=[bar.pk])).content.decode()
    for demand in demands["bar"]:
        assert reverse("demand_detail", args=[demand.pk]) + "#step-merge" in page
    assert "恒德里" in page and "又一村" in page and "确认同类" in page and "不是同类" in page
    assert "建立常态化机制" not in page  # only once confirmed
    assert "每周条数（5周）" in page and "持平" in page and "近15天 2 条，此前15天 1 条" in page  # 30-day window


def test_analyse_runs_as_a_job_from_the_page(
    world: World, demands: dict[str, list[Demand]], django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("cluster_analyse"), {"window": "30"})
    job = Job.objects.get(kind=JobKind.CLUSTERS)
    assert response.status_code == 302 and response["Location"] == reverse("job_detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED and job.result["clusters"] == 2 and job.progress == 100
    assert job.params == {"street": world.street.pk, "start": START.isoformat(), "end": END.isoformat()}
    assert "夜猫子酒吧" in client.get(response["Location"]).content.decode()
    assert Cluster.objects.filter(status=ClusterStatus.PROPOSED).count() == 2


def test_analyse_refuses_a_custom_window_that_ends_before_it_starts(world: World) -> None:
    response = client_for(world.admin).post(
        reverse("cluster_analyse"),
        {"window": "custom", "start": END.isoformat(), "end": START.isoformat()},
        follow=True,
    )
    assert "统计起始日期不能晚于截止日期" in response.content.decode()
    assert not Job.objects.exists()


def mechanism_post(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "name": "夜猫子酒吧 白+黑",
        "measures": ["white_black"],
        "other_measures": "商户自律公约",
        "description": "夜间联合巡查",
        "owners": [world.admin.pk, world.head.pk],
        "departments": [world.department.pk],
        "areas": [world.hengdeli.pk, world.youyicun.pk],
        "rhythm": "weekly",
        "started_on": (TODAY - timedelta(days=2)).isoformat(),
        "keywords": "夜猫子酒吧 噪音",
        **changes,
    }


def confirmed_bar(world: World) -> Cluster:
    propose(world)
    return clusters.cluster_confirm(user=world.admin, cluster_id=bar_cluster(world).pk)


def test_mechanism_is_made_from_a_confirmed_cluster(world: World, demands: dict[str, list[Demand]]) -> None:
    bar = confirmed_bar(world)
    client = client_for(world.admin)
    form = client.get(reverse("mechanism_new", args=[bar.pk])).content.decode()
    assert bar.title in form and "白+黑" in form and "常态巡查+重点固守" in form and "宣教整治+执法检查" in form
    response = client.post(reverse("mechanism_new", args=[bar.pk]), mechanism_post(world))
    mechanism = Mechanism.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("mechanism_detail", args=[mechanism.pk])
    assert mechanism.cluster == bar and mechanism.created_by == world.admin
    assert mechanism.measures == ["white_black", "商户自律公约"]
    assert set(mechanism.owners.all()) == {world.admin, world.head}
    assert set(mechanism.areas.all()) == {world.hengdeli, world.youyicun}
    assert AuditEntry.objects.filter(detail__what="mechanism_create").count() == 1
    assert "建立常态化机制" in client.get(reverse("cluster_detail", args=[bar.pk])).content.decode()


def test_mechanism_form_prefills_from_the_cluster(world: World, demands: dict[str, list[Demand]]) -> None:
    bar = confirmed_bar(world)
    initial = clusters.mechanism_initial(bar)
    assert initial["name"] == bar.title and "夜猫子酒吧" in initial["keywords"]
    assert set(initial["areas"]) == {world.hengdeli, world.youyicun}


def test_mechanism_is_refused_without_measures_or_from_a_proposed_cluster(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    propose(world)
    bar = bar_cluster(world)
    client = client_for(world.admin)
    proposed = client.post(reverse("mechanism_new", args=[bar.pk]), mechanism_post(world), follow=True)
    assert "只有已确认的同类诉求可以建立常态化机制" in proposed.content.decode()
    clusters.cluster_confirm(user=world.admin, cluster_id=bar.pk)
    bare = client.post(
        reverse("mechanism_new", args=[bar.pk]), mechanism_post(world, measures=[], other_measures="")
    )
    assert bare.status_code == 400 and "请至少选择或填写一项措施" in bare.content.decode()
    outsider = client.post(
        reverse("mechanism_new", args=[bar.pk]), mechanism_post(world, owners=[world.liaison.pk])
    )
    assert outsider.status_code == 400
    assert not Mechanism.objects.exists()


def test_recurrence_lists_a_later_similar_demand_and_not_an_unrelated_one(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    bar = confirmed_bar(world)
    client_for(world.admin).post(reverse("mechanism_new", args=[bar.pk]), mechanism_post(world))
    mechanism = Mechanism.objects.get()
    again = record(world, "夜猫子酒吧昨晚又放音乐到两点，吵得睡不着", days_ago=1)
    other = record(world, "康定路菜场门口积水", days_ago=1)
    record(world, "夜猫子酒吧门口客人喧哗到深夜", days_ago=4)  # before the start: the comparison period
    recurrence = clusters.mechanism_recurrence(mechanism)
    found = [m.demand.pk for m in recurrence.matches]
    assert again.pk in found and other.pk not in found
    assert not set(found) & ids(demands["bar"])  # the source demands are not a recurrence
    assert recurrence.method == "similarity" and recurrence.after == 1
    assert recurrence.before == 1 and recurrence.before_since == TODAY - timedelta(days=5)
    assert sum(n for _month, n in recurrence.months) == 1
    page = client_for(world.admin).get(reverse("mechanism_detail", args=[mechanism.pk])).content.decode()
    assert "自启动以来新增 1 条（启动前同期" in page and again.text[:10] in page and other.text not in page


def test_recurrence_matches_keywords_when_the_source_cluster_is_gone(
    world: World, demands: dict[str, list[Demand]]
) -> None:
    bar = confirmed_bar(world)
    client_for(world.admin).post(reverse("mechanism_new", args=[bar.pk]), mechanism_post(world))
    bar.delete()
    mechanism = Mechanism.objects.get()
    assert mechanism.cluster is None
    again = record(world, "夜猫子酒吧噪音又来了", days_ago=1)
    elsewhere = record(world, "康定路工地噪音", days_ago=1)
    recurrence = clusters.mechanism_recurrence(mechanism)
    assert recurrence.method == "keywords"
    assert [m.demand.pk for m in recurrence.matches] == [again.pk] and elsewhere.pk != again.pk


def test_area_users_see_the_mechanisms_of_their_area_only(world: World, demands: dict[str, list[Demand]]) -> None:
    bar = confirmed_bar(world)
    client_for(world.admin).post(
        reverse("mechanism_new", args=[bar.pk]), mechanism_post(world, areas=[world.hengdeli.pk])
    )
    mechanism = Mechanism.objects.get()
    cadre = client_for(world.cadre)
    assert mechanism.name in cadre.get(reverse("mechanism_list")).content.decode()
    assert cadre.get(reverse("mechanism_detail", args=[mechanism.pk])).status_code == 200
    assert cadre.get(reverse("mechanism_edit", args=[mechanism.pk])).status_code == 403
    other = client_for(world.other_cadre)
    assert mechanism.name not in other.get(reverse("mechanism_list")).content.decode()
    assert other.get(reverse("mechanism_detail", args=[mechanism.pk])).status_code == 403


def test_street_admin_edits_and_stops_a_mechanism(world: World, demands: dict[str, list[Demand]]) -> None:
    bar = confirmed_bar(world)
    client = client_for(world.admin)
    client.post(reverse("mechanism_new", args=[bar.pk]), mechanism_post(world))
    mechanism = Mechanism.objects.get()
    form = client.get(reverse("mechanism_edit", args=[mechanism.pk])).content.decode()
    assert "商户自律公约" in form
    response = client.post(
        reverse("mechanism_edit", args=[mechanism.pk]),
        mechanism_post(
            world, name="夜猫子酒吧 常态巡查", measures=["patrol_guard"], other_measures="", rhythm="daily"
        ),
    )
    assert response.status_code == 302
    mechanism.refresh_from_db()
    assert (mechanism.name, mechanism.measures, mechanism.rhythm, mechanism.active) == (
        "夜猫子酒吧 常态巡查",
        ["patrol_guard"],
        "daily",
        False,  # the box was not ticked: stopped
    )
    assert "已停止" in client.get(reverse("mechanism_list")).content.decode()
    assert AuditEntry.objects.filter(detail__what="mechanism_update", target_type="insights.mechanism").exists()


def test_weekly_task_proposes_for_every_street(world: World, demands: dict[str, list[Demand]]) -> None:
    assert clusters.clusters_propose_weekly() == 2
    cluster = bar_cluster(world)
    assert cluster.window_end == TODAY and cluster.window_start == TODAY - timedelta(days=89)


def test_demo_mechanism_confirms_the_largest_bar_cluster(world: World, demands: dict[str, list[Demand]]) -> None:
    propose(world)
    mechanism = clusters.demo_mechanism(world.street)
    assert mechanism is not None and mechanism.cluster == bar_cluster(world)
    assert bar_cluster(world).status == ClusterStatus.CONFIRMED
    assert mechanism.measures[0] == "white_black" and mechanism.started_on == TODAY - timedelta(days=91)
    assert world.admin in mechanism.owners.all() and world.head in mechanism.owners.all()
    assert clusters.demo_mechanism(world.street) is None  # once

"""The demand lists: each role sees its own demands (my demands, the area inbox, the street whistle desk, the
department portal, all demands), filters and search narrow them and survive paging, a passed deadline shows red at
once, and the xlsx export runs as a job that writes only what the list shows (no reporter data) and is audited."""

import io
import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ningju.core.models import AuditAction, AuditEntry, Job, JobKind, JobStatus, User
from ningju.demands.models import Alert, Category, Demand, Kind, Source
from ningju.demands.selectors import alert_now
from ningju.demands.services import demand_act, demand_create
from ningju.demands.workflow import State
from tests.conftest import World

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOISE, HEAT, YOUYI = "楼下酒吧午夜后噪音很大", "楼道灯坏了一个月", "又一村垃圾厢房异味"


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def record(world: World, text: str = NOISE, user: User | None = None, **kwargs: Any) -> Demand:
    fields: dict[str, Any] = {
        "area": world.hengdeli,
        "kind": Kind.PROBLEM,
        "source": Source.VISIT,
        "household": world.household,
        "reporter": world.resident,
        **kwargs,
    }
    demand, _created = demand_create(user=user or world.cadre, text=text, **fields)
    return demand


def step(demand: Demand, user: User, action: str, **params: Any) -> Demand:
    return demand_act(user=user, demand_id=demand.pk, action=action, **params)


def at_street_desk(world: World, text: str = NOISE) -> Demand:
    """A demand whistled by the area and accepted by the street, waiting to be dispatched."""
    demand = record(world, text)
    demand = step(demand, world.cadre, "contact")
    demand = step(demand, world.cadre, "start_handling")
    demand = step(demand, world.head, "whistle", reason="需要执法")
    return step(demand, world.admin, "street_accept")


def dispatched(world: World, text: str = NOISE) -> Demand:
    return step(at_street_desk(world, text), world.admin, "dispatch", departments=[world.department.pk])


def page(user: User, name: str, query: str = "", status: int = 200) -> str:
    response = client_for(user).get(reverse(name) + query)
    assert response.status_code == status, response.content.decode()[:500]
    return response.content.decode()


def results(body: str) -> str:
    """The results part of a list page (the filter form repeats the search words)."""
    return body.split('id="demand-results"', 1)[1]


def numbers(body: str) -> list[int]:
    """The demand numbers a list shows, in order."""
    return [int(n) for n in re.findall(r'<a href="/demands/(\d+)/">#', results(body))]


# --- who sees what ---------------------------------------------------------------------------------------------


def test_cadre_inbox_shows_their_areas_demands_and_never_another_areas(world: World) -> None:
    ours, theirs = (
        record(world),
        record(world, YOUYI, user=world.other_cadre, area=world.youyicun, household=None, reporter=None),
    )
    for name in ("demand_inbox", "demand_all"):
        shown = numbers(page(world.cadre, name))
        assert ours.pk in shown and theirs.pk not in shown, name
        assert YOUYI not in page(world.cadre, name)


def test_area_head_sees_the_demands_a_colleague_owns(world: World) -> None:
    demand = record(world, user=world.cadre)
    assert numbers(page(world.head, "demand_inbox")) == [demand.pk]
    assert numbers(page(world.head, "demand_mine")) == []


def test_inbox_shows_open_demands_unless_asked_for_closed_ones(world: World) -> None:
    original, duplicate = record(world), record(world, HEAT)
    step(duplicate, world.admin, "merge", target=original.pk, reason="重复反映")
    assert numbers(page(world.cadre, "demand_inbox")) == [original.pk]
    assert numbers(page(world.cadre, "demand_inbox", "?state=done")) == [duplicate.pk]
    assert set(numbers(page(world.cadre, "demand_inbox", "?state=all"))) == {original.pk, duplicate.pk}


def test_street_administrator_picks_an_area_in_the_inbox(world: World) -> None:
    ours, theirs = (
        record(world),
        record(world, YOUYI, user=world.other_cadre, area=world.youyicun, household=None, reporter=None),
    )
    assert set(numbers(page(world.admin, "demand_inbox"))) == {ours.pk, theirs.pk}
    assert numbers(page(world.admin, "demand_inbox", f"?area={world.youyicun.code}")) == [theirs.pk]


def test_liaison_and_roleless_users_have_no_inbox(world: World) -> None:
    for user in (world.liaison, world.nobody):
        assert "居民区诉求只对居民区干部和街道管理员开放" in page(user, "demand_inbox", status=403)


def test_my_demands_lists_what_i_own_open_first(world: World) -> None:
    closed, open_one = record(world, HEAT), record(world)
    step(closed, world.admin, "merge", target=open_one.pk, reason="重复反映")
    someone_elses = record(world, "别人接收的诉求", user=world.head)
    body = page(world.cadre, "demand_mine")
    assert numbers(body) == [open_one.pk, closed.pk]
    assert someone_elses.pk not in numbers(body)


def test_my_demands_sends_liaisons_to_their_portal_and_the_street_to_its_desk(world: World) -> None:
    assert client_for(world.liaison).get(reverse("demand_mine"))["Location"] == reverse("demand_portal")
    assert client_for(world.admin).get(reverse("demand_mine"))["Location"] == reverse("demand_desk")


def test_owner_in_another_area_sees_their_demand_in_my_demands_but_not_in_their_inbox(world: World) -> None:
    demand = record(world, user=world.other_cadre)  # received at 又一村's desk for 恒德里 (首问负责)
    assert numbers(page(world.other_cadre, "demand_mine")) == [demand.pk]
    assert numbers(page(world.other_cadre, "demand_inbox")) == []


def test_lists_never_show_the_reporters_name(world: World) -> None:
    record(world)
    for user, name in ((world.cadre, "demand_mine"), (world.cadre, "demand_inbox"), (world.admin, "demand_all")):
        body = page(user, name)
        assert NOISE in body and world.resident.name not in body
        assert "常德路633弄5号302室" in body  # where, not who


# --- the street desk and the department portal ------------------------------------------------------------------


def test_whistle_desk_is_for_the_street_administrator_only(world: World) -> None:
    for user in (world.cadre, world.head, world.liaison):
        assert "吹哨台只对街道管理员开放" in page(user, "demand_desk", status=403)


def test_whistle_desk_sorts_demands_by_the_street_step_they_wait_for(world: World) -> None:
    whistled = step(
        step(step(record(world, "待受理的诉求"), world.cadre, "contact"), world.cadre, "start_handling"),
        world.head,
        "whistle",
        reason="超出职权",
    )
    to_dispatch = at_street_desk(world, "待派单的诉求")
    returned = step(dispatched(world, "被退单的诉求"), world.liaison, "return_order", reason="不属本部门职责")
    at_work = step(dispatched(world, "部门处置中的诉求"), world.liaison, "acknowledge")
    extension = step(at_work, world.liaison, "request_extension", reason="需协调产权单位", days=3)
    area_only = record(world, "居民区自己处理的诉求")

    accept = page(world.admin, "demand_desk")
    assert numbers(accept) == [whistled.pk]
    dispatch = page(world.admin, "demand_desk", "?tab=dispatch")
    assert numbers(dispatch) == [to_dispatch.pk, returned.pk]
    assert "不属本部门职责" in dispatch and "已退单" in dispatch
    departments = page(world.admin, "demand_desk", "?tab=departments")
    assert numbers(departments) == [at_work.pk]
    assert "城管 · 已报到" in departments
    extensions = page(world.admin, "demand_desk", "?tab=extensions")
    assert numbers(extensions) == [extension.pk]
    assert "申请延期 3 个工作日" in extensions and "需协调产权单位" in extensions
    for body in (accept, dispatch, departments, extensions):
        assert area_only.pk not in numbers(body)
    # Each tab says how many it holds.
    assert re.search(r"待派单 <span class=\"count\">2</span>", accept)


def test_department_portal_is_for_liaisons_only(world: World) -> None:
    for user in (world.cadre, world.admin):
        assert "部门工单只对职能部门联络员开放" in page(user, "demand_portal", status=403)


def test_liaison_sees_only_what_was_dispatched_to_their_department(world: World) -> None:
    todo = dispatched(world, "刚派来的诉求")
    working = step(dispatched(world, "正在处置的诉求"), world.liaison, "acknowledge")
    done = dispatched(world, "已办结的诉求")
    for action in ("acknowledge", "department_start"):
        done = step(done, world.liaison, action)
    done = step(done, world.liaison, "department_resolve", note="已现场整改完毕")
    returned = step(dispatched(world, "退回的诉求"), world.liaison, "return_order", reason="不属本部门")
    never = at_street_desk(world, "未派单的诉求")

    assert numbers(page(world.liaison, "demand_portal")) == [todo.pk]
    assert numbers(page(world.liaison, "demand_portal", "?tab=handling")) == [working.pk]
    assert numbers(page(world.liaison, "demand_portal", "?tab=resolved")) == [done.pk]
    assert numbers(page(world.liaison, "demand_portal", "?tab=returned")) == [returned.pk]
    everything = page(world.liaison, "demand_all")
    assert set(numbers(everything)) == {todo.pk, working.pk, done.pk, returned.pk}
    assert never.pk not in numbers(everything) and "未派单的诉求" not in everything


def test_portal_shows_the_departments_own_state_and_dispatch_time(world: World) -> None:
    demand = step(dispatched(world), world.liaison, "acknowledge")
    body = page(world.liaison, "demand_portal", "?tab=handling")
    assert numbers(body) == [demand.pk]
    assert "已报到 · 派单于" in body


# --- filters, search, paging -----------------------------------------------------------------------------------


def test_filters_narrow_the_list(world: World) -> None:
    noise = Category.objects.get(street=world.street, name="噪音扰民", parent=None)
    shop_noise = Category.objects.get(street=world.street, name="商铺夜间经营噪音", parent=noise)
    help_wanted = record(world, "想申请助餐", kind=Kind.HELP, source=Source.WALK_IN)
    hotline = record(
        world, "12345转来的噪音投诉", source=Source.HOTLINE, external_id="SH2024-0042", category=shop_noise
    )
    ours = record(world, category=noise)
    theirs = record(world, YOUYI, user=world.other_cadre, area=world.youyicun, household=None, reporter=None)
    whistled = dispatched(world, "已派单的诉求")

    def shown(query: str) -> set[int]:
        return set(numbers(page(world.admin, "demand_all", query)))

    assert shown("?kind=help") == {help_wanted.pk}
    assert shown("?source=hotline") == {hotline.pk}
    assert shown(f"?category={noise.pk}") == {hotline.pk, ours.pk}  # a top-level category includes its children
    assert shown(f"?category={shop_noise.pk}") == {hotline.pk}
    assert shown(f"?area={world.youyicun.code}") == {theirs.pk}
    assert shown("?q=助餐") == {help_wanted.pk}
    assert shown("?q=SH2024-0042") == {hotline.pk}
    assert shown(f"?q=%23{ours.pk}") == {ours.pk}
    assert shown("?state=whistled") == {whistled.pk}
    assert shown("?state=dispatched") == {whistled.pk}
    assert shown(f"?state=accepted&kind=problem&area={world.hengdeli.code}") == {hotline.pk, ours.pk}
    assert shown("?mine=on") == set()  # the street administrator received none of them
    mine = {help_wanted.pk, hotline.pk, ours.pk, whistled.pk}
    assert set(numbers(page(world.cadre, "demand_all", "?mine=on"))) == mine


def test_date_range_filters_by_the_day_received_in_shanghai(world: World) -> None:
    old = record(world, "三月的诉求", received_at=datetime(2024, 3, 1, 23, 30, tzinfo=SHANGHAI))
    new = record(world, "四月的诉求", received_at=datetime(2024, 4, 2, 0, 30, tzinfo=SHANGHAI))
    assert numbers(page(world.admin, "demand_all", "?created_from=2024-03-01&created_to=2024-03-01")) == [old.pk]
    assert numbers(page(world.admin, "demand_all", "?created_from=2024-04-02")) == [new.pk]


def test_a_wrong_date_range_is_explained_in_chinese(world: World) -> None:
    body = page(world.admin, "demand_all", "?created_from=2024-05-01&created_to=2024-04-01", status=400)
    assert "结束日期不能早于开始日期" in body


def test_pages_keep_the_filters(world: World) -> None:
    for n in range(51):
        record(world, f"电梯加装意见{n}", kind=Kind.OPINION)
    other = record(world, "不相关的诉求")
    first = page(world.admin, "demand_all", "?q=电梯&kind=opinion")
    assert len(numbers(first)) == 50 and other.pk not in numbers(first)
    next_link = re.search(r'<a class="button" href="(\?[^"]+)"[^>]*>下一页', first)
    assert next_link is not None
    query = next_link.group(1).replace("&amp;", "&")
    assert "q=%E7%94%B5%E6%A2%AF" in query and "kind=opinion" in query and "page=2" in query
    second = page(world.admin, "demand_all", query)
    assert len(numbers(second)) == 1 and other.pk not in numbers(second)
    assert "第 2 / 2 页，共 51 条" in second


def test_htmx_request_gets_only_the_results(world: World) -> None:
    record(world)
    response = client_for(world.admin).get(reverse("demand_all") + "?q=酒吧", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and NOISE in body and "<html" not in body


def test_list_pages_do_not_query_per_row(world: World, django_assert_max_num_queries: Any) -> None:
    for n in range(30):
        demand = dispatched(world, f"诉求{n}") if n % 5 == 0 else record(world, f"诉求{n}")
        assert demand.pk
    # About ten queries whatever the number of rows (session, user, filter choices, count, rows, dispatches, the
    # header's badge); one query per row would need forty or more for these thirty.
    most = 15
    admin, liaison = client_for(world.admin), client_for(world.liaison)
    with django_assert_max_num_queries(most):
        response = admin.get(reverse("demand_all"))
    assert len(numbers(response.content.decode())) == 30
    with django_assert_max_num_queries(most):
        assert len(numbers(admin.get(reverse("demand_desk") + "?tab=departments").content.decode())) == 6
    with django_assert_max_num_queries(most):
        assert len(numbers(liaison.get(reverse("demand_portal")).content.decode())) == 6


# --- deadline colours ------------------------------------------------------------------------------------------


def test_a_passed_deadline_shows_red_before_the_overdue_job_runs(world: World) -> None:
    late, on_time = record(world, "早就该联系的诉求"), record(world)
    Demand.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1), alert=Alert.NONE)
    body = page(world.cadre, "demand_mine")
    row = re.search(rf'<tr class="([^"]*)">\s*<td[^>]*><a href="/demands/{late.pk}/">', body)
    assert row is not None and "alert-red" in row.group(1)
    assert "已超时" in body
    assert numbers(page(world.admin, "demand_all", "?alert=red")) == [late.pk]
    assert on_time.pk not in numbers(page(world.admin, "demand_all", "?alert=red"))


def test_alert_now_follows_the_clock_not_the_last_job_run(world: World) -> None:
    demand = record(world)
    due = timezone.now() + timedelta(days=3)
    demand.due_at, demand.alert = due, Alert.RED  # what the job said before an extension moved the deadline
    assert alert_now(demand, due - timedelta(days=3)) == Alert.NONE
    assert alert_now(demand, due - timedelta(hours=1)) == Alert.YELLOW  # the due day itself
    assert alert_now(demand, due + timedelta(seconds=1)) == Alert.RED
    demand.due_at = None  # no clock runs
    assert alert_now(demand, due + timedelta(days=30)) == Alert.NONE


def test_my_demands_counts_open_yellow_and_red(world: World) -> None:
    late, near = record(world), record(world, HEAT)
    record(world, "正常的诉求")
    now = timezone.now()
    Demand.objects.filter(pk=late.pk).update(due_at=now - timedelta(minutes=5))
    # Due at the end of today: yellow whether or not the overdue job has looked yet.
    end_of_today = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    Demand.objects.filter(pk=near.pk).update(due_at=end_of_today)
    Demand.objects.exclude(pk__in=[late.pk, near.pk]).update(due_at=now + timedelta(days=5))
    body = page(world.cadre, "demand_mine")
    cards = dict(re.findall(r'<span class="muted">([^<]+)</span> <span class="stat">(\d+)</span>', body))
    assert cards == {"未结案": "3", "即将超时": "1", "已超时": "1"}


# --- export ----------------------------------------------------------------------------------------------------


def sheet(data: bytes) -> list[dict[str, Any]]:
    rows = list(openpyxl.load_workbook(io.BytesIO(data))["诉求"].iter_rows(values_only=True))
    headers = [str(h) for h in rows[0]]
    return [dict(zip(headers, row, strict=True)) for row in rows[1:]]


def test_export_writes_the_filtered_rows_without_the_reporter_and_is_audited(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    wanted = dispatched(world, '=HYPERLINK("http://evil") 酒吧噪音')
    record(world, "不相关的诉求")
    record(world, YOUYI, user=world.other_cadre, area=world.youyicun, household=None, reporter=None)
    client = client_for(world.cadre)
    confirm = client.get(reverse("demand_export") + "?q=酒吧")
    assert confirm.status_code == 200 and "酒吧" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("demand_export") + "?q=酒吧")
    job = Job.objects.get(kind=JobKind.DEMAND_EXPORT)
    assert response.status_code == 302 and response["Location"] == reverse("job_detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED and job.result["rows"] == 1
    assert reverse("job_download", args=[job.pk]) in client.get(response["Location"]).content.decode()

    data = client.get(reverse("job_download", args=[job.pk])).getvalue()
    (row,) = sheet(data)
    assert row["编号"] == wanted.pk
    assert row["诉求内容"] == '\'=HYPERLINK("http://evil") 酒吧噪音'  # stays text, never a formula
    assert (row["居民区"], row["地点"], row["状态"]) == ("恒德里", "常德路633弄5号302室", "已派单")
    assert row["派单部门"] == "城管（已派单）" and row["吹哨轮次"] == 1
    assert list(row) == [
        "编号", "受理时间", "类型", "来源", "分类", "诉求内容", "居民区", "地点", "首问负责人",
        "状态", "当前时限", "预警", "工单编号", "吹哨轮次", "派单部门",
    ]  # fmt: skip
    everything = "\n".join(
        str(value)
        for ws in openpyxl.load_workbook(io.BytesIO(data))
        for r in ws.iter_rows(values_only=True)
        for value in r
    )
    for personal in (world.resident.name, "13812345678", "310106194503071228", "138****5678"):
        assert personal not in everything
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.user == world.cadre and entry.target_type == "demands.demand"
    assert entry.detail["filters"] == {"q": "酒吧"} and entry.detail["rows"] == 1 and entry.detail["job"] == job.pk


def test_export_keeps_to_what_the_user_may_see(world: World, django_capture_on_commit_callbacks: Any) -> None:
    record(world)
    theirs = record(world, YOUYI, user=world.other_cadre, area=world.youyicun, household=None, reporter=None)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(world.other_cadre).post(reverse("demand_export") + f"?area={world.hengdeli.code}")
    job = Job.objects.get()
    # An area user is not offered the area filter: their export is their own area, whatever the URL says.
    assert [row["编号"] for row in sheet(job.output_file.open("rb").read())] == [theirs.pk]


def test_liaisons_and_roleless_users_cannot_export(world: World) -> None:
    dispatched(world)
    for user in (world.liaison, world.nobody):
        client = client_for(user)
        assert client.get(reverse("demand_export")).status_code == 403
        assert client.post(reverse("demand_export")).status_code == 403
    assert not Job.objects.exists() and not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_export_with_a_wrong_filter_starts_nothing(world: World) -> None:
    response = client_for(world.admin).post(
        reverse("demand_export") + "?created_from=2024-05-01&created_to=2024-01-01"
    )
    assert response.status_code == 400 and "结束日期不能早于开始日期" in response.content.decode()
    assert not Job.objects.exists()


def test_export_link_carries_the_current_filters(world: World) -> None:
    body = page(world.admin, "demand_all", "?kind=help&q=助餐")
    link = re.search(r'href="(/demands/export/\?[^"]+)"', body)
    assert link is not None and "kind=help" in link.group(1)
    assert 'href="/demands/export/' not in page(world.liaison, "demand_all")


# --- navigation ------------------------------------------------------------------------------------------------


def navigation(body: str) -> str:
    match = re.search(r'<nav class="mainnav"[^>]*>(.*?)</nav>', body, re.DOTALL)
    assert match
    return match.group(1)


def test_navigation_leads_each_role_to_its_demand_lists(world: World) -> None:
    cadre = navigation(page(world.cadre, "demand_mine"))
    assert (
        reverse("demand_mine") in cadre
        and reverse("demand_inbox") in cadre
        and reverse("demand_desk") not in cadre
    )
    admin = navigation(page(world.admin, "demand_desk"))
    assert reverse("demand_desk") in admin and reverse("demand_all") in admin
    liaison = navigation(page(world.liaison, "demand_portal"))
    assert reverse("demand_portal") in liaison
    assert reverse("area_list") not in liaison and reverse("search") not in liaison  # no registry for them


def test_liaison_home_points_to_the_portal(world: World) -> None:
    assert reverse("demand_portal") in page(world.liaison, "home")


def test_dates_are_shanghai_days(world: World) -> None:
    demand = record(world, received_at=datetime(2024, 6, 30, 23, 59, tzinfo=SHANGHAI))
    assert date(2024, 6, 30).isoformat() in results(page(world.cadre, "demand_mine"))
    assert demand.state == State.ACCEPTED

"""Importing 12345 work orders as demands: address matching, mixed date formats, categories, all-or-nothing errors by
row and column, idempotent re-import, the upload page and its job, the template and the command line."""

import csv
import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction, AuditEntry, Job, JobStatus
from ningju.demands import hotline
from ningju.demands.hotline import HEADERS, HotlineResult, StreetAddresses, import_hotline, match_address
from ningju.demands.models import Category, Demand, DemandEvent, Kind, Source
from ningju.demands.workflow import State
from ningju.registry.models import PatrolSite, PatrolSiteType
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def good_rows() -> list[dict[str, Any]]:
    """王秀英's room in 恒德里, a building of 又一村 (which has no area head), and an address outside the registry
    that the 居民区 column places."""
    return [
        {
            "工单编号": "SH-0001",
            "受理时间": "2026/3/5 9:00",
            "诉求内容": "楼道里堆满杂物，来电人电话13812345678",
            "地址": "上海市静安区江宁路街道常德路633弄5号302室",
            "分类": "楼道堆物",
            "诉求类型": "投诉",
        },
        {
            "工单编号": "SH-0002",
            "受理时间": "2026-03-06 10:12:33",
            "诉求内容": "工地夜间施工噪音",
            "地址": "常德路545弄12号",
            "分类": "噪音扰民/施工噪音",
            "诉求类型": "",
        },
        {
            "工单编号": "SH-0003",
            "受理时间": "2026年3月9日",
            "诉求内容": "咨询老年助餐怎么申请",
            "地址": "某某路100号",
            "分类": "不存在的分类",
            "诉求类型": "咨询",
            "居民区": "恒德里",
        },
    ]


def xlsx_bytes(rows: list[dict[str, Any]], headers: list[str] | None = None) -> bytes:
    headers = headers or list(HEADERS)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h, "") for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[dict[str, Any]], encoding: str = "utf-8-sig", headers: list[str] | None = None) -> bytes:
    headers = headers or list(HEADERS)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return text.getvalue().encode(encoding)


def run(user: Any, data: bytes, filename: str = "12345.csv", **options: Any) -> HotlineResult:
    return import_hotline(source=io.BytesIO(data), filename=filename, user=user, **options)


def errors_of(user: Any, data: bytes, filename: str = "12345.csv") -> list[tuple[Any, str, str]]:
    with pytest.raises(ApplicationError) as failure:
        run(user, data, filename)
    return [(e["row"], e["column"], e["message"]) for e in failure.value.extra.get("errors", [])]


def order(number: str) -> Demand:
    return Demand.objects.select_related("category", "owner").get(source=Source.HOTLINE, external_id=number)


def counts() -> tuple[int, int]:
    return Demand.objects.count(), DemandEvent.objects.count()


# --- what gets created -----------------------------------------------------------------------------------------


def test_csv_orders_become_12345_demands_matched_to_building_household_and_area(world: World) -> None:
    result = run(world.admin, csv_bytes(good_rows()))
    assert result.counts["created"] == 3 and result.counts["skipped"] == 0
    first = order("SH-0001")
    assert first.get_source_display() == "12345工单"
    assert (first.area, first.building, first.household) == (
        world.hengdeli,
        world.household.building,
        world.household,
    )
    assert first.compound == world.household.building.compound
    assert first.category is not None and first.category.name == "楼道堆物"
    assert first.kind == Kind.PROBLEM and first.state == State.ACCEPTED
    assert first.created_at == datetime(2026, 3, 5, 9, 0, tzinfo=SHANGHAI)
    second = order("SH-0002")
    assert (second.area, second.building, second.household) == (
        world.youyicun,
        world.other_household.building,
        None,
    )
    assert second.category is not None and str(second.category) == "噪音扰民 / 施工噪音"
    assert second.created_at == datetime(2026, 3, 6, 10, 12, 33, tzinfo=SHANGHAI)


def test_an_address_outside_the_registry_takes_the_area_column_and_stays_in_the_text(world: World) -> None:
    result = run(world.admin, csv_bytes(good_rows()))
    third = order("SH-0003")
    assert (third.area, third.building, third.compound) == (world.hengdeli, None, None)
    assert third.kind == Kind.ENQUIRY
    assert third.created_at == datetime(2026, 3, 9, tzinfo=SHANGHAI)
    assert "某某路100号" in third.text
    assert result.counts["by_area_column"] == 1


def test_an_unknown_category_is_not_an_error_but_is_counted(world: World) -> None:
    result = run(world.admin, csv_bytes(good_rows()))
    assert order("SH-0003").category is None
    assert result.counts["uncategorized"] == 1
    assert any("未识别分类 1 条" in line for line in result.summary)
    assert "未识别分类 1 条" in result.as_job_result()["message"]


def test_the_caller_phone_number_is_never_stored(world: World) -> None:
    rows = good_rows()
    headers = [*HEADERS, "来电人", "来电号码"]
    rows[0] |= {"来电人": "王秀英", "来电号码": "13812345678"}
    result = run(world.admin, csv_bytes(rows, headers=headers))
    text = order("SH-0001").text
    assert "13812345678" not in text and "138****5678" in text
    assert "王秀英" not in Demand.objects.values_list("text", flat=True)[0]
    assert any("来电人、来电号码" in line for line in result.summary)


def test_each_demand_is_what_demand_create_records(world: World) -> None:
    run(world.admin, csv_bytes(good_rows()))
    first, second = order("SH-0001"), order("SH-0002")
    # 恒德里 has an area head, who owns its orders; 又一村 has none, so the importing administrator does.
    assert first.owner == world.head and second.owner == world.admin
    event = DemandEvent.objects.get(demand=first)
    assert (event.action, event.actor, event.at, event.from_state, event.to_state) == (
        "create",
        world.head,
        first.created_at,
        "",
        State.ACCEPTED,
    )
    assert event.params == {"kind": Kind.PROBLEM, "source": Source.HOTLINE}
    # The first-contact clock: end of the next working day after Thursday 5 March.
    assert first.due_at == datetime(2026, 3, 6, 23, 59, 59, 999999, tzinfo=SHANGHAI)


def test_an_earlier_12345_deadline_replaces_the_first_contact_deadline(world: World) -> None:
    rows = good_rows()
    rows[0]["办理时限"] = "2026-03-05 17:00"
    rows[1]["办理时限"] = "2026-03-20"  # later than the first-contact deadline: ours stays
    rows[2]["办理时限"] = "0个工作日"
    result = run(world.admin, csv_bytes(rows))
    assert order("SH-0001").due_at == datetime(2026, 3, 5, 17, 0, tzinfo=SHANGHAI)
    assert order("SH-0002").due_at == datetime(2026, 3, 9, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert order("SH-0003").due_at == datetime(2026, 3, 9, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert result.counts["earlier_deadlines"] == 2


def serial(moment: datetime) -> str:
    days = (moment - datetime(1899, 12, 30)).total_seconds() / 86400
    return f"{days:.6f}"


@pytest.mark.parametrize(
    "cell",
    [
        "2026/3/5 9:00",
        "2026-03-05 09:00:00",
        "2026.3.5 9:00",
        "2026年3月5日 9时",
        "2026年3月5日9:00",
        "20260305 0900",
        datetime(2026, 3, 5, 9, 0),
        serial(datetime(2026, 3, 5, 9, 0)),
    ],
    ids=["slashes", "iso", "dots", "chinese", "chinese-colon", "compact", "excel-cell", "excel-serial"],
)
def test_received_time_is_read_from_the_usual_spellings_as_shanghai_time(world: World, cell: Any) -> None:
    row = good_rows()[0] | {"受理时间": cell}
    run(world.admin, xlsx_bytes([row]), "12345.xlsx")
    assert order("SH-0001").created_at == datetime(2026, 3, 5, 9, 0, tzinfo=SHANGHAI)


def test_xlsx_with_date_cells_imports_like_csv(world: World) -> None:
    rows = good_rows()
    rows[1]["受理时间"] = datetime(2026, 3, 6, 10, 12, 33)
    rows[2]["受理时间"] = date(2026, 3, 9)
    result = run(world.admin, xlsx_bytes(rows), "12345.xlsx")
    assert result.counts["created"] == 3
    assert order("SH-0002").created_at == datetime(2026, 3, 6, 10, 12, 33, tzinfo=SHANGHAI)
    assert order("SH-0003").created_at == datetime(2026, 3, 9, tzinfo=SHANGHAI)
    assert order("SH-0001").household == world.household


def test_gbk_encoded_csv_imports(world: World) -> None:
    result = run(world.admin, csv_bytes(good_rows(), "gbk"))
    assert result.counts["created"] == 3
    assert order("SH-0003").text.startswith("咨询老年助餐怎么申请")


def test_headers_of_a_12345_export_are_accepted_by_their_aliases(world: World) -> None:
    aliases = {"工单编号": "工单号", "受理时间": "来电时间", "诉求内容": "问题描述", "地址": "事发地址"}
    aliases |= {"分类": "业务分类", "办理时限": "截止时间", "居民区": "居委会"}
    rows = [{aliases.get(k, k): v for k, v in row.items()} for row in good_rows()]
    headers = [aliases.get(h, h) for h in HEADERS]
    assert run(world.admin, xlsx_bytes(rows, headers), "12345.xlsx").counts["created"] == 3


def test_reimporting_the_same_file_creates_nothing(world: World) -> None:
    data = csv_bytes(good_rows())
    run(world.admin, data)
    before = counts()
    result = run(world.admin, data)
    assert counts() == before
    assert result.counts == result.counts | {"created": 0, "skipped": 3}
    assert "已存在跳过 3 条" in result.as_job_result()["message"]


def test_dry_run_checks_everything_and_writes_nothing(world: World) -> None:
    before = counts()
    result = run(world.admin, csv_bytes(good_rows()), dry_run=True)
    assert counts() == before
    assert result.counts["created"] == 3 and "试运行" in result.as_job_result()["message"]


# --- errors ----------------------------------------------------------------------------------------------------


def test_a_file_with_bad_rows_reports_each_error_by_row_and_column_and_writes_nothing(world: World) -> None:
    rows = good_rows()
    rows[0]["受理时间"] = "2026-13-45"
    rows[1]["诉求内容"] = ""
    rows[2]["居民区"] = ""
    rows.append(good_rows()[0] | {"诉求类型": "表扬"})
    before = counts()
    found = errors_of(world.admin, csv_bytes(rows))
    assert counts() == before
    assert found == [
        (
            2,
            "第2列（受理时间）",
            "无法识别时间“2026-13-45”：请写成 2026-03-05 09:12、2026/3/5 9:00 或 2026年3月5日。",
        ),
        (3, "第3列（诉求内容）", "“诉求内容”不能为空。"),
        (4, "第4列（地址）", "地址无法匹配到本街道的楼栋，请填写居民区。"),
        (5, "第1列（工单编号）", "工单编号与第 2 行重复。"),
    ]


def test_every_row_is_checked_even_after_a_duplicate(world: World) -> None:
    rows = [*good_rows(), good_rows()[1] | {"工单编号": "SH-0004", "受理时间": "明天", "诉求类型": "表扬"}]
    found = errors_of(world.admin, csv_bytes(rows))
    assert [(row, column) for row, column, _message in found] == [
        (5, "第2列（受理时间）"),
        (5, "第7列（诉求类型）"),
    ]


def test_an_area_column_that_contradicts_the_building_is_an_error(world: World) -> None:
    rows = good_rows()
    rows[0]["居民区"] = "又一村"
    found = errors_of(world.admin, csv_bytes(rows))
    assert found == [
        (
            2,
            "第8列（居民区）",
            "地址“上海市静安区江宁路街道常德路633弄5号302室”位于恒德里，与本列填写的“又一村”不一致。",
        )
    ]


def test_a_received_time_in_the_future_is_an_error(world: World) -> None:
    rows = [good_rows()[0] | {"受理时间": "2099-01-01 08:00"}]
    assert [(row, column) for row, column, _m in errors_of(world.admin, csv_bytes(rows))] == [
        (2, "第2列（受理时间）")
    ]


def test_a_missing_required_column_is_named_with_its_other_spellings(world: World) -> None:
    headers = [h for h in HEADERS if h != "地址"] + ["门牌"]
    found = errors_of(world.admin, csv_bytes(good_rows(), headers=headers))
    assert found[0][:2] == (None, "地址")
    assert "表头缺少必需的列“地址”" in found[0][2] and "事发地址" in found[0][2]
    assert found[1][:2] == (None, "门牌")
    assert not Demand.objects.exists()


def test_an_empty_file_and_a_file_without_rows_are_refused(world: World) -> None:
    with pytest.raises(ApplicationError, match="文件是空的"):
        run(world.admin, b"")
    with pytest.raises(ApplicationError, match="只有表头"):
        run(world.admin, csv_bytes([]))


def test_an_unknown_header_is_ignored_and_said_so(world: World) -> None:
    result = run(world.admin, csv_bytes(good_rows(), headers=[*HEADERS, "承办单位"]))
    assert any("承办单位" in line and "已忽略" in line for line in result.summary)


def test_only_a_street_administrator_may_import(world: World) -> None:
    with pytest.raises(PermissionDenied, match="只有街道管理员"):
        run(world.head, csv_bytes(good_rows()))
    assert not Demand.objects.exists()


# --- address matching ------------------------------------------------------------------------------------------


def test_match_address_finds_building_and_household_by_road_lane_number_and_room(world: World) -> None:
    found = match_address(world.street, "静安区常德路633弄5号302室门口")
    assert (found.area, found.building, found.household) == (
        world.hengdeli,
        world.household.building,
        world.household,
    )
    assert match_address(world.street, "常德路633弄5号楼").household is None


def test_match_address_falls_back_to_the_lane_then_compound_then_patrol_site(world: World) -> None:
    lane = match_address(world.street, "常德路633弄99号")
    assert (lane.area, lane.building, lane.compound) == (world.hengdeli, None, world.household.building.compound)
    compound = world.other_household.building.compound
    named = match_address(world.street, f"{compound.name}东门")
    assert (named.area, named.compound) == (world.youyicun, compound)
    site = PatrolSite.objects.create(
        area=world.youyicun,
        site_type=PatrolSiteType.objects.filter(street=world.street).first(),
        name="康定路垃圾厢房",
        lat=31.2,
        lng=121.4,
    )
    patrol = match_address(world.street, "康定路垃圾厢房旁")
    assert (patrol.area, patrol.patrol_site) == (world.youyicun, site)
    assert match_address(world.street, "南京西路1号").area is None


def test_matching_many_addresses_asks_the_database_once(world: World) -> None:
    # Rooms named here: the factory's running room numbers would reach world.household's 302 in a long run.
    for room in range(101, 121):
        factories.HouseholdFactory(building=world.household.building, room=str(room))
    cache = StreetAddresses(world.street)
    cache.households  # noqa: B018 - loaded once, on the first room
    with CaptureQueriesContext(connection) as queries:
        for room in range(101, 121):
            match_address(world.street, f"常德路633弄5号{room}室", cache=cache)
    assert len(queries) == 0


def test_a_category_is_found_by_child_or_parent_name_ignoring_case_and_blanks(world: World) -> None:
    Category.objects.create(street=world.street, name="Wi-Fi")
    rows = good_rows()
    rows[0]["分类"] = " 噪音扰民 "
    rows[1]["分类"] = "城市管理-施工噪音"
    rows[2]["分类"] = "wi-fi"
    run(world.admin, csv_bytes(rows))
    assert [str(order(n).category) for n in ("SH-0001", "SH-0002", "SH-0003")] == [
        "噪音扰民",
        "噪音扰民 / 施工噪音",
        "Wi-Fi",
    ]


# --- the page, the job and the template --------------------------------------------------------------------------


def upload(client: Client, data: bytes, name: str, capture: Any) -> Any:
    file = io.BytesIO(data)
    file.name = name
    with capture(execute=True):
        return client.post(reverse("hotline_import"), {"file": file})


@pytest.mark.parametrize("role", ["area_head", "cadre", "liaison", "nobody"])
def test_only_street_administrators_see_the_page_and_the_template(world: World, role: str) -> None:
    client = Client()
    client.force_login(world.users()[role])
    assert client.get(reverse("hotline_import")).status_code == 403
    assert client.get(reverse("hotline_template")).status_code == 403


def test_upload_starts_a_job_and_the_job_page_shows_the_result(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    client.force_login(world.admin)
    assert "逐行校验" in client.get(reverse("hotline_import")).content.decode()
    response = upload(client, xlsx_bytes(good_rows()), "三月工单.xlsx", django_capture_on_commit_callbacks)
    job = Job.objects.get(kind=hotline.IMPORT_KIND)
    assert response.status_code == 302 and response["Location"] == reverse("job_detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["counts"]["created"] == 3
    assert not job.input_file  # the upload may name callers: not kept
    page = client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "新增 3 条诉求" in page and "未识别分类 1 条" in page
    assert "三月工单.xlsx" in client.get(reverse("hotline_import")).content.decode()
    assert AuditEntry.objects.get(action=AuditAction.IMPORT).detail["created"] == 3


def test_the_job_page_lists_each_error_with_row_and_column(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    rows = good_rows()
    rows[1]["受理时间"] = "下周"
    client = Client()
    client.force_login(world.admin)
    upload(client, csv_bytes(rows), "坏.csv", django_capture_on_commit_callbacks)
    job = Job.objects.get(kind=hotline.IMPORT_KIND)
    assert job.status == JobStatus.FAILED and "没有写入任何数据" in job.message
    page = client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "<td>3</td><td>第2列（受理时间）</td><td>无法识别时间“下周”" in page
    assert not Demand.objects.exists()


def test_an_upload_of_another_type_is_refused_on_the_form(world: World) -> None:
    client = Client()
    client.force_login(world.admin)
    file = io.BytesIO(b"%PDF-1.4")
    file.name = "工单.pdf"
    response = client.post(reverse("hotline_import"), {"file": file})
    assert response.status_code == 400 and "不支持的文件类型" in response.content.decode()
    assert not Job.objects.exists()


def test_the_template_has_our_headers_and_an_example_that_imports(world: World) -> None:
    client = Client()
    client.force_login(world.admin)
    response = client.get(reverse("hotline_template"))
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS and len(rows) == 2
    explained = {row[0] for row in workbook.worksheets[1].iter_rows(values_only=True)}
    assert set(HEADERS) <= explained
    result = run(world.admin, response.content, "模板.xlsx")
    assert result.counts["created"] == 1 and result.counts["buildings"] == 1


# --- command line ---------------------------------------------------------------------------------------------


def test_the_command_imports_and_prints_the_counts(world: World, tmp_path: Any) -> None:
    path = tmp_path / "12345.xlsx"
    path.write_bytes(xlsx_bytes(good_rows()))
    out = io.StringIO()
    call_command("import-hotline", str(path), street="310106006", user="admin", stdout=out)
    assert "新增 3 条诉求" in out.getvalue()
    assert Demand.objects.filter(source=Source.HOTLINE).count() == 3


def test_the_command_prints_every_error_and_fails_writing_nothing(world: World, tmp_path: Any) -> None:
    rows = good_rows()
    rows[0]["受理时间"] = "不详"
    rows[2]["居民区"] = ""
    path = tmp_path / "12345.csv"
    path.write_bytes(csv_bytes(rows, "gb18030"))
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 处错误"):
        call_command("import-hotline", str(path), street="310106006", user="admin", stderr=err)
    assert "第2行 第2列（受理时间）：无法识别时间" in err.getvalue()
    assert "第4行 第4列（地址）：地址无法匹配到本街道的楼栋，请填写居民区。" in err.getvalue()
    assert not Demand.objects.exists()


def test_the_command_dry_run_writes_nothing_and_refuses_other_users(world: World, tmp_path: Any) -> None:
    path = tmp_path / "12345.csv"
    path.write_bytes(csv_bytes(good_rows()))
    out = io.StringIO()
    call_command("import-hotline", str(path), street="310106006", user="admin", dry_run=True, stdout=out)
    assert "试运行" in out.getvalue() and not Demand.objects.exists()
    with pytest.raises(CommandError, match="只有街道管理员"):
        call_command("import-hotline", str(path), street="310106006", user="cadre-006-1")
    with pytest.raises(CommandError, match="不是街道 999999999 的管理员"):
        call_command("import-hotline", str(path), street="999999999", user="admin")

"""Importing the registry from xlsx/CSV: every error by row and column with nothing written, idempotent re-import,
scope, history and audit, the upload page, the template and the command line."""

import csv
import io
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from ningju.core import crypto
from ningju.core.errors import ApplicationError
from ningju.core.identifiers import id_check_char
from ningju.core.models import AuditAction, AuditEntry, Job, JobStatus
from ningju.registry import imports
from ningju.registry.imports import HEADERS, ImportResult, import_registry
from ningju.registry.models import Building, Compound, Household, Resident
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def id_number(born: date, serial: int, male: bool) -> str:
    first17 = f"310106{born:%Y%m%d}{serial:02d}{(1 if male else 2) + (serial % 4) * 2}"
    return first17 + id_check_char(first17)


GRANNY_ID = id_number(date(1940, 5, 6), 11, male=False)
GRANDPA_ID = id_number(date(1938, 11, 2), 12, male=True)
SON_ID = id_number(date(1968, 1, 20), 13, male=True)


def good_rows(world: World) -> list[dict[str, Any]]:
    """Two residents of a new household in a new compound, and a third in 王秀英's existing household."""
    existing = world.household.building.compound
    return [
        {
            "居民区": "恒德里",
            "小区": "康乐小区",
            "地址": "常德路700弄3号",
            "室号": "101",
            "姓名": "陈阿婆",
            "性别": "女",
            "出生日期": "1940-05-06",
            "身份证号": GRANNY_ID,
            "手机号": "13611112222",
            "与户主关系": "户主",
            "标签": "独居老人、高龄老人(80岁以上)",
            "户标签": "",
            "经度": "121.4471",
            "纬度": "31.2401",
            "业委会": "康乐小区业委会",
            "物业": "康乐物业",
            "备注": "腿脚不便",
        },
        {
            "居民区": "恒德里",
            "小区": "康乐小区",
            "地址": "常德路700弄3号",
            "室号": "101",
            "姓名": "陈老伯",
            "性别": "",
            "出生日期": "",
            "身份证号": GRANDPA_ID,
            "手机号": "",
            "与户主关系": "配偶",
            "标签": "",
            "户标签": "",
            "经度": "",
            "纬度": "",
            "业委会": "",
            "物业": "",
            "备注": "",
        },
        {
            "居民区": "310106006006",
            "小区": existing.name,
            "地址": "常德路633弄5号",
            "室号": "302",
            "姓名": "王建华",
            "性别": "男",
            "出生日期": "1968/1/20",
            "身份证号": SON_ID,
            "手机号": "021-62581234",
            "与户主关系": "子女",
            "标签": "",
            "户标签": "独居老人",
            "经度": "",
            "纬度": "",
            "业委会": "",
            "物业": "",
            "备注": "",
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


def run(user: Any, data: bytes, filename: str = "居民.xlsx") -> ImportResult:
    return import_registry(source=io.BytesIO(data), filename=filename, user=user)


def errors_of(user: Any, data: bytes, filename: str = "居民.xlsx") -> list[dict[str, Any]]:
    with pytest.raises(ApplicationError) as failure:
        run(user, data, filename)
    return failure.value.extra.get("errors", [])


def clear(value: Any) -> str:
    """The clear text of an encrypted field's value (a SensitiveValue; the type stubs see a str)."""
    return value.reveal()


def registry_counts() -> dict[str, int]:
    return {
        "compounds": Compound.objects.count(),
        "buildings": Building.objects.count(),
        "households": Household.objects.count(),
        "residents": Resident.objects.count(),
        "resident_history": Resident.history.count(),
        "household_history": Household.history.count(),
        "resident_tags": Resident.tags.through.objects.count(),
        "household_tags": Household.tags.through.objects.count(),
    }


def by_id(number: str) -> Resident:
    return Resident.objects.get(id_number_hash=crypto.lookup_hash("id_number", number))


# --- good files --------------------------------------------------------------------------------------------


def test_street_admin_imports_a_good_xlsx_creating_compound_building_household_and_residents(world: World) -> None:
    before = registry_counts()
    result = run(world.admin, xlsx_bytes(good_rows(world)))

    assert result.counts == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "compounds_created": 1,
        "buildings_created": 1,
        "households_created": 1,
    }
    after = registry_counts()
    assert after["residents"] == before["residents"] + 3
    granny = by_id(GRANNY_ID)
    assert (granny.name, granny.gender, granny.birth_date, granny.relation) == (
        "陈阿婆",
        "F",
        date(1940, 5, 6),
        "head",
    )
    assert clear(granny.phone) == "13611112222" and str(granny.phone) == "136****2222"
    assert sorted(granny.tags.values_list("name", flat=True)) == ["独居老人", "高龄老人(80岁以上)"]
    assert granny.notes == "腿脚不便"
    building = granny.household.building
    assert (building.road, building.lane, building.number, granny.household.room) == ("常德路", "700", "3", "101")
    assert (building.lng, building.lat) == (121.4471, 31.2401)
    assert building.compound.area == world.hengdeli
    assert (building.compound.owners_committee, building.compound.property_company) == (
        "康乐小区业委会",
        "康乐物业",
    )
    grandpa = by_id(GRANDPA_ID)
    # Gender and birth date come from the ID number when the cells are empty.
    assert (grandpa.gender, grandpa.birth_date, grandpa.household) == ("M", date(1938, 11, 2), granny.household)
    son = by_id(SON_ID)
    assert son.household == world.household and son.relation == "child"
    assert clear(son.phone) == "02162581234"
    assert list(world.household.tags.values_list("name", flat=True)) == ["独居老人"]


def test_imported_residents_have_history_by_the_importer_with_their_tags(world: World) -> None:
    run(world.admin, xlsx_bytes(good_rows(world)))
    granny = by_id(GRANNY_ID)
    record = granny.history.get()
    assert record.history_type == "+" and record.history_user == world.admin
    assert "居民.xlsx" in record.history_change_reason
    assert sorted(record.tags.values_list("tag__name", flat=True)) == ["独居老人", "高龄老人(80岁以上)"]


def test_import_is_audited_with_its_counts(world: World) -> None:
    run(world.admin, xlsx_bytes(good_rows(world)))
    entry = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert entry.user == world.admin
    assert entry.detail["status"] == "succeeded"
    assert (entry.detail["created"], entry.detail["updated"], entry.detail["rows"]) == (3, 0, 3)
    assert entry.detail["areas"] == ["310106006006"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_files_in_utf8_and_gb18030_import_like_xlsx(world: World, encoding: str) -> None:
    result = run(world.admin, csv_bytes(good_rows(world), encoding), filename="居民.csv")
    assert result.counts["created"] == 3
    assert by_id(GRANNY_ID).name == "陈阿婆"
    assert by_id(GRANNY_ID).tags.count() == 2


@pytest.mark.parametrize(
    "cell",
    ["1940-05-06", "1940/5/6", "19400506", "1940年5月6日", datetime(1940, 5, 6), "14737"],
    ids=["iso", "slashes", "compact", "chinese", "excel-date-cell", "excel-serial-number"],
)
def test_birth_dates_are_accepted_in_the_usual_spellings(world: World, cell: Any) -> None:
    row = good_rows(world)[0] | {"出生日期": cell}
    run(world.admin, xlsx_bytes([row]))
    assert by_id(GRANNY_ID).birth_date == date(1940, 5, 6)


def test_separate_road_lane_and_number_columns_are_accepted(world: World) -> None:
    headers = [h for h in HEADERS if h != "地址"] + ["路名", "弄", "号"]
    row = good_rows(world)[0] | {"路名": "常德路", "弄": "700", "号": "3"}
    run(world.admin, xlsx_bytes([row], headers))
    building = by_id(GRANNY_ID).household.building
    assert building.address == "常德路700弄3号"


def test_new_building_without_coordinates_is_placed_at_the_committee_office_and_reported(world: World) -> None:
    row = good_rows(world)[0] | {"经度": "", "纬度": ""}
    result = run(world.admin, xlsx_bytes([row]))
    building = by_id(GRANNY_ID).household.building
    assert (building.lat, building.lng) == (world.hengdeli.office_lat, world.hengdeli.office_lng)
    assert any("暂用居委会位置" in line for line in result.summary)


# --- re-import ---------------------------------------------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(world: World) -> None:
    data = xlsx_bytes(good_rows(world))
    run(world.admin, data)
    before = registry_counts()
    again = run(world.admin, data)
    assert (again.counts["created"], again.counts["updated"], again.counts["unchanged"]) == (0, 0, 3)
    assert again.counts["households_created"] == again.counts["buildings_created"] == 0
    assert registry_counts() == before


def test_changed_phone_updates_the_resident_and_history_records_who(world: World) -> None:
    rows = good_rows(world)
    run(world.admin, xlsx_bytes(rows))
    rows[0]["手机号"] = "13699998888"
    rows[0]["标签"] = "独居老人"
    result = run(world.head, xlsx_bytes(rows))
    assert (result.counts["created"], result.counts["updated"], result.counts["unchanged"]) == (0, 1, 2)
    granny = by_id(GRANNY_ID)
    assert clear(granny.phone) == "13699998888"
    latest = granny.history.latest()
    assert latest.history_type == "~" and latest.history_user == world.head
    assert list(latest.tags.values_list("tag__name", flat=True)) == ["独居老人"]
    assert Resident.objects.filter(name="陈阿婆").count() == 1


def test_known_id_number_updates_the_existing_resident_instead_of_duplicating(world: World) -> None:
    row = good_rows(world)[2] | {"姓名": "王秀英", "性别": "女", "出生日期": "", "身份证号": "310106194503071228"}
    row |= {"手机号": "13812340000", "与户主关系": "户主", "户标签": "独居老人"}
    result = run(world.admin, xlsx_bytes([row]))
    assert (result.counts["created"], result.counts["updated"]) == (0, 1)
    assert Resident.objects.filter(name="王秀英").count() == 1
    world.resident.refresh_from_db()
    assert clear(world.resident.phone) == "13812340000"


def test_resident_without_id_number_is_matched_by_household_and_name(world: World) -> None:
    row = good_rows(world)[2] | {"姓名": "王秀英", "性别": "女", "出生日期": "", "身份证号": "", "手机号": ""}
    row |= {"备注": "女儿每周来看望", "与户主关系": "户主", "户标签": "独居老人"}
    result = run(world.admin, xlsx_bytes([row]))
    assert (result.counts["created"], result.counts["updated"]) == (0, 1)
    world.resident.refresh_from_db()
    assert world.resident.notes == "女儿每周来看望"
    assert clear(world.resident.id_number) == "310106194503071228"  # an empty cell keeps the stored number


def test_known_id_number_in_another_household_moves_the_resident(world: World) -> None:
    other_id = clear(world.other_resident.id_number)
    row = good_rows(world)[2] | {
        "姓名": "李建国",
        "身份证号": other_id,
        "出生日期": "",
        "手机号": "",
        "户标签": "独居老人",
    }
    result = run(world.admin, xlsx_bytes([row]))
    assert (result.counts["created"], result.counts["updated"]) == (0, 1)
    world.other_resident.refresh_from_db()
    assert world.other_resident.household == world.household
    assert world.other_resident.history.latest().history_user == world.admin


def test_resident_recorded_without_id_number_gets_the_one_in_the_file(world: World) -> None:
    Resident.objects.filter(pk=world.resident.pk).update(id_number="", id_number_hash="")
    row = good_rows(world)[2] | {"姓名": "王秀英", "性别": "", "出生日期": "", "身份证号": "310106194503071228"}
    row |= {"与户主关系": "户主", "户标签": "独居老人"}
    result = run(world.admin, xlsx_bytes([row]))
    assert (result.counts["created"], result.counts["updated"]) == (0, 1)
    world.resident.refresh_from_db()
    assert clear(world.resident.id_number) == "310106194503071228"
    assert by_id("310106194503071228") == world.resident


def test_two_rows_meaning_the_same_stored_resident_are_reported(world: World) -> None:
    wang = good_rows(world)[2] | {
        "姓名": "王秀英",
        "性别": "女",
        "出生日期": "",
        "手机号": "",
        "户标签": "独居老人",
    }
    moved = wang | {"身份证号": "310106194503071228", "居民区": "又一村", "地址": "常德路545弄12号", "室号": "201"}
    moved |= {"小区": world.other_household.building.compound.name, "户标签": ""}
    stays = wang | {"身份证号": ""}
    errors = errors_of(world.admin, xlsx_bytes([moved, stays]))
    assert [(e["row"], e["column"]) for e in errors] == [(3, "姓名")]
    assert "同一位居民" in errors[0]["message"]


def test_masked_id_number_keeps_the_stored_one(world: World) -> None:
    row = good_rows(world)[2] | {"姓名": "王秀英", "性别": "女", "出生日期": "", "身份证号": "310106********1228"}
    row |= {"手机号": "138****5678", "备注": "新备注", "与户主关系": "户主", "户标签": "独居老人"}
    run(world.admin, xlsx_bytes([row]))
    world.resident.refresh_from_db()
    assert clear(world.resident.id_number) == "310106194503071228"
    assert clear(world.resident.phone) == "13812345678"
    assert world.resident.notes == "新备注"


def test_masked_id_number_that_differs_from_the_stored_one_is_an_error(world: World) -> None:
    row = good_rows(world)[2] | {"姓名": "王秀英", "性别": "女", "出生日期": "", "身份证号": "310106********9999"}
    before = registry_counts()
    errors = errors_of(world.admin, xlsx_bytes([row]))
    assert [(e["row"], e["column"]) for e in errors] == [(2, "身份证号")]
    assert "脱敏身份证号与系统中登记的" in errors[0]["message"]
    assert registry_counts() == before


def test_masked_id_number_cannot_create_a_new_resident(world: World) -> None:
    row = good_rows(world)[0] | {"身份证号": "310106********1234"}
    errors = errors_of(world.admin, xlsx_bytes([row]))
    assert [(e["row"], e["column"]) for e in errors] == [(2, "身份证号")]
    assert "脱敏号码" in errors[0]["message"]


# --- bad rows ----------------------------------------------------------------------------------------------


BAD_CELLS = {
    "id-check-digit": (
        {"身份证号": GRANNY_ID[:17] + ("0" if GRANNY_ID[17] != "0" else "1")},
        "身份证号",
        "校验位",
    ),
    "id-length": ({"身份证号": "3101061940050"}, "身份证号", "应为18位"),
    "id-from-excel-number": ({"身份证号": "3.10106194005061E+17"}, "身份证号", "文本"),
    "birth-date-in-future": ({"出生日期": "2199-01-01", "身份证号": "", "性别": "男"}, "出生日期", "不合理"),
    "birth-date-too-old": ({"出生日期": "1850-01-01", "身份证号": "", "性别": "男"}, "出生日期", "不合理"),
    "birth-date-not-the-ids": ({"出生日期": "1941-05-06"}, "出生日期", "不一致"),
    "date-format": ({"出生日期": "五月六日"}, "出生日期", "无法识别日期"),
    "unknown-area": ({"居民区": "不存在居民区"}, "居民区", "不存在"),
    "unknown-tag": ({"标签": "独居老人、会飞的人"}, "标签", "未知标签“会飞的人”"),
    "bad-phone": ({"手机号": "12345"}, "手机号", "手机号格式不正确"),
    "missing-name": ({"姓名": ""}, "姓名", "不能为空"),
    "missing-room": ({"室号": ""}, "室号", "不能为空"),
    "gender-not-the-ids": ({"性别": "女"}, "性别", "与身份证号不一致"),
    "gender-word": ({"性别": "未知"}, "性别", "男"),
    "gender-missing-without-id": ({"性别": "", "身份证号": ""}, "性别", "不能为空"),
    "address": ({"地址": "常德路那边"}, "地址", "无法识别地址"),
    "relation": ({"与户主关系": "邻居"}, "与户主关系", "无法识别"),
    "coordinates-swapped": ({"经度": "31.2401", "纬度": "121.4471"}, "经度", "填反"),
    "coordinates-half": ({"经度": "121.4471", "纬度": ""}, "纬度", "一起填写"),
}


@pytest.mark.parametrize("cells,column,message", BAD_CELLS.values(), ids=BAD_CELLS.keys())
def test_bad_cell_is_reported_by_row_and_column_and_nothing_is_written(
    world: World, cells: dict[str, str], column: str, message: str
) -> None:
    rows = good_rows(world)
    rows[1] |= cells  # the second data row: row 3 as Excel shows it
    before = registry_counts()
    errors = errors_of(world.admin, xlsx_bytes(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(3, column)]
    assert message in errors[0]["message"]
    assert registry_counts() == before


def test_the_same_id_number_twice_in_a_file_is_reported_on_the_second_row(world: World) -> None:
    rows = good_rows(world)
    rows[2] |= {"身份证号": GRANNY_ID, "性别": "女", "出生日期": ""}
    errors = errors_of(world.admin, xlsx_bytes(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(4, "身份证号")]
    assert "第 2 行重复" in errors[0]["message"]


def test_same_name_twice_in_a_household_without_id_numbers_is_reported(world: World) -> None:
    rows = good_rows(world)[:1] * 2
    rows = [rows[0] | {"身份证号": "", "出生日期": ""}, rows[1] | {"身份证号": "", "出生日期": ""}]
    errors = errors_of(world.admin, xlsx_bytes(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(3, "姓名")]


def test_one_address_in_two_compounds_is_reported(world: World) -> None:
    rows = good_rows(world)
    rows[1]["小区"] = "另一个小区"
    errors = errors_of(world.admin, xlsx_bytes(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(3, "地址")]


def test_address_registered_in_another_compound_is_reported(world: World) -> None:
    row = good_rows(world)[2] | {"小区": "别的小区"}
    errors = errors_of(world.admin, xlsx_bytes([row]))
    assert [(e["row"], e["column"]) for e in errors] == [(2, "地址")]
    assert world.household.building.compound.name in errors[0]["message"]


def test_every_error_in_the_file_is_reported_at_once(world: World) -> None:
    rows = good_rows(world)
    rows[0] |= {"手机号": "999"}
    rows[1] |= {"身份证号": "123", "标签": "不存在的标签"}
    rows[2] |= {"居民区": ""}
    errors = errors_of(world.admin, xlsx_bytes(rows))
    assert sorted((e["row"], e["column"]) for e in errors) == [
        (2, "手机号"),
        (3, "标签"),
        (3, "身份证号"),
        (4, "居民区"),
    ]


def test_a_long_error_list_is_capped_but_every_error_is_counted(world: World) -> None:
    bad = good_rows(world)[0] | {"身份证号": "", "性别": "不详"}
    rows = [bad | {"室号": str(100 + n)} for n in range(600)]
    with pytest.raises(ApplicationError) as failure:
        run(world.admin, xlsx_bytes(rows))
    assert len(failure.value.extra["errors"]) == imports.MAX_ERRORS
    assert failure.value.extra["error_count"] == 600
    assert "600" in failure.value.message


def test_failed_import_is_audited_without_writing_anything(world: World) -> None:
    rows = good_rows(world)
    rows[0]["手机号"] = "999"
    before = registry_counts()
    errors_of(world.admin, xlsx_bytes(rows))
    entry = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert entry.detail["status"] == "failed" and entry.detail["errors"] == 1
    assert registry_counts() == before


# --- bad files ---------------------------------------------------------------------------------------------


def test_unreadable_xlsx_is_refused(world: World) -> None:
    with pytest.raises(ApplicationError, match="无法读取该 Excel 文件"):
        run(world.admin, b"PK\x03\x04 this is not really a workbook")


def test_wrong_extension_is_refused(world: World) -> None:
    with pytest.raises(ApplicationError, match="不支持的文件类型"):
        run(world.admin, xlsx_bytes(good_rows(world)), filename="居民.pdf")


def test_empty_file_is_refused(world: World) -> None:
    with pytest.raises(ApplicationError, match="文件是空的"):
        run(world.admin, b"", filename="居民.csv")


def test_header_only_file_is_refused(world: World) -> None:
    with pytest.raises(ApplicationError, match="没有数据行"):
        run(world.admin, xlsx_bytes([]))


def test_missing_required_headers_are_each_reported(world: World) -> None:
    headers = [h for h in HEADERS if h not in ("姓名", "室号")]
    before = registry_counts()
    errors = errors_of(world.admin, xlsx_bytes(good_rows(world), headers))
    assert sorted(e["column"] for e in errors) == ["姓名", "室号"]
    assert all("缺少必需的列" in e["message"] for e in errors)
    assert registry_counts() == before


def test_missing_optional_column_leaves_that_field_alone(world: World) -> None:
    run(world.admin, xlsx_bytes(good_rows(world)))
    headers = [h for h in HEADERS if h != "标签"]
    result = run(world.admin, xlsx_bytes(good_rows(world), headers))
    assert result.counts["unchanged"] == 3
    assert by_id(GRANNY_ID).tags.count() == 2


# --- scope -------------------------------------------------------------------------------------------------


def test_area_head_imports_for_their_own_area(world: World) -> None:
    result = run(world.head, xlsx_bytes(good_rows(world)))
    assert result.counts["created"] == 3
    assert by_id(GRANNY_ID).history.get().history_user == world.head


def test_area_head_cannot_import_rows_for_another_area(world: World) -> None:
    rows = good_rows(world)
    rows[1]["居民区"] = "又一村"
    before = registry_counts()
    errors = errors_of(world.head, xlsx_bytes(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(3, "居民区")]
    assert "不在您的管理范围内" in errors[0]["message"]
    assert registry_counts() == before


def test_area_head_cannot_take_over_a_person_registered_in_another_area(world: World) -> None:
    other_id = clear(world.other_resident.id_number)
    row = good_rows(world)[0] | {"身份证号": other_id, "性别": "男", "出生日期": ""}
    errors = errors_of(world.head, xlsx_bytes([row]))
    assert [(e["row"], e["column"]) for e in errors] == [(2, "身份证号")]
    assert "管理范围以外" in errors[0]["message"]


@pytest.mark.parametrize("role", ["cadre", "liaison", "nobody"])
def test_cadres_liaisons_and_roleless_users_cannot_import(world: World, role: str) -> None:
    user = getattr(world, role)
    with pytest.raises(PermissionDenied):
        run(user, xlsx_bytes(good_rows(world)))
    client = Client()
    client.force_login(user)
    assert client.get(reverse("registry_import")).status_code == 403
    assert client.get(reverse("registry_import_template")).status_code == 403
    upload = io.BytesIO(xlsx_bytes(good_rows(world)))
    upload.name = "居民.xlsx"
    assert client.post(reverse("registry_import"), {"file": upload}).status_code == 403
    assert not Job.objects.exists()


# --- the pages ---------------------------------------------------------------------------------------------


def upload(client: Client, data: bytes, name: str, capture: Any) -> Any:
    file = io.BytesIO(data)
    file.name = name
    with capture(execute=True):
        return client.post(reverse("registry_import"), {"file": file})


def test_upload_starts_a_job_and_shows_its_result(world: World, django_capture_on_commit_callbacks: Any) -> None:
    client = Client()
    client.force_login(world.admin)
    response = upload(client, xlsx_bytes(good_rows(world)), "恒德里.xlsx", django_capture_on_commit_callbacks)
    job = Job.objects.get(kind=imports.IMPORT_KIND)
    assert response.status_code == 302 and response["Location"] == reverse("job_detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["counts"]["created"] == 3
    assert not job.input_file  # the uploaded register (clear ID numbers) is not kept
    page = client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "新增 3 人" in page
    listing = client.get(reverse("registry_import")).content.decode()
    assert "恒德里.xlsx" in listing


def test_job_page_lists_each_error_with_row_and_column(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    rows = good_rows(world)
    rows[1]["身份证号"] = GRANDPA_ID[:17] + ("0" if GRANDPA_ID[17] != "0" else "1")
    client = Client()
    client.force_login(world.admin)
    before = registry_counts()
    upload(client, xlsx_bytes(rows), "坏.xlsx", django_capture_on_commit_callbacks)
    job = Job.objects.get(kind=imports.IMPORT_KIND)
    assert job.status == JobStatus.FAILED
    assert "没有写入任何数据" in job.message
    page = client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "<td>3</td><td>身份证号</td><td>身份证号校验位错误</td>" in page
    assert registry_counts() == before


def test_upload_with_a_wrong_extension_is_refused_on_the_form(world: World) -> None:
    client = Client()
    client.force_login(world.admin)
    file = io.BytesIO(b"%PDF-1.4")
    file.name = "居民.pdf"
    response = client.post(reverse("registry_import"), {"file": file})
    assert response.status_code == 400
    assert "不支持的文件类型" in response.content.decode()
    assert not Job.objects.exists()


def test_import_page_explains_and_links_the_template(world: World) -> None:
    client = Client()
    client.force_login(world.head)
    page = client.get(reverse("registry_import")).content.decode()
    assert reverse("registry_import_template") in page
    assert "逐行校验" in page and 'enctype="multipart/form-data"' in page


def test_template_downloads_with_instructions_and_reimports_cleanly(world: World) -> None:
    client = Client()
    client.force_login(world.head)
    response = client.get(reverse("registry_import_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["居民信息", "填写说明"]
    rows = list(workbook["居民信息"].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS and len(rows) == 2
    explained = {row[0] for row in workbook["填写说明"].iter_rows(values_only=True)}
    assert set(HEADERS) <= explained
    result = run(world.head, response.content)
    assert result.counts["created"] == 1
    assert Resident.objects.filter(name="张三", household__building__compound__area=world.hengdeli).exists()


# --- command line ------------------------------------------------------------------------------------------


def test_command_line_import_prints_progress_and_counts(world: World, tmp_path: Any) -> None:
    path = tmp_path / "居民.xlsx"
    path.write_bytes(xlsx_bytes(good_rows(world)))
    out = io.StringIO()
    call_command("import-registry", str(path), user="admin", stdout=out)
    printed = out.getvalue()
    assert "100%" in printed and "新增 3 人" in printed
    assert by_id(GRANNY_ID).history.get().history_user == world.admin


def test_command_line_import_with_errors_prints_them_and_fails_writing_nothing(
    world: World, tmp_path: Any
) -> None:
    rows = good_rows(world)
    rows[0]["出生日期"] = "1999-99-99"
    rows[2]["标签"] = "会飞的人"
    path = tmp_path / "居民.csv"
    path.write_bytes(csv_bytes(rows, "gb18030"))
    before = registry_counts()
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 处错误"):
        call_command("import-registry", str(path), stderr=err)
    assert "第 2 行 [出生日期]" in err.getvalue() and "第 4 行 [标签]" in err.getvalue()
    assert registry_counts() == before


def test_command_line_import_without_user_is_audited_as_the_system_actor(world: World, tmp_path: Any) -> None:
    path = tmp_path / "居民.xlsx"
    path.write_bytes(xlsx_bytes(good_rows(world)))
    call_command("import-registry", str(path), stdout=io.StringIO())
    entry = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert entry.user is None and entry.username == imports.SYSTEM_ACTOR
    assert entry.detail["created"] == 3


def test_command_line_import_as_a_cadre_is_refused(world: World, tmp_path: Any) -> None:
    path = tmp_path / "居民.xlsx"
    path.write_bytes(xlsx_bytes(good_rows(world)))
    with pytest.raises(CommandError, match="只有街道管理员"):
        call_command("import-registry", str(path), user="cadre-006-1")

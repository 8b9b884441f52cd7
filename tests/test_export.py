"""Exporting the registry: masked by default, unmasked only for a street administrator with a reason, scoped,
formula-safe, audited, downloadable from the job page, and importable again without changing anything."""

import io
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction, AuditEntry, Job, JobStatus
from ningju.registry import exports
from ningju.registry.exports import ExportResult, export_registry
from ningju.registry.imports import HEADERS, import_registry
from ningju.registry.models import Resident
from tests.conftest import World

pytestmark = pytest.mark.django_db

WANG_ID, WANG_PHONE = "310106194503071228", "13812345678"


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def clear(value: Any) -> str:
    """The clear text of an encrypted field's value (a SensitiveValue; the type stubs see a str)."""
    return value.reveal()


def export(user: Any, **options: Any) -> tuple[ExportResult, bytes]:
    buffer = io.BytesIO()
    result = export_registry(user=user, target=buffer, **options)
    return result, buffer.getvalue()


def sheet_rows(data: bytes) -> list[dict[str, Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data))["居民信息"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    return [dict(zip(HEADERS, row, strict=True)) for row in rows[1:]]


def all_text(data: bytes) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return "\n".join(
        str(value) for sheet in workbook for row in sheet.iter_rows(values_only=True) for value in row if value
    )


def test_export_is_masked_by_default(world: World) -> None:
    result, data = export(world.admin)
    assert result.masked and result.rows == 2
    text = all_text(data)
    other_id, other_phone = clear(world.other_resident.id_number), clear(world.other_resident.phone)
    for number in (WANG_ID, WANG_PHONE, other_id, other_phone, WANG_ID[6:14]):
        assert number not in text
    wang = next(row for row in sheet_rows(data) if row["姓名"] == "王秀英")
    assert (wang["身份证号"], wang["手机号"]) == ("310106********1228", "138****5678")
    assert (wang["居民区"], wang["地址"], wang["室号"]) == ("恒德里", "常德路633弄5号", "302")
    assert wang["户标签"] == "独居老人"


def test_unmasked_export_needs_a_street_administrator(world: World) -> None:
    for user in (world.head, world.cadre):
        with pytest.raises(PermissionDenied):
            export(user, unmasked=True, reason="核对低保名单")
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_unmasked_export_needs_a_reason(world: World) -> None:
    with pytest.raises(ApplicationError, match="须填写事由"):
        export(world.admin, unmasked=True, reason=" ")


def test_unmasked_export_by_a_street_administrator_carries_clear_numbers_and_is_audited(world: World) -> None:
    result, data = export(world.admin, unmasked=True, reason="民政局核对低保名单")
    assert not result.masked
    wang = next(row for row in sheet_rows(data) if row["姓名"] == "王秀英")
    assert (wang["身份证号"], wang["手机号"]) == (WANG_ID, WANG_PHONE)
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.user == world.admin and entry.reason == "民政局核对低保名单"
    assert entry.detail["masked"] is False and entry.detail["rows"] == 2


def test_export_is_audited_with_scope_count_and_masking(world: World) -> None:
    export(world.cadre)
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.user == world.cadre
    assert (entry.detail["scope"], entry.detail["areas"]) == ("恒德里", ["310106006006"])
    assert (entry.detail["rows"], entry.detail["masked"]) == (1, True)


def test_cadre_export_contains_only_their_area(world: World) -> None:
    _, data = export(world.cadre)
    rows = sheet_rows(data)
    assert [row["姓名"] for row in rows] == ["王秀英"]
    assert {row["居民区"] for row in rows} == {"恒德里"}
    assert "李建国" not in all_text(data)


def test_area_user_cannot_export_another_area(world: World) -> None:
    with pytest.raises(ApplicationError, match="不在您的管理范围内"):
        export(world.head, area_code=world.youyicun.code)


def test_street_administrator_can_export_one_area(world: World) -> None:
    result, data = export(world.admin, area_code=world.youyicun.code)
    assert [row["姓名"] for row in sheet_rows(data)] == ["李建国"]
    assert result.scope == "又一村"


@pytest.mark.parametrize("role", ["liaison", "nobody"])
def test_liaisons_and_roleless_users_cannot_export(world: World, role: str) -> None:
    user = getattr(world, role)
    with pytest.raises(PermissionDenied):
        export(user)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("registry_export")).status_code == 403
    assert client.post(reverse("registry_export"), {}).status_code == 403
    assert not Job.objects.exists()


def test_moved_out_residents_are_not_exported(world: World) -> None:
    Resident.objects.filter(pk=world.other_resident.pk).update(active=False)
    _, data = export(world.admin)
    assert [row["姓名"] for row in sheet_rows(data)] == ["王秀英"]


def test_formula_like_text_is_exported_as_text_and_reimports_unchanged(world: World) -> None:
    formula = '=HYPERLINK("http://evil.example/","点我")'
    Resident.objects.filter(pk=world.resident.pk).update(name=formula, notes="+86 再联系")
    _, data = export(world.admin)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["居民信息"]
    cells = [
        cell
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert len(cells) == 1
    assert cells[0].data_type == "s" and cells[0].value == "'" + formula
    result = import_registry(source=io.BytesIO(data), filename="导出.xlsx", user=world.admin)
    assert (result.counts["created"], result.counts["updated"], result.counts["unchanged"]) == (0, 0, 2)
    world.resident.refresh_from_db()
    assert (world.resident.name, world.resident.notes) == (formula, "+86 再联系")


def test_masked_export_reimports_without_changing_or_erasing_anything(world: World) -> None:
    _, data = export(world.admin)
    history_before = Resident.history.count()
    result = import_registry(source=io.BytesIO(data), filename="导出.xlsx", user=world.admin)
    assert (result.counts["created"], result.counts["updated"], result.counts["unchanged"]) == (0, 0, 2)
    assert Resident.history.count() == history_before
    world.resident.refresh_from_db()
    assert clear(world.resident.id_number) == WANG_ID and clear(world.resident.phone) == WANG_PHONE


# --- the page and the job ----------------------------------------------------------------------------------


def test_export_page_runs_a_job_whose_file_downloads(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    client.force_login(world.admin)
    assert "全部居民区" in client.get(reverse("registry_export")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("registry_export"), {"area": world.hengdeli.code})
    job = Job.objects.get(kind=exports.EXPORT_KIND)
    assert response.status_code == 302 and response["Location"] == reverse("job_detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED and job.result["rows"] == 1
    page = client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert reverse("job_download", args=[job.pk]) in page
    download = client.get(reverse("job_download", args=[job.pk]))
    data = download.getvalue()
    assert [row["姓名"] for row in sheet_rows(data)] == ["王秀英"]
    assert AuditEntry.objects.get(action=AuditAction.EXPORT).detail["job"] == job.pk


def test_unmasked_export_from_the_page_requires_a_reason(world: World) -> None:
    client = Client()
    client.force_login(world.admin)
    response = client.post(reverse("registry_export"), {"unmasked": "on", "reason": ""})
    assert response.status_code == 400 and "须填写事由" in response.content.decode()
    assert not Job.objects.exists()


def test_area_users_are_not_offered_unmasked_export(world: World, django_capture_on_commit_callbacks: Any) -> None:
    client = Client()
    client.force_login(world.cadre)
    page = client.get(reverse("registry_export")).content.decode()
    assert 'name="unmasked"' not in page and "恒德里" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("registry_export"), {"unmasked": "on", "reason": "想看", "area": world.youyicun.code})
    job = Job.objects.get(kind=exports.EXPORT_KIND)
    assert job.params["unmasked"] is False and job.status == JobStatus.SUCCEEDED
    data = job.output_file.open("rb").read()
    assert [row["姓名"] for row in sheet_rows(data)] == ["王秀英"]
    assert WANG_ID not in all_text(data)


# --- command line ------------------------------------------------------------------------------------------


def test_command_line_export_is_masked_scoped_and_audited_as_the_system_actor(world: World, tmp_path: Any) -> None:
    path = tmp_path / "又一村.xlsx"
    out = io.StringIO()
    call_command("export-registry", str(path), area=world.youyicun.code, stdout=out)
    assert "已导出 1 位居民" in out.getvalue()
    rows = sheet_rows(path.read_bytes())
    assert [row["姓名"] for row in rows] == ["李建国"] and "*" in rows[0]["手机号"]
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.user is None and entry.username == "system:cli" and entry.detail["masked"] is True


def test_command_line_unmasked_export_needs_an_administrator_and_a_reason(world: World, tmp_path: Any) -> None:
    path = tmp_path / "全部.xlsx"
    with pytest.raises(CommandError, match="街道管理员"):
        call_command("export-registry", str(path), unmasked=True, reason="核对")
    with pytest.raises(CommandError, match="只有街道管理员"):
        call_command("export-registry", str(path), unmasked=True, reason="核对", user="head-006")
    with pytest.raises(CommandError, match="事由"):
        call_command("export-registry", str(path), unmasked=True, user="admin")
    assert not path.exists()
    call_command("export-registry", str(path), unmasked=True, reason="核对", user="admin", stdout=io.StringIO())
    assert WANG_ID in all_text(path.read_bytes())
    assert AuditEntry.objects.get(action=AuditAction.EXPORT).reason == "核对"

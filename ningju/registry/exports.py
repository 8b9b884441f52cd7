"""Exporting the registry to xlsx: scoped, masked unless a street administrator states a reason, formula-safe,
audited, and in the import template's columns so that the file can be imported again.

A masked export carries 310106********1234 and 138****5678; the importer reads those as "keep what is stored", so
re-importing a masked export changes nothing.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction, Job, JobKind, User
from ningju.core.tables import write_xlsx
from ningju.registry.imports import GENDER_LABELS, HEADERS, RELATION_LABELS, SYSTEM_ACTOR, Col, ProgressFn
from ningju.registry.models import Gender, Household, Relation, Resident, ResidentialArea

EXPORT_KIND = JobKind.REGISTRY_EXPORT
MIN_REASON = 2
# Residents fetched per query while writing: bounded memory for any size of street.
CHUNK = 2000


can_export = scoping.can_export


can_export_unmasked = scoping.can_export_unmasked


def check_export(user: User | None, *, unmasked: bool, reason: str) -> None:
    if not can_export(user):
        raise PermissionDenied(_("您的角色不能导出居民信息。"))
    if unmasked:
        if user is None:
            raise ApplicationError(_("导出完整身份证号和手机号须指定一位街道管理员（--user）并填写事由。"))
        if not can_export_unmasked(user):
            raise PermissionDenied(_("只有街道管理员可以导出完整的身份证号和手机号。"))
        if len(reason.strip()) < MIN_REASON:
            raise ApplicationError(_("导出完整身份证号和手机号须填写事由（至少2个字）。"))


def export_areas(user: User | None, area_code: str = "") -> "QuerySet[ResidentialArea]":
    """The areas an export covers: what the user may see, or one of them."""
    areas = ResidentialArea.objects.all() if user is None else scoping.visible(user, ResidentialArea.objects.all())
    if area_code:
        areas = areas.filter(code=area_code)
        if not areas.exists():
            raise ApplicationError(_("居民区“%(c)s”不存在，或不在您的管理范围内。") % {"c": area_code})
    return areas.order_by("code")


@dataclass
class ExportResult:
    rows: int
    scope: str
    filename: str
    masked: bool


def export_registry(
    *,
    user: User | None,
    target: IO[bytes] | Path | str,
    area_code: str = "",
    unmasked: bool = False,
    reason: str = "",
    progress: ProgressFn | None = None,
    job: Job | None = None,
) -> ExportResult:
    """Write the current residents of the user's scope (or of one area in it) to `target` as xlsx, and audit it."""
    check_export(user, unmasked=unmasked, reason=reason)
    report = progress or (lambda done, total, message: None)
    areas = list(export_areas(user, area_code))
    if area_code or len(areas) == 1:
        scope = "、".join(area.name for area in areas)
    elif user is not None and user.street_id:
        scope = _("%(street)s全部居民区") % {"street": user.street}
    else:
        scope = _("全部居民区")
    residents = (
        Resident.objects.current()
        .filter(household__building__compound__area__in=areas)
        .select_related("household__building__compound__area")
        .order_by(
            "household__building__compound__area__code",
            "household__building__compound__name",
            "household__building__road",
            "household__building__lane",
            "household__building__number",
            "household__room",
            "pk",
        )
    )
    total = residents.count()
    # Two queries for all tags, instead of one per resident.
    resident_tags = _tag_names(
        Resident.tags.through.objects.filter(resident__in=residents.values("pk")), "resident_id"
    )
    household_tags = _tag_names(
        Household.tags.through.objects.filter(household__residents__in=residents.values("pk")).distinct(),
        "household_id",
    )
    written = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal written
        # Whole slices, not .iterator(): on SQLite an open cursor pins a read snapshot, and the progress write
        # below would then fail with "database is locked" as soon as any other process had written meanwhile.
        for offset in range(0, total, CHUNK):
            for resident in list(residents[offset : offset + CHUNK]):
                yield _row(resident, resident_tags, household_tags, unmasked=unmasked)
                written += 1
            report(written, total, _("已写出 %(n)d / %(total)d 位居民…") % {"n": written, "total": total})

    now = timezone.localtime()
    actor = user.display_name if user is not None else SYSTEM_ACTOR

    def about() -> Iterator[list[Any]]:
        # A generator, so the row count is known when this sheet is written (after the first one).
        yield [_("导出人"), actor]
        yield [_("导出时间"), now.strftime("%Y-%m-%d %H:%M")]
        yield [_("范围"), scope]
        yield [_("居民人数"), written]
        yield [_("身份证号和手机号"), _("完整（未脱敏）") if unmasked else _("已脱敏")]
        if unmasked:
            yield [_("事由"), reason.strip()]
        yield [
            _("说明"),
            _("本表的列与导入模板一致，可修改后重新导入；脱敏的号码在导入时表示“保留系统中已登记的号码”。"),
        ]

    report(0, total, _("正在导出…"))
    write_xlsx(target, [(_("居民信息"), HEADERS, rows()), (_("导出说明"), [_("项目"), _("内容")], about())])
    filename = "{}_{}_{}{}.xlsx".format(
        _("居民信息"),
        scope.replace("、", "_")[:40],
        now.strftime("%Y%m%d-%H%M"),
        "_" + _("未脱敏") if unmasked else "",
    )
    audit(
        user=user,
        action=AuditAction.EXPORT,
        target_type="registry.resident",
        reason=reason.strip(),
        detail={
            "scope": scope,
            "areas": [area.code for area in areas],
            "rows": written,
            "masked": not unmasked,
            "file": filename,
            **({"job": job.pk} if job is not None else {}),
        },
        username="" if user else SYSTEM_ACTOR,
    )
    report(total, total, _("导出完成"))
    return ExportResult(rows=written, scope=scope, filename=filename, masked=not unmasked)


def _tag_names(through_rows: "QuerySet[Any]", owner: str) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    for owner_id, name in through_rows.order_by("tag__sort_order", "tag__name").values_list(owner, "tag__name"):
        names[owner_id].append(name)
    return names


def _row(
    resident: Resident,
    resident_tags: dict[int, list[str]],
    household_tags: dict[int, list[str]],
    *,
    unmasked: bool,
) -> list[Any]:
    household = resident.household
    building = household.building
    compound = building.compound
    # The encrypted fields hold SensitiveValue objects: str() is the masked form, reveal() the clear text.
    id_number: Any = resident.id_number
    phone: Any = resident.phone
    values = {
        Col.AREA: compound.area.name,
        Col.COMPOUND: compound.name,
        Col.ADDRESS: building.address,
        Col.ROOM: household.room,
        Col.NAME: resident.name,
        Col.GENDER: GENDER_LABELS.get(Gender(resident.gender), "") if resident.gender else "",
        Col.BIRTH_DATE: resident.birth_date.isoformat() if resident.birth_date else "",
        Col.ID_NUMBER: (id_number.reveal() if unmasked else str(id_number)) if id_number else "",
        Col.PHONE: (phone.reveal() if unmasked else str(phone)) if phone else "",
        Col.RELATION: RELATION_LABELS.get(Relation(resident.relation), "") if resident.relation else "",
        Col.TAGS: "、".join(resident_tags.get(resident.pk, [])),
        Col.HOUSEHOLD_TAGS: "、".join(household_tags.get(household.pk, [])),
        Col.LNG: building.lng,
        Col.LAT: building.lat,
        Col.OWNERS_COMMITTEE: compound.owners_committee,
        Col.PROPERTY_COMPANY: compound.property_company,
        Col.NOTES: resident.notes,
    }
    return [values[header] for header in HEADERS]


def export_handler(job: Job, progress: ProgressFn) -> dict[str, Any]:
    """The background job behind the export form; the file goes to `job.output_file` for job_download."""
    user = job.created_by
    if user is None:
        raise ApplicationError(_("发起导出的用户已不存在。"))
    buffer = BytesIO()
    try:
        result = export_registry(
            user=user,
            target=buffer,
            area_code=str(job.params.get("area") or ""),
            unmasked=bool(job.params.get("unmasked")),
            reason=str(job.params.get("reason") or ""),
            progress=progress,
            job=job,
        )
    except PermissionDenied as refused:
        raise ApplicationError(str(refused)) from refused
    job.output_file.save(result.filename, ContentFile(buffer.getvalue()), save=False)
    masked = _("身份证号和手机号已脱敏") if result.masked else _("含完整身份证号和手机号，请妥善保管")
    return {
        "message": _("已导出 %(n)d 位居民。") % {"n": result.rows},
        "summary": [_("范围：%(scope)s") % {"scope": result.scope}, masked],
        "rows": result.rows,
    }

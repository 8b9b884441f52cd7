"""Exporting a filtered list of demands to xlsx: scoped, without the reporter's personal data, formula-safe, audited.

The file carries what the lists show: where a demand is and how far it went, never who raised it (no reporter name,
ID or phone number). It runs as a background job started from the list's export page.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction, Job, User
from ningju.core.tables import write_xlsx
from ningju.demands import selectors
from ningju.demands.models import Demand
from ningju.demands.selectors import DemandFilter

# Demands fetched per query while writing: bounded memory for any size of street.
CHUNK = 2000

ProgressFn = Callable[[int, int, str], None]


def headers() -> list[str]:
    return [
        _("编号"),
        _("受理时间"),
        _("类型"),
        _("来源"),
        _("分类"),
        _("诉求内容"),
        _("居民区"),
        _("地点"),
        _("首问负责人"),
        _("状态"),
        _("当前时限"),
        _("预警"),
        _("工单编号"),
        _("吹哨轮次"),
        _("派单部门"),
    ]


@dataclass
class ExportResult:
    rows: int
    filename: str
    described: list[tuple[str, str]]


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _row(demand: Demand, now: datetime) -> list[Any]:
    departments = "、".join(
        f"{row.department.name}（{row.get_state_display()}）" for row in selectors.round_dispatches(demand)
    )
    return [
        demand.pk,
        _when(demand.created_at),
        str(demand.get_kind_display()),
        str(demand.get_source_display()),
        str(demand.category) if demand.category is not None else "",
        demand.text,
        demand.area.name,
        selectors.place_of(demand),
        demand.owner.display_name,
        str(demand.get_state_display()),
        _when(demand.due_at),
        str(selectors.alert_now(demand, now).label),
        demand.external_id,
        demand.whistle_round,
        departments,
    ]


def export_demands(
    *,
    user: User,
    what: DemandFilter,
    target: IO[bytes] | Path | str,
    progress: ProgressFn | None = None,
    job: Job | None = None,
) -> ExportResult:
    """Write the demands `user` may see that match `what` to `target` as xlsx, newest first, and audit it."""
    if not scoping.can_export(user):
        raise PermissionDenied(_("您的角色不能导出诉求。"))
    report = progress or (lambda done, total, message: None)
    now = timezone.now()
    demands = selectors.with_facts(selectors.filtered(selectors.demands_for(user), what, user=user, now=now))
    total = demands.count()
    described = selectors.describe(what)
    written = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal written
        # Whole slices, not .iterator(): each slice brings its dispatches in one more query, and no cursor stays
        # open while the progress is written (on SQLite that would pin a read snapshot).
        for offset in range(0, total, CHUNK):
            for demand in list(demands[offset : offset + CHUNK]):
                yield _row(demand, now)
                written += 1
            report(written, total, _("已写出 %(n)d / %(total)d 条诉求…") % {"n": written, "total": total})

    local = timezone.localtime(now)

    def about() -> Iterator[list[Any]]:
        # A generator, so the row count is known when this sheet is written (after the first one).
        yield [_("导出人"), user.display_name]
        yield [_("导出时间"), local.strftime("%Y-%m-%d %H:%M")]
        for label, value in described or [(_("筛选条件"), _("无（全部可见诉求）"))]:
            yield [label, value]
        yield [_("诉求条数"), written]
        yield [_("说明"), _("不含反映人的姓名、身份证号和手机号；预警按导出时的时限计算。")]

    report(0, total, _("正在导出…"))
    write_xlsx(target, [(_("诉求"), headers(), rows()), (_("导出说明"), [_("项目"), _("内容")], about())])
    filename = "{}_{}.xlsx".format(_("诉求"), local.strftime("%Y%m%d-%H%M"))
    audit(
        user=user,
        action=AuditAction.EXPORT,
        target_type="demands.demand",
        detail={
            "filters": what.as_params(),
            "rows": written,
            "file": filename,
            **({"job": job.pk} if job is not None else {}),
        },
    )
    report(total, total, _("导出完成"))
    return ExportResult(rows=written, filename=filename, described=described)


def export_handler(job: Job, progress: ProgressFn) -> dict[str, Any]:
    """The background job behind the export page; the file goes to `job.output_file` for job_download."""
    user = job.created_by
    if user is None:
        raise ApplicationError(_("发起导出的用户已不存在。"))
    buffer = BytesIO()
    what = DemandFilter.from_params(job.params.get("filters") or {})
    try:
        result = export_demands(user=user, what=what, target=buffer, progress=progress, job=job)
    except PermissionDenied as refused:
        raise ApplicationError(str(refused)) from refused
    job.output_file.save(result.filename, ContentFile(buffer.getvalue()), save=False)
    summary = [f"{label}：{value}" for label, value in result.described]
    return {
        "message": _("已导出 %(n)d 条诉求。") % {"n": result.rows},
        "summary": [*summary, _("不含反映人的个人信息")],
        "rows": result.rows,
    }

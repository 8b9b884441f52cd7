"""Registry import and export pages: upload a sheet or ask for an xlsx, then follow the background job's page."""

import os
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import scoping
from ningju.core.http import AuthedRequest
from ningju.core.jobs import job_start
from ningju.core.models import Job, User
from ningju.registry import exports, imports
from ningju.registry.models import ResidentialArea

ALLOWED_EXTENSIONS = (".xlsx", ".csv")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
RECENT_JOBS = 10
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("居民信息表（.xlsx 或 .csv）"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ALLOWED_EXTENSIONS)}),
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(ALLOWED_EXTENSIONS):
            raise forms.ValidationError(_("不支持的文件类型：请上传 .xlsx 或 .csv 文件。"))
        if not upload.size:
            raise forms.ValidationError(_("文件是空的。"))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件超过20MB：请分成几个文件导入。"))
        return upload


class ExportForm(forms.Form):
    """What to export. The area choice and the unmasked option appear only for a street administrator."""

    area = forms.ChoiceField(label=gettext_lazy("范围"), required=False)
    unmasked = forms.BooleanField(label=gettext_lazy("导出完整身份证号和手机号（不脱敏）"), required=False)
    reason = forms.CharField(
        label=gettext_lazy("导出事由（导出完整号码时必填）"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if scoping.is_street_admin(user):
            areas = scoping.visible(user, ResidentialArea.objects.order_by("code"))
            area_field = self.fields["area"]
            assert isinstance(area_field, forms.ChoiceField)
            area_field.choices = [("", _("全部居民区")), *((a.code, a.name) for a in areas)]
        else:
            # Area users export their own area; nothing to choose and no clear numbers to ask for.
            for name in ("area", "unmasked", "reason"):
                del self.fields[name]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("unmasked") and len((data.get("reason") or "").strip()) < exports.MIN_REASON:
            self.add_error("reason", _("导出完整身份证号和手机号须填写事由（至少2个字）。"))
        return data


def recent_jobs(user: User, kind: str) -> list[Job]:
    return list(Job.objects.filter(created_by=user, kind=kind).order_by("-created_at")[:RECENT_JOBS])


@login_required
def import_page(request: AuthedRequest) -> HttpResponse:
    """The upload form; a valid upload starts the import job and goes to its progress page."""
    user = request.user
    imports.require_import(user)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        name = os.path.basename(upload.name or "upload")
        job = job_start(
            kind=imports.IMPORT_KIND,
            handler=imports.import_handler,
            user=user,
            params={"filename": name},
            input_file=upload,
            input_name=name,
        )
        return redirect("job_detail", job_id=job.pk)
    return render(
        request,
        "registry/import.html",
        {
            "form": form,
            "jobs": recent_jobs(user, imports.IMPORT_KIND),
            "can_export": exports.can_export(user),
            "max_rows": imports.MAX_ROWS,
        },
        status=400 if form.errors else 200,
    )


@login_required
def import_template(request: AuthedRequest) -> HttpResponse:
    user = request.user
    imports.require_import(user)
    response = HttpResponse(imports.template_xlsx(user), content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, _("居民信息导入模板") + ".xlsx")
    return response


@login_required
def export_start(request: AuthedRequest) -> HttpResponse:
    """The export form; a valid request starts the export job and goes to its page, which offers the download."""
    user = request.user
    if not exports.can_export(user):
        raise PermissionDenied(_("您的角色不能导出居民信息。"))
    form = ExportForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        job = job_start(
            kind=exports.EXPORT_KIND,
            handler=exports.export_handler,
            user=user,
            params={
                "area": data.get("area") or "",
                "unmasked": bool(data.get("unmasked")),
                "reason": (data.get("reason") or "").strip(),
            },
        )
        return redirect("job_detail", job_id=job.pk)
    return render(
        request,
        "registry/export.html",
        {
            "form": form,
            "jobs": recent_jobs(user, exports.EXPORT_KIND),
            "can_import": imports.can_import(user),
            "own_area": None if scoping.is_street_admin(user) else user.area,
        },
        status=400 if form.errors else 200,
    )

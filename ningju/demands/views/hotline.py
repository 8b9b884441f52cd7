"""12345 work-order import page: upload an export, then follow the background job's page; and the template."""

import os
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import scoping
from ningju.core.http import AuthedRequest
from ningju.core.jobs import job_start
from ningju.demands import hotline
from ningju.registry.views.transfer import XLSX_TYPE, ImportForm, recent_jobs


class HotlineForm(ImportForm):
    """The registry's upload form (type and size checks), labelled for a 12345 export."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].label = gettext_lazy("12345工单导出表（.xlsx 或 .csv）")


@login_required
def hotline_import(request: AuthedRequest) -> HttpResponse:
    """The upload form; a valid upload starts the import job and goes to its progress page."""
    user = request.user
    scoping.require_street_admin(user)
    form = HotlineForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        name = os.path.basename(upload.name or "12345.xlsx")
        job = job_start(
            kind=hotline.IMPORT_KIND,
            handler=hotline.hotline_handler,
            user=user,
            params={"filename": name},
            input_file=upload,
            input_name=name,
        )
        return redirect("job_detail", job_id=job.pk)
    return render(
        request,
        "demands/hotline.html",
        {"form": form, "jobs": recent_jobs(user, hotline.IMPORT_KIND), "max_rows": hotline.MAX_ROWS},
        status=400 if form.errors else 200,
    )


@login_required
def hotline_template(request: AuthedRequest) -> HttpResponse:
    user = request.user
    scoping.require_street_admin(user)
    response = HttpResponse(hotline.template_xlsx(user), content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, _("12345工单导入模板") + ".xlsx")
    return response


urlpatterns: list[URLPattern] = [
    path("hotline/", hotline_import, name="hotline_import"),
    path("hotline/template.xlsx", hotline_template, name="hotline_template"),
]

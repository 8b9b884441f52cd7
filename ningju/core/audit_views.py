"""The audit page for reviewers: a street administrator lists and exports the audit rows of their street's staff."""

import io
from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.http import AuthedRequest
from ningju.core.models import AuditAction, AuditEntry
from ningju.core.tables import write_xlsx

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


class AuditFilterForm(forms.Form):
    who = forms.CharField(label=gettext_lazy("用户名"), max_length=150, required=False)
    action = forms.ChoiceField(
        label=gettext_lazy("操作"),
        choices=[("", gettext_lazy("全部")), *AuditAction.choices],
        required=False,
    )
    since = forms.DateField(
        label=gettext_lazy("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def filtered(self, rows: "QuerySet[AuditEntry]") -> "QuerySet[AuditEntry]":
        data: dict[str, Any] = self.cleaned_data
        if data.get("who"):
            rows = rows.filter(username__icontains=data["who"])
        if data.get("action"):
            rows = rows.filter(action=data["action"])
        zone = timezone.get_current_timezone()
        if data.get("since"):
            rows = rows.filter(created_at__gte=datetime.combine(data["since"], time.min, zone))
        if data.get("until"):
            rows = rows.filter(created_at__lte=datetime.combine(data["until"], time.max, zone))
        return rows


def _row(entry: AuditEntry) -> list[str]:
    return [
        timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        entry.username,
        str(entry.get_action_display()),
        entry.target_type,
        entry.target_id,
        entry.field,
        entry.reason,
        entry.ip_address or "",
        entry.row_hash,
    ]


@never_cache  # names, addresses and what was looked at: never kept by a browser or proxy
@login_required
def audit_list(request: AuthedRequest) -> HttpResponse:
    """The audit rows of the street's staff, filtered by who, what and when; `?format=xlsx` exports them."""
    scoping.require_street_admin(request.user)
    form = AuditFilterForm(request.GET or None)
    rows = scoping.visible(request.user, AuditEntry.objects.all()).order_by("-created_at", "-id")
    if form.is_bound and form.is_valid():
        rows = form.filtered(rows)
    if request.GET.get("format") == "xlsx" and (not form.is_bound or form.is_valid()):
        return _export(request, rows, form)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(request, "core/audit_list.html", {"form": form, "page": page, "query": query.urlencode()})


def _export(request: AuthedRequest, rows: "QuerySet[AuditEntry]", form: AuditFilterForm) -> HttpResponse:
    headers = [
        _("时间"),
        _("用户名"),
        _("操作"),
        _("对象类型"),
        _("对象编号"),
        _("字段"),
        _("事由"),
        _("IP地址"),
        _("哈希"),
    ]
    buffer = io.BytesIO()
    count = write_xlsx(
        buffer, [(_("审计记录"), headers, (_row(entry) for entry in rows[:EXPORT_LIMIT].iterator()))]
    )
    audit(
        user=request.user,
        action=AuditAction.AUDIT_EXPORT,
        request=request,
        detail={
            "rows": count,
            "filter": {k: str(v) for k, v in (form.cleaned_data if form.is_bound else {}).items() if v},
        },
    )
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate():%Y%m%d}.xlsx"'
    return response

"""The rates page: 响应率, 解决率 and 满意率 per area, cadre or department for a chosen period, with the exact
definitions, a street total and an xlsx download of the same table."""

import io
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.http import AuthedRequest
from ningju.core.models import AuditAction
from ningju.core.tables import write_xlsx
from ningju.core.workdays import calendar_warning
from ningju.demands import rates
from ningju.demands.forms import StatsPeriodForm
from ningju.registry.models import ResidentialArea

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PeriodForm(StatsPeriodForm):
    """The period and the grouping tab; every field optional."""

    by = forms.ChoiceField(
        label=gettext_lazy("分组"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("您不能按该方式查看。")},
    )

    def __init__(self, *args: Any, groupings: tuple[str, ...], today: date, **kwargs: Any) -> None:
        super().__init__(*args, today=today, **kwargs)
        self.groupings = groupings
        by = self.fields["by"]
        assert isinstance(by, forms.ChoiceField)
        by.choices = [(key, rates.GROUPINGS[key]) for key in groupings]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["by"] = data.get("by") or self.groupings[0]
        return data


def _options(request: AuthedRequest, scope: rates.RatesScope) -> tuple[PeriodForm, dict[str, Any], bool]:
    """The validated options, or (when the input is bad) the defaults, with the form carrying the errors."""
    today = timezone.localdate()
    start, end = rates.period_dates(rates.THIS_MONTH, today)
    defaults = {"period": rates.THIS_MONTH, "start": start, "end": end, "by": scope.groupings[0]}
    params = request.GET.copy()
    params.pop("format", None)
    form = PeriodForm(params or None, initial=defaults, groupings=scope.groupings, today=today)
    if not form.is_bound:
        return form, defaults, True
    if form.is_valid():
        # Shown again with the dates the named period stands for, so the date fields always say what is counted.
        shown = PeriodForm(initial=form.cleaned_data, groupings=scope.groupings, today=today)
        return shown, form.cleaned_data, True
    # Keep the tab the user asked for where it is one of theirs, so an error in the dates does not move them.
    by = params.get("by")
    return form, {**defaults, "by": by if by in scope.groupings else defaults["by"]}, False


def _demand_list_url() -> str:
    """The full demand list, if it is installed; the rates page leaves its cells unlinked without it."""
    try:
        return reverse("demand_all")
    except NoReverseMatch:
        return ""


def _query(options: dict[str, Any], **changes: str) -> str:
    values = {
        "period": options["period"],
        "by": options["by"],
        **(
            {"start": options["start"].isoformat(), "end": options["end"].isoformat()}
            if options["period"] == rates.CUSTOM
            else {}
        ),
        **changes,
    }
    return urlencode(values)


@login_required
def rates_page(request: AuthedRequest) -> HttpResponse:
    scope = rates.rates_scope(request.user)
    form, options, valid = _options(request, scope)
    list_url = _demand_list_url()

    def area_link(area: ResidentialArea) -> str:
        """The list of the area's demands received in the period (the population of the row, merged ones aside)."""
        if not list_url:
            return ""
        period = {"created_from": options["start"].isoformat(), "created_to": options["end"].isoformat()}
        return f"{list_url}?{urlencode({'area': area.code, **period})}"

    table = rates.rate_table(scope, options["by"], options["start"], options["end"], area_link=area_link)

    if request.GET.get("format") == "xlsx":
        if not valid:
            return render(
                request, "demands/rates.html", _context(request, scope, form, options, table), status=400
            )
        if not scoping.can_export(request.user):
            raise PermissionDenied(_("您的角色不能导出统计表。"))
        return _xlsx(request, table)

    template = "demands/rates.html#table" if request.htmx else "demands/rates.html"
    return render(request, template, _context(request, scope, form, options, table))


def _context(
    request: AuthedRequest,
    scope: rates.RatesScope,
    form: PeriodForm,
    options: dict[str, Any],
    table: rates.RateTable,
) -> dict[str, Any]:
    return {
        "form": form,
        "options": options,
        "scope": scope,
        "table": table,
        # Each row with its cells as (column, rate), the street total last.
        "lines": [(row, list(zip(table.columns, row.rates, strict=True))) for row in [*table.rows, table.total]],
        "tabs": [
            {
                "key": key,
                "label": rates.GROUPINGS[key],
                "query": _query(options, by=key),
                "current": key == table.by,
            }
            for key in scope.groupings
        ],
        "xlsx_query": _query(options, format="xlsx"),
        "may_export": scoping.can_export(request.user),
        "definitions": rates.definitions(scope.limits),
        "warning": calendar_warning(options["start"], options["end"]),
    }


def _xlsx(request: AuthedRequest, table: rates.RateTable) -> HttpResponse:
    buffer = io.BytesIO()
    title = _("%(by)s统计") % {"by": rates.GROUPINGS[table.by]}
    count = write_xlsx(buffer, [(title, table.headers(), table.sheet_rows())])
    audit(
        user=request.user,
        action=AuditAction.EXPORT,
        target_type="demands.rates",
        detail={"rows": count, "by": table.by, "start": table.start.isoformat(), "end": table.end.isoformat()},
        request=request,
    )
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    name = f"rates-{table.by}-{table.start.isoformat()}-{table.end.isoformat()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns: list[URLPattern] = [
    path("rates/", rates_page, name="demand_rates"),
]

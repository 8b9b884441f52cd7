"""Assessment pages (考核评议): the live scorecards of cadres and areas for a period with the formula, its xlsx, the
street administrator's weights (with their history), issuing a scorecard, and an issued scorecard as it was issued."""

import io
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.models import AuditAction
from ningju.core.tables import write_xlsx
from ningju.core.workdays import calendar_warning
from ningju.demands import rates
from ningju.demands.views.rates import PeriodForm
from ningju.meetings import assessment
from ningju.meetings.models import ScorecardIssue, ScorecardSubject, ScoreWeights

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50
SUBJECTS = (assessment.CADRE, assessment.AREA)
SORTS = ("total", "name", *assessment.INDICATOR_KEYS)


def _require_viewer(request: AuthedRequest) -> None:
    if not assessment.may_see_scorecards(request.user):
        raise PermissionDenied(_("您的角色不能查看考核评议。"))


def _options(request: AuthedRequest) -> tuple[PeriodForm, dict[str, Any], bool]:
    """The period and tab asked for (validated like the rates page), or the defaults with the form's errors."""
    today = timezone.localdate()
    start, end = rates.period_dates(rates.THIS_MONTH, today)
    defaults = {"period": rates.THIS_MONTH, "start": start, "end": end, "by": assessment.CADRE}
    params = request.GET.copy() if request.method == "GET" else request.POST.copy()
    for name in ("format", "sort", "page", "area", "csrfmiddlewaretoken"):
        params.pop(name, None)
    form = PeriodForm(params or None, initial=defaults, groupings=SUBJECTS, today=today)
    form.fields["by"].choices = [(key, ScorecardSubject(key).label) for key in SUBJECTS]  # type: ignore[attr-defined]
    if not form.is_bound:
        return form, defaults, True
    if form.is_valid():
        shown = PeriodForm(initial=form.cleaned_data, groupings=SUBJECTS, today=today)
        return shown, form.cleaned_data, True
    by = params.get("by")
    return form, {**defaults, "by": by if by in SUBJECTS else defaults["by"]}, False


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


def _sorted(rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """By rank (the total) unless another column is asked for; rows without a score go last."""
    if sort == "name":
        return sorted(rows, key=lambda r: (r["area"], r["label"]))
    if sort in assessment.INDICATOR_KEYS:
        return sorted(
            rows,
            key=lambda r: (
                r["indicators"][sort]["score"] is None,
                -(r["indicators"][sort]["score"] or 0),
                r["rank"],
            ),
        )
    return sorted(rows, key=lambda r: r["rank"])


def _lines(request: AuthedRequest, subject: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as the template reads them: cells in indicator order, own row marked."""
    return [
        {
            **row,
            "own": assessment.is_own(request.user, subject, row),
            "cells": [
                (indicator, row["indicators"].get(indicator.key, {"text": "—", "score": None}))
                for indicator in assessment.INDICATORS
            ],
        }
        for row in rows
    ]


def _groups(rows: list[dict[str, Any]], link: Callable[[int], str]) -> list[dict[str, Any]]:
    """One summary line per area of the cadre rows: how many cadres, their mean total and their best and worst
    street-wide ranks, with the link that opens the area's cadres."""
    by_area: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_area.setdefault(row["area_id"], []).append(row)
    groups = []
    for area_id, members in by_area.items():
        scored = [r["score"] for r in members if r["score"] is not None]
        ranks = [r["rank"] for r in members if r["score"] is not None]
        groups.append(
            {
                "area_id": area_id,
                "area": members[0]["area"],
                "count": len(members),
                "mean": round(sum(scored) / len(scored), 2) if scored else None,
                "best": min(ranks, default=None),
                "worst": max(ranks, default=None),
                "query": link(area_id),
            }
        )
    return sorted(groups, key=lambda g: (g["mean"] is None, -(g["mean"] or 0), g["area"]))


def _area_asked(request: AuthedRequest, rows: list[dict[str, Any]]) -> int | None:
    """The area whose cadres are asked for, if it is one of the areas among the rows the user may see."""
    asked = request.GET.get("area", "")
    return int(asked) if asked.isdigit() and any(r["area_id"] == int(asked) for r in rows) else None


def _issues(request: AuthedRequest) -> Any:
    issues = scoping.visible(request.user, ScorecardIssue.objects.select_related("issued_by"))
    return Paginator(issues.order_by("-issued_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
def scorecards(request: AuthedRequest) -> HttpResponse:
    _require_viewer(request)
    if request.method == "POST":
        return _issue(request)
    form, options, valid = _options(request)
    street = assessment.viewer_street(request.user)
    subject = options["by"]
    card = assessment.scorecard_cached(street, subject, options["start"], options["end"])
    rows = assessment.visible_rows(request.user, subject, [row.as_json() for row in card.rows])
    sort = request.GET.get("sort", "total")
    sort = sort if sort in SORTS else "total"

    if request.GET.get("format") == "xlsx":
        if not valid:
            return render(
                request, "meetings/assessment.html", _context(request, form, options, card, rows, sort), status=400
            )
        if not scoping.can_export(request.user):
            raise PermissionDenied(_("您的角色不能导出统计表。"))
        return _xlsx(request, subject, options, card.weights, rows)

    template = "meetings/assessment.html#table" if request.htmx else "meetings/assessment.html"
    return render(request, template, _context(request, form, options, card, rows, sort))


def _context(
    request: AuthedRequest,
    form: PeriodForm,
    options: dict[str, Any],
    card: assessment.Scorecard,
    rows: list[dict[str, Any]],
    sort: str,
) -> dict[str, Any]:
    subject = options["by"]
    # The street administrator's cadre tab has hundreds of rows: one summary line per area, an area's cadres on
    # demand (`area`); an area head's and a cadre's rows are one area already.
    grouped = subject == assessment.CADRE and len({r["area_id"] for r in rows}) > 1
    area = _area_asked(request, rows) if grouped else None
    shown = [r for r in rows if r["area_id"] == area] if area is not None else rows
    return {
        "form": form,
        "options": options,
        "card": card,
        "subject": subject,
        "groups": _groups(rows, lambda pk: _query(options, area=str(pk), sort=sort))
        if grouped and area is None
        else [],
        "area": area,
        "area_name": shown[0]["area"] if area is not None else "",
        "all_query": _query(options, sort=sort),
        "lines": [] if grouped and area is None else _lines(request, subject, _sorted(shown, sort)),
        "sparse_rule": assessment.SPARSE_RULE,
        "min_sample": assessment.MIN_RATE_SAMPLE,
        "indicators": assessment.INDICATORS,
        "columns": [(i, card.weights.get(i.key, 0)) for i in assessment.INDICATORS],
        "sort": sort,
        "sorts": [
            {
                "key": key,
                "query": _query(options, sort=key, **({"area": str(area)} if area else {})),
                "current": key == sort,
            }
            for key in ("total", "name")
        ],
        "tabs": [
            {
                "key": key,
                "label": ScorecardSubject(key).label,
                "query": _query(options, by=key),
                "current": key == subject,
            }
            for key in SUBJECTS
        ],
        "xlsx_query": _query(options, format="xlsx", sort=sort),
        "may_export": scoping.can_export(request.user),
        "may_issue": scoping.is_street_admin(request.user),
        "formula": assessment.FORMULA,
        "formula_note": assessment.FORMULA_NOTE,
        "issues": _issues(request),
        "warning": calendar_warning(options["start"], options["end"]),
    }


def _issue(request: AuthedRequest) -> HttpResponse:
    """POST: the street administrator freezes the scorecard of the period and tab shown."""
    scoping.require_street_admin(request.user)
    _form, options, valid = _options(request)
    if not valid:
        messages.error(request, _("统计期间有误，未发布。"))
        return redirect("scorecards")
    try:
        issue = assessment.scorecard_issue_create(
            user=request.user, subject=options["by"], start=options["start"], end=options["end"]
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("scorecards")
    messages.success(request, _("考核评议结果已发布。"))
    return redirect("scorecard_issue", pk=issue.pk)


def _sheet_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    lines = []
    for row in rows:
        cells: list[Any] = [row["rank"], row["label"], row["area"]]
        for indicator in assessment.INDICATORS:
            cell = row["indicators"].get(indicator.key, {})
            score = cell.get("score")
            cells += [cell.get("text", "—"), "—" if score is None else round(100 * score, 1)]
        cells.append("—" if row["score"] is None else row["score"])
        lines.append(cells)
    return lines


def _headers() -> list[str]:
    headers = [_("名次"), _("名称"), _("居民区")]
    for indicator in assessment.INDICATORS:
        headers += [str(indicator.label), _("%(name)s得分") % {"name": indicator.label}]
    headers.append(_("总分"))
    return headers


def _xlsx(
    request: AuthedRequest,
    subject: str,
    options: dict[str, Any],
    weights: dict[str, int],
    rows: list[dict[str, Any]],
) -> HttpResponse:
    buffer = io.BytesIO()
    weight_rows = [[str(indicator.label), weights.get(indicator.key, 0)] for indicator in assessment.INDICATORS]
    write_xlsx(
        buffer,
        [
            (_("%(subject)s考核") % {"subject": ScorecardSubject(subject).label}, _headers(), _sheet_rows(rows)),
            (_("权重"), [_("指标"), _("权重")], [*weight_rows, [str(assessment.FORMULA), ""]]),
        ],
    )
    audit(
        user=request.user,
        action=AuditAction.EXPORT,
        target_type="meetings.scorecards",
        detail={
            "rows": len(rows),
            "subject": subject,
            "start": options["start"].isoformat(),
            "end": options["end"].isoformat(),
        },
        request=request,
    )
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    name = f"scorecards-{subject}-{options['start'].isoformat()}-{options['end'].isoformat()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    add_never_cache_headers(response)  # cadres' names and scores: no copy kept by a browser or proxy
    return response


# --- weights ----------------------------------------------------------------------------------------------------


class WeightsForm(forms.Form):
    """One whole number from 0 to 100 per indicator."""

    def __init__(self, *args: Any, weights: dict[str, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for indicator in assessment.INDICATORS:
            self.fields[indicator.key] = forms.IntegerField(
                label=str(indicator.label),
                min_value=0,
                max_value=assessment.MAX_WEIGHT,
                initial=weights.get(indicator.key, 0),
                widget=forms.NumberInput({"inputmode": "numeric", "min": 0, "max": assessment.MAX_WEIGHT}),
                error_messages={
                    "required": gettext_lazy("请填写权重。"),
                    "invalid": gettext_lazy("权重须为 0 至 100 的整数。"),
                    "min_value": gettext_lazy("权重须为 0 至 100 的整数。"),
                    "max_value": gettext_lazy("权重须为 0 至 100 的整数。"),
                },
            )

    def rows(self) -> list[tuple[forms.BoundField, Any]]:
        return [(self[indicator.key], indicator) for indicator in assessment.INDICATORS]


@login_required
def scorecard_weights(request: AuthedRequest) -> HttpResponse:
    scoping.require_street_admin(request.user)
    assert request.user.street_id is not None
    current = assessment.weights_for(request.user.street_id)
    form = WeightsForm(request.POST or None, weights=current)
    if request.method == "POST" and form.is_valid():
        try:
            assessment.score_weights_set(user=request.user, weights=dict(form.cleaned_data))
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("考核权重已保存，之后计算的考核结果按新权重计算。"))
            return redirect("scorecard_weights")
    history = Paginator(
        ScoreWeights.objects.filter(street=request.user.street_id).select_related("set_by"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "meetings/assessment_weights.html",
        {
            "form": form,
            "formula": assessment.FORMULA,
            "formula_note": assessment.FORMULA_NOTE,
            "indicators": assessment.INDICATORS,
            "defaults": assessment.DEFAULT_WEIGHTS,
            "history": history,
            "history_rows": [
                (entry, [(i.label, entry.weights.get(i.key, "—")) for i in assessment.INDICATORS])
                for entry in history
            ],
        },
    )


# --- an issued scorecard ----------------------------------------------------------------------------------------


@login_required
def scorecard_issue(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_viewer(request)
    issue = scoping.get_for_user(request.user, ScorecardIssue.objects.select_related("issued_by"), pk=pk)
    rows = assessment.visible_rows(request.user, issue.subject, list(issue.rows))
    weights = issue.weights if isinstance(issue.weights, dict) else {}
    # Grouped by area like the live page: an issued cadre scorecard of a street has hundreds of rows.
    grouped = issue.subject == assessment.CADRE and len({r.get("area_id") for r in rows}) > 1
    area = _area_asked(request, rows) if grouped else None
    shown = [r for r in rows if r.get("area_id") == area] if area is not None else rows
    return render(
        request,
        "meetings/assessment_issue.html",
        {
            "issue": issue,
            "groups": _groups(rows, lambda pk: urlencode({"area": pk})) if grouped and area is None else [],
            "area": area,
            "area_name": shown[0]["area"] if area is not None else "",
            "all_query": "",
            "lines": []
            if grouped and area is None
            else _lines(request, issue.subject, sorted(shown, key=lambda r: r["rank"])),
            "indicators": assessment.INDICATORS,
            "columns": [(i, weights.get(i.key, "—")) for i in assessment.INDICATORS],
            "weight_rows": [(i.label, weights.get(i.key, "—")) for i in assessment.INDICATORS],
            "formula": assessment.FORMULA,
            "formula_note": assessment.FORMULA_NOTE,
            "sparse_rule": assessment.SPARSE_RULE,
        },
    )


urlpatterns: list[URLPattern] = [
    path("assessment/", scorecards, name="scorecards"),
    path("assessment/weights/", scorecard_weights, name="scorecard_weights"),
    path("assessment/<int:pk>/", scorecard_issue, name="scorecard_issue"),
]

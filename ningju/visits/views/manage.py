"""Pages that set visits up: pairing cadres with buildings (走访包联), the visit rules, the working-day calendar.

Each view fetches through the scoping helper, validates with a form, calls one service, renders or redirects.
"""

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ningju.core import calendar_services, scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.models import CalendarYear, Role
from ningju.core.workdays import YearSource, calendar_warning
from ningju.registry.models import ResidentialArea, Street
from ningju.visits import pairing, rule_services
from ningju.visits.forms_manage import (
    CalendarYearForm,
    HandOverForm,
    PairingTableForm,
    ProposalAcceptForm,
    RuleCreateForm,
    RulesForm,
)
from ningju.visits.models import VisitRule
from ningju.visits.rules import RuleBook, ensure_rules, settings_for

# Distinct colours for up to ten cadres on the pairing map (then they repeat).
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
MAP_SIZE = 320  # the SVG map is drawn in a square of this many units


# --- pairing ---------------------------------------------------------------------------------------------------


@login_required
def pairing_index(request: AuthedRequest) -> HttpResponse:
    """An area user goes straight to their area; the street administrator picks one."""
    if request.user.role in (Role.AREA_HEAD, Role.CADRE) and request.user.area is not None:
        return redirect("pairing_area", code=request.user.area.code)
    summaries = pairing.areas_for_pairing(request.user)
    if not summaries:
        raise PermissionDenied(_("您无权查看走访包联。"))
    return render(request, "visits/pairing_index.html", {"summaries": summaries})


def _area_for(request: AuthedRequest, code: str) -> ResidentialArea:
    return scoping.get_for_user(request.user, ResidentialArea.objects.select_related("street"), code=code)


def _map(
    rows: list[pairing.PairingRow], cadre_ids: list[int], office: tuple[float, float] | None
) -> dict[str, Any]:
    """Points for the SVG map: each building/site in its cadre's colour, the office as a square."""
    places = [(r.lat, r.lng) for r in rows]
    if not places:
        return {"points": [], "size": MAP_SIZE}
    origin = (sum(p[0] for p in places) / len(places), sum(p[1] for p in places) / len(places))
    xy = pairing.to_metres([*places, *([office] if office else [])], origin)
    xs, ys = [p[0] for p in xy], [p[1] for p in xy]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    margin = 12

    def fit(x: float, y: float) -> tuple[float, float]:
        scale = (MAP_SIZE - 2 * margin) / span
        return round(margin + (x - min(xs)) * scale, 1), round(MAP_SIZE - margin - (y - min(ys)) * scale, 1)

    colour = {pk: PALETTE[n % len(PALETTE)] for n, pk in enumerate(cadre_ids)}
    points = [
        {
            "x": fit(*xy[n])[0],
            "y": fit(*xy[n])[1],
            "colour": colour.get(row.cadre_id or 0, "#bbbbbb"),
            "site": row.kind == pairing.SITE,
            "label": row.label,
        }
        for n, row in enumerate(rows)
    ]
    result: dict[str, Any] = {"points": points, "size": MAP_SIZE, "span_m": round(span)}
    if office:
        x, y = fit(*xy[-1])
        result["office"] = {"x": x - 6, "y": y - 6}  # the top-left corner of a 12-unit square
    return result


def _office(area: ResidentialArea) -> tuple[float, float] | None:
    if area.office_lat is None or area.office_lng is None:
        return None
    return (area.office_lat, area.office_lng)


@login_required
def pairing_area(request: AuthedRequest, code: str) -> HttpResponse:
    area = _area_for(request, code)
    can_manage = pairing.can_manage_pairing(request.user, area)
    cadres = pairing.area_cadres(area)
    rows = pairing.pairing_rows(area)
    form = PairingTableForm(request.POST or None, rows=rows, cadres=cadres)
    if request.method == "POST":
        pairing.require_manage_pairing(request.user, area)
        if form.is_valid():
            assignment = form.assignment()
            if not assignment:
                messages.info(request, _("没有需要保存的更改。"))
                return redirect("pairing_area", code=area.code)
            try:
                changed = pairing.pairing_apply(user=request.user, area=area, assignment=assignment)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request, _("已调整%(n)d处包联，原包联记录已结束并保留在历史中。") % {"n": changed}
                )
                return redirect("pairing_area", code=area.code)
    colours = {c.pk: PALETTE[n % len(PALETTE)] for n, c in enumerate(cadres)}
    return render(
        request,
        "visits/pairing_area.html",
        {
            "area": area,
            "rows": rows,
            "cadres": cadres,
            "workloads": [(w, colours[w.cadre.pk]) for w in pairing.workloads(cadres, rows)],
            "unpaired": sum(1 for r in rows if r.cadre_id is None),
            "form": form,
            "hand_over_form": HandOverForm(cadres=cadres),
            "can_manage": can_manage,
            "map": _map(rows, [c.pk for c in cadres], _office(area)),
        },
    )


@login_required
def pairing_proposal(request: AuthedRequest, code: str) -> HttpResponse:
    """GET: the automatic proposal as a preview (optionally without a leaving cadre); POST: accept it."""
    area = _area_for(request, code)
    pairing.require_manage_pairing(request.user, area)
    if request.method == "POST":
        accept = ProposalAcceptForm(request.POST)
        if not accept.is_valid():
            messages.error(request, " ".join(str(e) for e in accept.errors.get("plan", [])))
            return redirect("pairing_proposal", code=area.code)
        try:
            changed = pairing.pairing_apply(user=request.user, area=area, assignment=accept.cleaned_data["plan"])
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("pairing_proposal", code=area.code)
        messages.success(request, _("已采用自动方案：%(n)d处包联有变动，历史已保留。") % {"n": changed})
        return redirect("pairing_area", code=area.code)

    without = [int(v) for v in request.GET.getlist("without") if v.isdigit()]
    book = RuleBook(area.street)
    try:
        proposal = pairing.propose_pairings(area, exclude=without, book=book)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("pairing_area", code=area.code)
    cadres = pairing.area_cadres(area)
    rows = pairing.pairing_rows(area, book)
    proposed_rows = pairing.rows_under(proposal, rows)
    moves = [(r, p) for r, p in zip(rows, proposed_rows, strict=True) if r.cadre_id != p.cadre_id]
    by_pk = {c.pk: c for c in cadres}
    colours = {c.pk: PALETTE[n % len(PALETTE)] for n, c in enumerate(cadres)}
    return render(
        request,
        "visits/pairing_proposal.html",
        {
            "area": area,
            "workloads": [(w, colours[w.cadre.pk]) for w in pairing.proposal_workloads(proposal, cadres, rows)],
            "moves": [(r, by_pk.get(r.cadre_id or 0), by_pk.get(p.cadre_id or 0)) for r, p in moves],
            "leaving": [by_pk[pk] for pk in without if pk in by_pk],
            "accept_form": ProposalAcceptForm(initial={"plan": ProposalAcceptForm.encode(proposal.assignment())}),
            "map": _map(proposed_rows, [c.pk for c in cadres], _office(area)),
        },
    )


@login_required
@require_POST
def pairing_hand_over(request: AuthedRequest, code: str) -> HttpResponse:
    """干部离岗: hand everything to one successor now, or go to a new proposal among the remaining cadres."""
    area = _area_for(request, code)
    pairing.require_manage_pairing(request.user, area)
    form = HandOverForm(request.POST, cadres=pairing.area_cadres(area))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("pairing_area", code=area.code)
    leaving, successor = form.cleaned_data["leaving"], form.cleaned_data["successor"]
    if successor is None:
        return redirect(f"{reverse('pairing_proposal', kwargs={'code': area.code})}?without={leaving.pk}")
    try:
        changed = pairing.pairing_hand_over(user=request.user, area=area, leaving=leaving, successor=successor)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(leaving)s的%(n)d处包联已移交给%(successor)s，历史已保留。")
            % {"leaving": leaving.display_name, "n": changed, "successor": successor.display_name},
        )
    return redirect("pairing_area", code=area.code)


# --- visit rules -----------------------------------------------------------------------------------------------


def _street_of(request: AuthedRequest) -> Street:
    street_id = scoping.user_street_id(request.user)
    if street_id is None:
        raise PermissionDenied(_("您无权查看走访规则。"))
    return Street.objects.get(pk=street_id)


RULE_ORDER = {VisitRule.Target.HOUSEHOLD: 0, VisitRule.Target.TAG: 1, VisitRule.Target.PATROL_TYPE: 2}


def _rules_of(street: Street) -> list[VisitRule]:
    """The default rule first, then tags, then patrol site types, each in their own order."""

    def key(rule: VisitRule) -> tuple[int, int, str]:
        subject = rule.tag or rule.patrol_type
        return (
            RULE_ORDER.get(VisitRule.Target(rule.target), 3),
            subject.sort_order if subject else 0,
            str(subject or ""),
        )

    return sorted(VisitRule.objects.filter(street=street).select_related("tag", "patrol_type"), key=key)


@login_required
def visit_rules(request: AuthedRequest) -> HttpResponse:
    street = _street_of(request)
    can_edit = scoping.is_street_admin(request.user)
    rules = _rules_of(street)
    form = RulesForm(request.POST or None, rules=rules, settings=settings_for(street))
    if request.method == "POST":
        scoping.require_street_admin(request.user)
        if form.is_valid():
            try:
                changed = rule_services.rules_update(
                    user=request.user,
                    street=street,
                    changes=form.changes(),
                    min_households_per_day=form.cleaned_data["min_households_per_day"],
                    max_households_per_day=form.cleaned_data["max_households_per_day"],
                    gps_flag_metres=form.cleaned_data["gps_flag_metres"],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("走访规则已保存（%(n)d条规则有变动）。") % {"n": changed})
                return redirect("visit_rules")
    return render(
        request,
        "visits/rules.html",
        {
            "street": street,
            "form": form,
            "create_form": RuleCreateForm(street=street, rules=rules) if can_edit else None,
            "can_edit": can_edit,
        },
    )


@login_required
@require_POST
def visit_rule_create(request: AuthedRequest) -> HttpResponse:
    street = _street_of(request)
    scoping.require_street_admin(request.user)
    form = RuleCreateForm(request.POST, street=street, rules=_rules_of(street))
    if not form.is_valid():
        messages.error(request, _("请选择适用对象和频次。"))
        return redirect("visit_rules")
    tag, patrol_type = form.chosen()
    try:
        rule = rule_services.rule_create(
            user=request.user,
            street=street,
            interval=form.cleaned_data["interval"],
            tag=tag,
            patrol_type=patrol_type,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("已新增走访规则：%(rule)s") % {"rule": rule})
    return redirect("visit_rules")


@login_required
@require_POST
def visit_rules_defaults(request: AuthedRequest) -> HttpResponse:
    """Add the default rules that are missing (e.g. for a must-visit tag created since); edited ones stay."""
    street = _street_of(request)
    scoping.require_street_admin(request.user)
    before = VisitRule.objects.filter(street=street).count()
    ensure_rules(street)
    added = VisitRule.objects.filter(street=street).count() - before
    messages.success(request, _("已补齐默认规则（新增%(n)d条），已修改的规则保持不变。") % {"n": added})
    return redirect("visit_rules")


# --- working-day calendar --------------------------------------------------------------------------------------


@login_required
def workday_calendar(request: AuthedRequest) -> HttpResponse:
    """This year and next (and any entered year): where each comes from; the administrator enters a year."""
    can_edit = scoping.is_street_admin(request.user)
    today = timezone.localdate()
    form: CalendarYearForm | None = None
    errors: list[str] = []
    if request.method == "POST":
        scoping.require_street_admin(request.user)
        form = CalendarYearForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                calendar_services.calendar_year_enter(
                    user=request.user,
                    year=data["year"],
                    holidays_text=data["holidays"],
                    workdays_text=data["workdays"],
                    notice=data["notice"],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
                errors = list(error.extra.get("errors", []))
            else:
                messages.success(request, _("%(year)d年的节假日安排已保存。") % {"year": data["year"]})
                return redirect("workday_calendar")

    years = sorted(
        {today.year, today.year + 1, *CalendarYear.objects.filter(entered=True).values_list("year", flat=True)}
    )
    views = [calendar_services.year_view(y) for y in years]
    if can_edit and form is None:
        form = _calendar_form_for(request, views, today)
    sources = {
        YearSource.PACKAGE: _("国务院公布的安排（日历组件 chinesecalendar 已收录）"),
        YearSource.ENTERED: _("街道管理员录入的官方安排"),
        YearSource.WEEKENDS_ONLY: _("尚无官方安排：暂按周一至周五为工作日计算"),
    }
    return render(
        request,
        "visits/calendar.html",
        {
            "years": [(v, sources[v.source]) for v in views],
            "warning": calendar_warning(*(date(y, 6, 1) for y in (today.year, today.year + 1))),
            "form": form if can_edit else None,
            "errors": errors,
            "can_edit": can_edit,
        },
    )


def _calendar_form_for(
    request: AuthedRequest, views: list[calendar_services.YearView], today: date
) -> CalendarYearForm:
    """The entry form for ?year=, or for the first year that still needs entering, filled with what is stored."""
    wanted = request.GET.get("year", "")
    editable = [v for v in views if v.editable]
    chosen = next((v for v in editable if str(v.year) == wanted), None) or next(
        (v for v in editable if v.source == YearSource.WEEKENDS_ONLY), editable[0] if editable else None
    )
    if chosen is None:
        return CalendarYearForm(initial={"year": today.year + 1})
    holidays, workdays = calendar_services.arrangement_texts(chosen.arrangement)
    return CalendarYearForm(
        initial={
            "year": chosen.year,
            "holidays": holidays,
            "workdays": workdays,
            "notice": chosen.record.notice if chosen.record else "",
        }
    )


urlpatterns = [
    path("pairing/", pairing_index, name="pairing_index"),
    path("pairing/<str:code>/", pairing_area, name="pairing_area"),
    path("pairing/<str:code>/proposal/", pairing_proposal, name="pairing_proposal"),
    path("pairing/<str:code>/hand-over/", pairing_hand_over, name="pairing_hand_over"),
    path("rules/", visit_rules, name="visit_rules"),
    path("rules/new/", visit_rule_create, name="visit_rule_create"),
    path("rules/defaults/", visit_rules_defaults, name="visit_rules_defaults"),
    path("calendar/", workday_calendar, name="workday_calendar"),
]

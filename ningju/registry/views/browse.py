"""Registry pages: browse areas → compounds → buildings → households, correct data, reveal, search, tags.

Each view fetches through the scoping helper, validates with a form, calls one service, renders or redirects.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.registry import permissions, selectors, services
from ningju.registry.forms import ContactRevealForm, HouseholdForm, ResidentForm, RevealForm, TagForm
from ningju.registry.models import Building, Compound, Household, Resident, ResidentialArea, Tag

PAGE_SIZE = 50


def paginate(request: AuthedRequest, items: Any, size: int = PAGE_SIZE) -> Any:
    return Paginator(items, size).get_page(request.GET.get("page"))


@login_required
def area_list(request: AuthedRequest) -> HttpResponse:
    areas = selectors.areas_with_counts(request.user)
    totals = {
        key: sum(getattr(a, key) for a in areas)
        for key in (
            "compound_count",
            "building_count",
            "household_count",
            "resident_count",
            "must_visit_count",
        )
    }
    return render(request, "registry/area_list.html", {"areas": areas, "totals": totals})


@login_required
def area_detail(request: AuthedRequest, code: str) -> HttpResponse:
    area = scoping.get_for_user(request.user, ResidentialArea.objects.select_related("street"), code=code)
    compounds = selectors.compounds_with_counts(request.user, area)
    return render(request, "registry/area_detail.html", {"area": area, "page": paginate(request, compounds)})


@login_required
def compound_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    compound = scoping.get_for_user(request.user, Compound.objects.select_related("area"), pk=pk)
    buildings = selectors.buildings_with_counts(request.user, compound)
    return render(
        request,
        "registry/compound_detail.html",
        {
            "compound": compound,
            "page": paginate(request, buildings),
            "can_reveal_contacts": permissions.can_reveal_compound_contact(request.user, compound),
            "reveal_form": ContactRevealForm(),
        },
    )


@never_cache  # the answer holds a clear phone number
@login_required
@require_POST
def compound_contact_reveal(request: AuthedRequest, pk: int) -> HttpResponse:
    """Show a compound's contact line in clear, once, for a stated reason (htmx partial or a page)."""
    compound = scoping.get_for_user(request.user, Compound.objects.select_related("area"), pk=pk)
    return _reveal_page(
        request,
        ContactRevealForm(request.POST),
        {"compound": compound},
        lambda field, reason: services.compound_contact_reveal(
            user=request.user, compound=compound, field=field, reason=reason, request=request
        ),
        template="registry/compound_reveal.html",
        invalid=_("请选择要查看的联系人并填写查看事由（至少2个字）。"),
    )


def _reveal_page(
    request: AuthedRequest,
    form: forms.Form,
    context: dict[str, Any],
    reveal: Callable[[str, str], str],
    *,
    template: str,
    invalid: str,
) -> HttpResponse:
    """One reveal answer for every identifier: the form asks which field and why, the service checks, reveals and
    audits; the clear value or the refusal is rendered as the page, or its `#result` partial for htmx."""
    if not form.is_valid():
        context["error"] = invalid
    else:
        try:
            context["value"] = reveal(form.cleaned_data["field"], form.cleaned_data["reason"])
        except ApplicationError as error:
            context["error"] = error.message
    name = f"{template}#result" if request.htmx else template
    return render(request, name, context, status=400 if "error" in context else 200)


@login_required
def building_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    building = scoping.get_for_user(request.user, Building.objects.select_related("compound__area"), pk=pk)
    households = selectors.households_of_building(request.user, building)
    return render(
        request,
        "registry/building_detail.html",
        {"building": building, "page": paginate(request, households)},
    )


@login_required
def household_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    household = selectors.household_for_page(request.user, pk)
    return render(
        request,
        "registry/household_detail.html",
        {
            "household": household,
            "residents": household.residents.all(),
            "history": selectors.household_history(household),
            "can_change": scoping.can_change(request.user, household),
            "can_reveal": scoping.can_reveal(request.user, household),
            "reveal_form": RevealForm(),
        },
    )


@login_required
def household_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    household = selectors.household_for_page(request.user, pk)
    if not scoping.can_change(request.user, household):
        raise PermissionDenied(_("您无权修改该记录。"))
    form = (
        HouseholdForm(request.POST, user=request.user)
        if request.method == "POST"
        else HouseholdForm.for_household(household, user=request.user)
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        tags, reason = data.pop("tags"), data.pop("change_reason")
        try:
            services.household_update(
                user=request.user, household=household, tags=list(tags), change_reason=reason, **data
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("户信息已保存，修改已记入历史。"))
            return redirect("household_detail", pk=household.pk)
    return render(request, "registry/household_edit.html", {"household": household, "form": form})


@login_required
def resident_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    resident = scoping.get_for_user(
        request.user, Resident.objects.select_related("household__building").prefetch_related("tags"), pk=pk
    )
    if not scoping.can_change(request.user, resident):
        raise PermissionDenied(_("您无权修改该记录。"))
    if request.method == "POST":
        form = ResidentForm(request.POST, user=request.user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            tags, reason = data.pop("tags"), data.pop("change_reason")
            for key in ("id_number", "phone"):  # empty means "keep what is stored"
                if not data[key]:
                    data.pop(key)
            try:
                services.resident_update(
                    user=request.user, resident=resident, tags=list(tags), change_reason=reason, **data
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("居民信息已保存，修改已记入历史。"))
                return redirect("household_detail", pk=resident.household_id)
    else:
        form = ResidentForm(
            user=request.user,
            initial={
                "name": resident.name,
                "gender": resident.gender,
                "birth_date": resident.birth_date,
                "relation": resident.relation,
                "active": resident.active,
                "notes": resident.notes,
                "tags": list(resident.tags.all()),
            },
        )
    return render(request, "registry/resident_edit.html", {"resident": resident, "form": form})


@never_cache  # the answer holds a clear ID or phone number
@login_required
@require_POST
def resident_reveal(request: AuthedRequest, pk: int) -> HttpResponse:
    """Show one identifier in clear, once, for a stated reason. Returns the partial for htmx, a page otherwise."""
    resident = scoping.get_for_user(request.user, Resident.objects.all(), pk=pk)
    return _reveal_page(
        request,
        RevealForm(request.POST),
        {"resident": resident, "field": request.POST.get("field", "")},
        lambda field, reason: services.resident_reveal(
            user=request.user, resident=resident, field=field, reason=reason, request=request
        ),
        template="registry/reveal.html",
        invalid=_("请选择要查看的字段并填写查看事由（至少2个字）。"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def search(request: AuthedRequest) -> HttpResponse:
    """The query travels in a POST body, never in the URL: a full phone or ID number in a URL would be written to
    the access log and the browser's history. A GET shows the empty form (an old link's ?q= is not searched)."""
    query = request.POST.get("q", "") if request.method == "POST" else ""
    page = request.POST.get("page")
    found = selectors.search(request.user, query)
    context = {
        "q": query,
        "by": found["by"],
        "residents": Paginator(found["residents"].order_by("name", "id"), 30).get_page(page),
        "households": Paginator(found["households"].order_by("building__road", "room"), 30).get_page(page),
    }
    template = "registry/search.html#results" if request.htmx else "registry/search.html"
    return render(request, template, context)


@login_required
def tag_list(request: AuthedRequest) -> HttpResponse:
    tags = scoping.visible(request.user, Tag.objects.all()).annotate(
        household_count=Count(
            "households",
            filter=Q(households__in=scoping.visible(request.user, Household.objects.all())),
            distinct=True,
        ),
        resident_count=Count(
            "residents",
            filter=Q(residents__in=scoping.visible(request.user, Resident.objects.all())),
            distinct=True,
        ),
    )
    return render(
        request, "registry/tag_list.html", {"tags": tags, "can_edit": scoping.is_street_admin(request.user)}
    )


@login_required
def tag_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    scoping.require_street_admin(request.user)
    # Another street's tag is refused like any record out of scope: each street edits only its own configuration.
    tag = scoping.get_for_user(request.user, Tag.objects.all(), pk=pk) if pk else Tag()
    if request.method == "POST":
        form = TagForm(request.POST)
        if form.is_valid():
            try:
                services.tag_save(user=request.user, tag=tag, **form.cleaned_data)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("标签“%(name)s”已保存。") % {"name": tag.name})
                return redirect("tag_list")
    else:
        form = TagForm(
            initial={
                "name": tag.name,
                "category": tag.category,
                "high_risk": tag.high_risk,
                "description": tag.description,
                "sort_order": tag.sort_order,
                "active": tag.active if pk else True,
            }
        )
    return render(request, "registry/tag_edit.html", {"tag": tag, "form": form})

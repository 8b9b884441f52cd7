"""Troika pages: the phone form that records an on-site joint office, and the month × compound grid with its export.

Each view fetches through the scoping helper, validates with a form, calls one service, renders or redirects. The
forms live here because only these pages use them.
"""

import io
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.identifiers import contact_name
from ningju.core.models import User
from ningju.demands.forms import MultipleFileField
from ningju.meetings import permissions, troika
from ningju.registry.models import Compound, Department, ResidentialArea

FINDING_ROWS = 5  # enough for one walk; more go into the minutes
PAGE_SIZE = 50


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class CompoundChoice(forms.ModelChoiceField):
    show_area = False  # the street administrator picks among all areas' compounds

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.area.name} · {obj.name}" if self.show_area else str(obj.name)


class UserChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class UserChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class TroikaForm(forms.Form):
    compound = CompoundChoice(label=gettext_lazy("小区"), queryset=Compound.objects.none())
    held_at = forms.DateTimeField(
        label=gettext_lazy("时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    place = forms.CharField(label=gettext_lazy("地点"), max_length=200, required=False)
    committee = UserChoices(
        label=gettext_lazy("居委会"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("请至少选择一位居委会参会人。")},
    )
    owners = forms.CharField(
        label=gettext_lazy("业委会（每行一人）"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("请填写业委会参会人。")},
    )
    property_names = forms.CharField(
        label=gettext_lazy("物业（每行一人）"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("请填写物业参会人。")},
    )
    property_company = forms.CharField(label=gettext_lazy("物业公司"), max_length=100, required=False)
    others = forms.CharField(
        label=gettext_lazy("其他参会人（选填，每行一人，如社区民警）"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    inspected = forms.CharField(label=gettext_lazy("现场查看"), widget=forms.Textarea(attrs={"rows": 3}))
    photos = MultipleFileField(label=gettext_lazy("现场照片（选填）"))
    action_owner = UserChoice(label=gettext_lazy("行动责任人"), queryset=User.objects.none(), required=False)
    department = forms.ModelChoiceField(
        label=gettext_lazy("责任部门（选填）"), queryset=Department.objects.none(), required=False
    )
    minutes = forms.CharField(
        label=gettext_lazy("会议纪要"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def __init__(self, *args: Any, user: User, compound: Compound | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        compounds = troika.recordable_compounds(user).order_by("area__code", "name")
        field = self.fields["compound"]
        assert isinstance(field, CompoundChoice)
        field.queryset = compounds
        field.show_area = permissions.is_street_admin(user)
        committee = self.fields["committee"]
        assert isinstance(committee, forms.ModelMultipleChoiceField)
        if compound is not None:
            committee.queryset = troika.committee_users(compound)
        owner = self.fields["action_owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = troika.action_owners(user)
        department = self.fields["department"]
        assert isinstance(department, forms.ModelChoiceField)
        department.queryset = Department.objects.filter(street=scoping.user_street_id(user), active=True)
        for n in range(1, FINDING_ROWS + 1):
            self.fields[f"finding_{n}"] = forms.CharField(
                label=_("问题%(n)d") % {"n": n}, max_length=1000, required=False
            )
            self.fields[f"demand_{n}"] = forms.BooleanField(label=_("转为诉求"), required=False)
            self.fields[f"action_{n}"] = forms.BooleanField(label=_("转为行动"), required=False)

    def finding_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (self[f"finding_{n}"], self[f"demand_{n}"], self[f"action_{n}"]) for n in range(1, FINDING_ROWS + 1)
        ]

    def findings(self) -> list[troika.FindingInput]:
        data = self.cleaned_data
        return [
            troika.FindingInput(
                text=data[f"finding_{n}"], to_demand=data[f"demand_{n}"], to_action=data[f"action_{n}"]
            )
            for n in range(1, FINDING_ROWS + 1)
            if data.get(f"finding_{n}", "").strip()
        ]


def _chosen_compound(request: AuthedRequest) -> Compound | None:
    """The compound the form is about: from the posted form, the query, or the area user's only compound."""
    raw = request.POST.get("compound") or request.GET.get("compound") or ""
    if raw.isdigit():
        # Another area's compound answers like a missing one (404), before any form is shown for it.
        return scoping.get_or_404(request.user, Compound.objects.select_related("area"), pk=int(raw))
    if not permissions.is_street_admin(request.user):
        first = troika.recordable_compounds(request.user).order_by("name")[:2]
        return first[0] if len(first) == 1 else None
    return None


def _after_record(meeting_id: int) -> str:
    try:
        return reverse("meeting_detail", args=[meeting_id])
    except NoReverseMatch:
        return reverse("troika_grid")


@login_required
def troika_new(request: AuthedRequest) -> HttpResponse:
    if not troika.may_record(request.user):
        raise PermissionDenied(_("只有居民区干部和街道管理员可以记录三驾马车现场合署办公。"))
    compound = _chosen_compound(request)
    initial: dict[str, Any] = {
        "held_at": timezone.localtime().replace(second=0, microsecond=0),
        "committee": [request.user.pk] if request.user.area_id else [],
        "action_owner": request.user.pk,
    }
    if compound is not None:
        initial.update(
            compound=compound.pk,
            place=compound.name,
            owners=contact_name(compound.owners_committee_contact),
            property_names=contact_name(compound.property_contact),
            property_company=compound.property_company,
        )
    is_post = request.method == "POST"
    form = TroikaForm(
        request.POST if is_post else None,
        request.FILES if is_post else None,
        user=request.user,
        compound=compound,
        initial=initial,
    )
    if is_post and form.is_valid():
        data = form.cleaned_data
        try:
            meeting = troika.troika_record(
                user=request.user,
                compound=data["compound"],
                held_at=data["held_at"],
                place=data["place"],
                committee=list(data["committee"]),
                owners=_lines(data["owners"]),
                property_names=_lines(data["property_names"]),
                property_company=data["property_company"],
                others=_lines(data["others"]),
                inspected=data["inspected"],
                minutes=data["minutes"],
                findings=form.findings(),
                photos=data["photos"],
                action_owner=data["action_owner"],
                department=data["department"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已记录三驾马车现场合署办公。"))
            return redirect(_after_record(meeting.pk))
    return render(request, "meetings/troika_new.html", {"form": form, "compound": compound})


class GridFilter(forms.Form):
    period = forms.ChoiceField(
        label=gettext_lazy("期间"),
        choices=[("year", gettext_lazy("按年度")), ("last12", gettext_lazy("最近12个月"))],
        required=False,
    )
    year = forms.IntegerField(label=gettext_lazy("年度"), min_value=2000, max_value=2100, required=False)
    area = forms.ChoiceField(label=gettext_lazy("居民区"), required=False)

    def __init__(self, *args: Any, areas: list[ResidentialArea], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.fields["area"]
        assert isinstance(area, forms.ChoiceField)
        area.choices = [("", _("全部居民区")), *((a.code, a.name) for a in areas)]


def grid_areas(user: User) -> list[ResidentialArea]:
    if not permissions.can_see_troika_grid(user):
        raise PermissionDenied(_("您的角色不能查看三驾马车开展情况。"))
    return list(scoping.visible(user, ResidentialArea.objects.order_by("code")))


def _grid_for(request: AuthedRequest) -> tuple[GridFilter, troika.Grid, str]:
    areas = grid_areas(request.user)
    today = timezone.localdate()
    form = GridFilter(request.GET or None, areas=areas)
    options: dict[str, Any] = {"period": "year", "year": today.year, "area": ""}
    if form.is_bound and form.is_valid():
        options.update({k: v for k, v in form.cleaned_data.items() if v not in (None, "")})
    chosen = [a for a in areas if a.code == options["area"]] or areas
    months = troika.period_months(period=options["period"], year=options["year"], today=today)
    label = chosen[0].name if len(chosen) == 1 else (_("全街道") if areas else "")
    return form, troika.troika_grid(areas=chosen, months=months, today=today), label


@login_required
def troika_grid(request: AuthedRequest) -> HttpResponse:
    form, grid, label = _grid_for(request)
    page = Paginator(grid.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    try:
        reverse("meeting_detail", args=[1])
        has_detail = True
    except NoReverseMatch:  # the meetings pages may not be there yet: cells then show without a link
        has_detail = False
    context = {
        "form": form,
        "grid": grid,
        "page": page,
        "scope_label": label,
        "query": query.urlencode(),
        "has_detail": has_detail,
        "may_record": troika.may_record(request.user),
        "may_export": scoping.can_export(request.user),
        "current_month": troika.month_start(grid.today),
    }
    return render(request, "meetings/troika_grid.html", context)


@never_cache  # names of the committee members
@login_required
def troika_export(request: AuthedRequest) -> HttpResponse:
    if not scoping.can_export(request.user):
        raise PermissionDenied(_("您的角色不能导出数据。"))
    _form, grid, label = _grid_for(request)
    buffer = io.BytesIO()
    troika.troika_export(user=request.user, target=buffer, grid=grid, scope_label=label, request=request)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stamp = date.today().isoformat() if not grid.months else f"{grid.months[0]:%Y%m}-{grid.months[-1]:%Y%m}"
    response["Content-Disposition"] = f'attachment; filename="troika-{stamp}.xlsx"'
    return response


urlpatterns: list[URLPattern] = [
    path("troika/", troika_grid, name="troika_grid"),
    path("troika/new/", troika_new, name="troika_new"),
    path("troika/export.xlsx", troika_export, name="troika_export"),
]

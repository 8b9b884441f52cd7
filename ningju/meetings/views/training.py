"""Cadre training pages (干部培训, 五社联动): the list with each cadre's hours for a period, create/edit, and the
detail where the attendance of the scope's cadres is ticked."""

from decimal import Decimal
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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.models import User
from ningju.demands import rates
from ningju.meetings import participation, permissions
from ningju.meetings.models import TrainingKind, TrainingSession
from ningju.meetings.views.events import DATETIME_ERRORS, DATETIME_WIDGET
from ningju.registry.models import ResidentialArea

PAGE_SIZE = 50


class TrainingForm(forms.Form):
    area = forms.ModelChoiceField(
        label=gettext_lazy("居民区"),
        required=False,
        queryset=ResidentialArea.objects.none(),
        empty_label=gettext_lazy("街道层面（全街道）"),
        error_messages={"invalid_choice": gettext_lazy("您不能在该居民区登记培训。")},
    )
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=TrainingKind.choices)
    title = forms.CharField(label=gettext_lazy("主题"), max_length=200)
    topics = forms.CharField(label=gettext_lazy("内容要点"), required=False, widget=forms.Textarea({"rows": 4}))
    trainer = forms.CharField(label=gettext_lazy("主讲/组织"), required=False, max_length=100)
    held_at = forms.DateTimeField(
        label=gettext_lazy("时间"), widget=DATETIME_WIDGET, error_messages=DATETIME_ERRORS
    )
    place = forms.CharField(label=gettext_lazy("地点"), required=False, max_length=200)
    hours = forms.DecimalField(
        label=gettext_lazy("学时"),
        max_digits=4,
        decimal_places=1,
        min_value=Decimal("0.5"),
        initial=Decimal(2),
        error_messages={
            "min_value": gettext_lazy("学时至少为 0.5。"),
            "invalid": gettext_lazy("请输入有效的学时，例如 2 或 1.5。"),
            "max_decimal_places": gettext_lazy("学时最多保留一位小数。"),
            "max_digits": gettext_lazy("学时过大。"),
            "max_whole_digits": gettext_lazy("学时过大。"),
        },
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.fields["area"]
        assert isinstance(area, forms.ModelChoiceField)
        area.queryset = participation.area_choices(user)
        if not permissions.is_street_admin(user):
            area.required = True
            area.empty_label = None


class HoursForm(forms.Form):
    """The period of the per-cadre hours table on the list page."""

    period = forms.ChoiceField(
        label=gettext_lazy("统计期间"),
        required=False,
        choices=[(k, v) for k, v in rates.PERIODS.items() if k != rates.CUSTOM],
        error_messages={"invalid_choice": gettext_lazy("请选择有效的统计期间。")},
    )


def _cadres(user: User) -> "list[User]":
    """The cadres whose hours a user reads: the street's for its administrator, else their own area's."""
    users = User.objects.filter(is_active=True, role__in=scoping.AREA_ROLES)
    if permissions.is_street_admin(user):
        users = users.filter(area__street=user.street_id)
    else:
        users = users.filter(area=user.area_id)
    return list(users.select_related("area").order_by("area__code", "role", "full_name", "username"))


@login_required
def training_list(request: AuthedRequest) -> HttpResponse:
    participation.require_participation_user(request.user)
    kind = request.GET.get("kind", "")
    if kind not in TrainingKind.values:
        kind = ""
    sessions = participation.training_list(request.user, kind=kind)
    page = Paginator(sessions, PAGE_SIZE).get_page(request.GET.get("page"))
    hours_form = HoursForm(request.GET or None)
    period = rates.THIS_YEAR
    if hours_form.is_bound and hours_form.is_valid() and hours_form.cleaned_data["period"]:
        period = hours_form.cleaned_data["period"]
    start, end = rates.period_dates(period, timezone.localdate())
    cadres = _cadres(request.user)
    hours = participation.training_hours(cadres, start, end)
    context = {
        "page": page,
        "kind": kind,
        "kinds": TrainingKind.choices,
        "hours_form": hours_form,
        "period": period,
        "start": start,
        "end": end,
        "hours": [(cadre, hours[cadre.pk]) for cadre in cadres],
        "may_create": participation.may_create_training(request.user),
    }
    return render(request, "meetings/training_list.html", context)


def _initial(session: TrainingSession) -> dict[str, Any]:
    return {
        "area": session.area,
        "kind": session.kind,
        "title": session.title,
        "topics": session.topics,
        "trainer": session.trainer,
        "held_at": timezone.localtime(session.held_at),
        "place": session.place,
        "hours": session.hours,
    }


@login_required
def training_new(request: AuthedRequest) -> HttpResponse:
    participation.require_participation_user(request.user)
    if not participation.may_create_training(request.user):
        raise PermissionDenied(_("只有街道管理员和居民区书记可以登记培训。"))
    form = TrainingForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            session = participation.training_create(user=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("培训已登记，请勾选出勤干部。"))
            return redirect("training_detail", pk=session.pk)
    return render(request, "meetings/training_form.html", {"form": form, "session": None})


@login_required
def training_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    participation.require_participation_user(request.user)
    session = scoping.get_for_user(request.user, TrainingSession.objects.select_related("area"), pk=pk)
    if not participation.may_edit_training(request.user, session.area):
        raise PermissionDenied(_("您不能修改该培训。"))
    form = TrainingForm(request.POST or None, initial=_initial(session), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            participation.training_update(user=request.user, session=session, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("培训已保存。"))
            return redirect("training_detail", pk=session.pk)
    return render(request, "meetings/training_form.html", {"form": form, "session": session})


@login_required
def training_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    participation.require_participation_user(request.user)
    session = scoping.get_for_user(request.user, TrainingSession.objects.select_related("area"), pk=pk)
    attended = set(session.attendance.filter(attended=True).values_list("user_id", flat=True))
    may_edit = participation.may_edit_training(request.user, session.area)
    candidates = list(participation.training_candidates(session)) if may_edit else []
    attendees = (
        [c for c in candidates if c.pk in attended]
        if may_edit
        else list(
            scoping.visible(request.user, User.objects.filter(pk__in=attended))
            .select_related("area")
            .order_by("area__code", "username")
        )
    )
    context = {
        "session": session,
        "may_edit": may_edit,
        "candidates": [(c, c.pk in attended) for c in candidates],
        "attendees": attendees,
        "attended_count": len(attended),
    }
    return render(request, "meetings/training_detail.html", context)


@login_required
@require_POST
def training_attendance(request: AuthedRequest, pk: int) -> HttpResponse:
    participation.require_participation_user(request.user)
    session = scoping.get_for_user(request.user, TrainingSession.objects.select_related("area"), pk=pk)
    try:
        ids = [int(value) for value in request.POST.getlist("attended")]
    except ValueError:
        messages.error(request, _("出勤名单有误，请重新勾选。"))
        return redirect("training_detail", pk=session.pk)
    try:
        count = participation.training_attendance_set(user=request.user, session=session, attended_ids=ids)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("出勤已保存：%(n)s人。") % {"n": count})
    return redirect("training_detail", pk=session.pk)


urlpatterns: list[URLPattern] = [
    path("training/", training_list, name="training_list"),
    path("training/new/", training_new, name="training_new"),
    path("training/<int:pk>/", training_detail, name="training_detail"),
    path("training/<int:pk>/edit/", training_edit, name="training_edit"),
    path("training/<int:pk>/attendance/", training_attendance, name="training_attendance"),
]

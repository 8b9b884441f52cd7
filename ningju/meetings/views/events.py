"""Community-building event pages: the list, create/edit, the detail with registrations and attendance, and the
participation totals (策划会 / 参与人次 / 开展活动) for any period and scope."""

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
from django.views.decorators.http import require_POST

from ningju.core import scoping
from ningju.core.bounds import validate_date_in_range
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.demands import rates
from ningju.meetings import participation, permissions
from ningju.meetings.models import Event, EventKind, Meeting, Registration
from ningju.registry.models import Resident, ResidentialArea

PAGE_SIZE = 50
DATETIME_WIDGET = forms.DateTimeInput({"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_ERRORS = {"invalid": gettext_lazy("请输入有效的时间。")}


def _meeting_url(meeting: Meeting) -> str:
    """The planning meeting's page, when the meetings pages are installed; plain text without them."""
    try:
        return reverse("meeting_detail", args=[meeting.pk])
    except NoReverseMatch:
        return ""


# --- list -------------------------------------------------------------------------------------------------------


class EventFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("活动类型"),
        required=False,
        choices=[("", gettext_lazy("全部类型")), *EventKind.choices],
        error_messages={"invalid_choice": gettext_lazy("请选择有效的活动类型。")},
    )
    month = forms.DateField(
        label=gettext_lazy("月份"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput({"type": "month"}, format="%Y-%m"),
        error_messages={"invalid": gettext_lazy("请输入有效的月份，格式为 YYYY-MM。")},
        validators=[validate_date_in_range],
    )
    area = forms.ModelChoiceField(
        label=gettext_lazy("居民区"),
        required=False,
        queryset=ResidentialArea.objects.none(),
        to_field_name="code",
        empty_label=gettext_lazy("全部"),
        error_messages={"invalid_choice": gettext_lazy("请选择有效的居民区。")},
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.fields["area"]
        assert isinstance(area, forms.ModelChoiceField)
        area.queryset = participation.area_choices(user)


@login_required
def event_list(request: AuthedRequest) -> HttpResponse:
    participation.require_participation_user(request.user)
    form = EventFilterForm(request.GET or None, user=request.user)
    options: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        options = {
            "kind": form.cleaned_data["kind"] or "",
            "month": form.cleaned_data["month"],
            "area": form.cleaned_data["area"],
        }
    events = participation.event_list(request.user, **options)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "may_create": participation.may_create_event(request.user),
        "is_street_admin": permissions.is_street_admin(request.user),
    }
    template = "meetings/event_list.html#results" if request.htmx else "meetings/event_list.html"
    return render(request, template, context)


# --- create / edit ----------------------------------------------------------------------------------------------


class PlanningMeetingField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{timezone.localtime(obj.held_at):%Y-%m-%d} {obj.title}"


class EventForm(forms.Form):
    area = forms.ModelChoiceField(
        label=gettext_lazy("居民区"),
        required=False,
        queryset=ResidentialArea.objects.none(),
        empty_label=gettext_lazy("街道层面（全街道）"),
        error_messages={"invalid_choice": gettext_lazy("您不能在该居民区创建活动。")},
    )
    kind = forms.ChoiceField(label=gettext_lazy("活动类型"), choices=EventKind.choices)
    title = forms.CharField(label=gettext_lazy("活动名称"), max_length=200)
    organiser = forms.CharField(label=gettext_lazy("主办方"), max_length=200)
    place = forms.CharField(label=gettext_lazy("地点"), max_length=200)
    starts_at = forms.DateTimeField(
        label=gettext_lazy("开始时间"), widget=DATETIME_WIDGET, error_messages=DATETIME_ERRORS
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("结束时间"), required=False, widget=DATETIME_WIDGET, error_messages=DATETIME_ERRORS
    )
    capacity = forms.IntegerField(
        label=gettext_lazy("名额"),
        required=False,
        min_value=1,
        help_text=gettext_lazy("不填表示不限名额。"),
        error_messages={"min_value": gettext_lazy("名额至少为 1；不限名额请留空。")},
    )
    description = forms.CharField(
        label=gettext_lazy("活动内容"), required=False, widget=forms.Textarea({"rows": 4})
    )
    planning_meetings = PlanningMeetingField(
        label=gettext_lazy("筹备的社区营造策划会"),
        required=False,
        queryset=Meeting.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": gettext_lazy("请选择您可见的社区营造策划会。")},
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.fields["area"]
        assert isinstance(area, forms.ModelChoiceField)
        area.queryset = participation.area_choices(user)
        if not permissions.is_street_admin(user):
            # Area users put events in their own area only: no street-wide choice.
            area.required = True
            area.empty_label = None
        meetings = self.fields["planning_meetings"]
        assert isinstance(meetings, forms.ModelMultipleChoiceField)
        meetings.queryset = participation.planning_meeting_choices(user)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at < starts_at:
            self.add_error("ends_at", _("结束时间不能早于开始时间。"))
        return data


def _event_initial(event: Event) -> dict[str, Any]:
    return {
        "area": event.area,
        "kind": event.kind,
        "title": event.title,
        "organiser": event.organiser,
        "place": event.place,
        "starts_at": timezone.localtime(event.starts_at),
        "ends_at": timezone.localtime(event.ends_at) if event.ends_at else None,
        "capacity": event.capacity,
        "description": event.description,
        "planning_meetings": list(event.planning_meetings.all()),
    }


@login_required
def event_new(request: AuthedRequest) -> HttpResponse:
    participation.require_participation_user(request.user)
    if not participation.may_create_event(request.user):
        raise PermissionDenied(_("您不能创建活动。"))
    form = EventForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            event = participation.event_create(user=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("活动已创建。"))
            return redirect("event_detail", pk=event.pk)
    return render(request, "meetings/event_form.html", {"form": form, "event": None})


@login_required
def event_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    participation.require_participation_user(request.user)
    event = scoping.get_for_user(request.user, Event.objects.select_related("area"), pk=pk)
    if not participation.may_edit_event(request.user, event.area):
        raise PermissionDenied(_("您不能修改该活动。"))
    form = EventForm(request.POST or None, initial=_event_initial(event), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            participation.event_update(user=request.user, event=event, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("活动已保存。"))
            return redirect("event_detail", pk=event.pk)
    return render(request, "meetings/event_form.html", {"form": form, "event": event})


# --- detail and registrations -----------------------------------------------------------------------------------


class RegisterForm(forms.Form):
    """Either a resident from the registry (by id, from the search) or a walk-in by name."""

    resident = forms.ModelChoiceField(
        queryset=Resident.objects.select_related("household__building__compound"),
        required=False,
        widget=forms.HiddenInput,
    )
    name = forms.CharField(label=gettext_lazy("来访者姓名"), required=False, max_length=50)
    on_the_spot = forms.BooleanField(label=gettext_lazy("现场签到（活动当天到场，不占名额）"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A resident of another area reads like one that does not exist.
        scoping.scope_form_fields(self, user)


def _detail_context(request: AuthedRequest, event: Event, **extra: Any) -> dict[str, Any]:
    # A street-wide event's page shows an area user only their own area's people (and the walk-ins).
    registrations = list(
        scoping.visible(request.user, event.registrations.select_related("resident__household__building"))
    )
    meetings = [(m, _meeting_url(m)) for m in event.planning_meetings.all()]
    return {
        "event": event,
        "counts": participation.event_counts(event),
        "registrations": registrations,
        "meetings": meetings,
        "may_edit": participation.may_edit_event(request.user, event.area),
        "may_register": participation.may_register(request.user, event),
        "on_the_day": timezone.now() >= participation.event_day_start(event),
        "register_form": extra.pop("register_form", RegisterForm(user=request.user)),
        **extra,
    }


@login_required
def event_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    participation.require_participation_user(request.user)
    event = scoping.get_for_user(request.user, Event.objects.select_related("area"), pk=pk)
    return render(request, "meetings/event_detail.html", _detail_context(request, event))


@login_required
def event_residents(request: AuthedRequest, pk: int) -> HttpResponse:
    """The registry search of the register form (htmx): masked data only."""
    participation.require_participation_user(request.user)
    event = scoping.get_for_user(request.user, Event.objects.all(), pk=pk)
    if not participation.may_register(request.user, event):
        raise PermissionDenied(_("您不能为该活动登记报名。"))
    query = request.GET.get("q", "")
    residents = participation.resident_search(request.user, event, query)
    if request.htmx:
        return render(
            request, "meetings/event_detail.html#search", {"event": event, "residents": residents, "q": query}
        )
    event = scoping.get_for_user(request.user, Event.objects.select_related("area"), pk=event.pk)
    return render(
        request, "meetings/event_detail.html", _detail_context(request, event, residents=residents, q=query)
    )


def _registrations_response(request: AuthedRequest, event: Event, **extra: Any) -> HttpResponse:
    if request.htmx:
        return render(
            request, "meetings/event_detail.html#registrations", _detail_context(request, event, **extra)
        )
    return redirect("event_detail", pk=event.pk)


@login_required
@require_POST
def event_register(request: AuthedRequest, pk: int) -> HttpResponse:
    participation.require_participation_user(request.user)
    event = scoping.get_for_user(request.user, Event.objects.select_related("area"), pk=pk)
    form = RegisterForm(request.POST, user=request.user)
    error = ""
    if form.is_valid():
        resident = form.cleaned_data["resident"]
        try:
            registration = participation.registration_add(
                user=request.user,
                event=event,
                resident=resident,
                name=form.cleaned_data["name"],
                on_the_spot=form.cleaned_data["on_the_spot"],
            )
        except ApplicationError as failure:
            error = failure.message
        else:
            note = _("%(name)s已现场签到。") if registration.attended else _("%(name)s已报名。")
            if not request.htmx:
                messages.success(request, note % {"name": registration.name})
            return _registrations_response(request, event, notice=note % {"name": registration.name})
    else:
        error = _("报名信息有误，请检查后重试。")
    if not request.htmx:
        messages.error(request, error)
        return redirect("event_detail", pk=event.pk)
    return render(
        request,
        "meetings/event_detail.html#registrations",
        _detail_context(request, event, error=error, register_form=form),
        status=400,
    )


MARKS: dict[str, dict[str, bool]] = {
    "attend": {"attended": True},
    "unattend": {"attended": False},
    "volunteer": {"volunteer": True},
    "unvolunteer": {"volunteer": False},
}


@login_required
@require_POST
def event_registration(request: AuthedRequest, pk: int) -> HttpResponse:
    """Sign in, mark as volunteer, or cancel one registration (`op` in the POST)."""
    participation.require_participation_user(request.user)
    # A registration is scoped through its event and, on a street-wide event, its resident's area.
    registration = scoping.get_for_user(request.user, Registration.objects.select_related("event__area"), pk=pk)
    event = registration.event
    op = request.POST.get("op", "")
    error = ""
    try:
        if op == "cancel":
            participation.registration_cancel(user=request.user, registration=registration)
        elif op in MARKS:
            participation.registration_mark(user=request.user, registration=registration, **MARKS[op])
        else:
            error = _("无效的操作。")
    except ApplicationError as failure:
        error = failure.message
    if error and not request.htmx:
        messages.error(request, error)
    return _registrations_response(request, event, error=error)


# --- participation totals ---------------------------------------------------------------------------------------


class TotalsForm(forms.Form):
    period = forms.ChoiceField(
        label=gettext_lazy("统计期间"),
        required=False,
        choices=list(rates.PERIODS.items()),
        error_messages={"invalid_choice": gettext_lazy("请选择有效的统计期间。")},
    )
    start = forms.DateField(
        label=gettext_lazy("开始日期"),
        required=False,
        widget=forms.DateInput({"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("请输入有效的日期，格式为 YYYY-MM-DD。")},
        validators=[validate_date_in_range],
    )
    end = forms.DateField(
        label=gettext_lazy("结束日期"),
        required=False,
        widget=forms.DateInput({"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("请输入有效的日期，格式为 YYYY-MM-DD。")},
        validators=[validate_date_in_range],
    )
    area = forms.ModelChoiceField(
        label=gettext_lazy("范围"),
        required=False,
        queryset=ResidentialArea.objects.none(),
        to_field_name="code",
        empty_label=gettext_lazy("全街道"),
        error_messages={"invalid_choice": gettext_lazy("请选择您负责的居民区。")},
    )

    def __init__(self, *args: Any, user: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        area = self.fields["area"]
        assert isinstance(area, forms.ModelChoiceField)
        area.queryset = participation.area_choices(user)
        if not permissions.is_street_admin(user):
            # Area users always see their own area: the choice is not shown (the view ignores it).
            area.empty_label = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        period = data.get("period") or (rates.CUSTOM if start or end else rates.THIS_YEAR)
        if period == rates.CUSTOM:
            if start is None and "start" not in self.errors:
                self.add_error("start", _("自定义期间须填写开始日期。"))
            if end is None and "end" not in self.errors:
                self.add_error("end", _("自定义期间须填写结束日期。"))
            if start and end and start > end:
                self.add_error("start", _("开始日期不能晚于结束日期。"))
        else:
            start, end = rates.period_dates(period, self.today)
        data["period"], data["start"], data["end"] = period, start, end
        return data


@login_required
def participation_page(request: AuthedRequest) -> HttpResponse:
    participation.require_participation_user(request.user)
    user = request.user
    today = timezone.localdate()
    own_area = user.area if permissions.is_area_user(user) else None
    start, end = rates.period_dates(rates.THIS_YEAR, today)
    options: dict[str, Any] = {"period": rates.THIS_YEAR, "start": start, "end": end, "area": own_area}
    params = request.GET.copy()
    if not permissions.is_street_admin(user):
        # An area user always reads their own area: an area in the address is ignored rather than refused.
        params.pop("area", None)
    form = TotalsForm(params or None, initial=options, user=user, today=today)
    if form.is_bound and form.is_valid():
        options = form.cleaned_data
        form = TotalsForm(initial=options, user=user, today=today)
    street = participation.user_street(user)
    area = options["area"] if permissions.is_street_admin(user) else own_area
    totals = participation.participation_totals(street, area, options["start"], options["end"])
    lines = (
        participation.participation_by_area(street, options["start"], options["end"])
        if permissions.is_street_admin(user) and area is None
        else []
    )
    context = {
        "form": form,
        "totals": totals,
        "area": area,
        "street": street,
        "lines": lines,
        "definitions": participation.participation_definitions(),
    }
    template = "meetings/participation.html#totals" if request.htmx else "meetings/participation.html"
    return render(request, template, context)


urlpatterns: list[URLPattern] = [
    path("events/", event_list, name="event_list"),
    path("events/new/", event_new, name="event_new"),
    path("events/<int:pk>/", event_detail, name="event_detail"),
    path("events/<int:pk>/edit/", event_edit, name="event_edit"),
    path("events/<int:pk>/residents/", event_residents, name="event_residents"),
    path("events/<int:pk>/register/", event_register, name="event_register"),
    path("events/registrations/<int:pk>/", event_registration, name="event_registration"),
    path("participation/", participation_page, name="participation"),
]

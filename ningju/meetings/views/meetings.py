"""Meeting pages: the scoped list, record/edit a meeting, and its page with attendees, the problem list (picked from
the user's demands), files and the action items that came out of it ("转为行动" from an agenda item)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.meetings import permissions, selectors, services
from ningju.meetings.forms import (
    ActionForm,
    AgendaFilterForm,
    AgendaPickForm,
    AttendeeForm,
    MeetingFileForm,
    MeetingFilterForm,
    MeetingForm,
)
from ningju.meetings.models import AgendaItem, Attendee, Meeting, MeetingFile
from ningju.meetings.selectors import AgendaFilter

PAGE_SIZE = 50


def _get(request: AuthedRequest, pk: int) -> Meeting:
    return scoping.get_for_user(request.user, selectors.meeting_queryset(), pk=pk)


def _editable(request: AuthedRequest, pk: int) -> Meeting:
    meeting = _get(request, pk)
    if not services.can_edit_meeting(request.user, meeting):
        raise PermissionDenied(_("您无权修改该会议：它不在您负责的范围内。"))
    return meeting


def _street_id(request: AuthedRequest) -> int:
    street_id = scoping.user_street_id(request.user)
    if street_id is None:
        raise PermissionDenied(_("您没有记录会议的权限。"))
    return street_id


def _area_only(request: AuthedRequest) -> int | None:
    return request.user.area_id if permissions.is_area_user(request.user) else None


@login_required
@require_GET
def meeting_list(request: AuthedRequest) -> HttpResponse:
    form = MeetingFilterForm(request.GET or None)
    filters: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    queryset = selectors.meetings_for(
        request.user, kind=filters.get("kind", ""), status=filters.get("status", ""), month=filters.get("month")
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "meetings/meeting_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_record": scoping.user_street_id(request.user) is not None,
        },
    )


def _meeting_form_page(request: AuthedRequest, meeting: Meeting | None) -> HttpResponse:
    street_id = _street_id(request)
    initial: dict[str, Any] = {}
    if meeting is not None:
        initial = {
            name: getattr(meeting, name)
            for name in ("kind", "title", "held_at", "place", "status", "inspected", "minutes", "decisions")
        }
        initial.update(area=meeting.area_id, compound=meeting.compound_id, subgrid=meeting.subgrid_id)
    else:
        initial = {"held_at": timezone.localtime().replace(second=0, microsecond=0), "area": _area_only(request)}
    form = MeetingForm(request.POST or None, initial=initial, street_id=street_id, area_id=_area_only(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.meeting_save(user=request.user, meeting=meeting, **form.cleaned_data)
            except ApplicationError as error:
                form.add_error(None, error.message)
            except PermissionDenied as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("会议已保存。"))
                return redirect("meeting_detail", pk=saved.pk)
        status = 400
    return render(request, "meetings/meeting_form.html", {"form": form, "meeting": meeting}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_new(request: AuthedRequest) -> HttpResponse:
    return _meeting_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    return _meeting_form_page(request, _editable(request, pk))


def _detail_context(request: AuthedRequest, meeting: Meeting) -> dict[str, Any]:
    street_id = meeting.street_id
    today = timezone.localdate()
    actions = list(meeting.action_items.all())
    agenda = list(meeting.agenda_items.all())
    return {
        "meeting": meeting,
        "can_edit": services.can_edit_meeting(request.user, meeting),
        "attendees": list(meeting.attendees.all()),
        "agenda": agenda,
        "agenda_hidden": getattr(meeting, "agenda_total", len(agenda)) - len(agenda),
        "files": list(meeting.files.all()),
        "actions": [(item, selectors.action_colour(item, today)) for item in actions],
        "attendee_form": AttendeeForm(people=services.street_users(street_id)),
        "file_form": MeetingFileForm(),
    }


@login_required
@require_GET
def meeting_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    meeting = scoping.get_for_user(request.user, selectors.meeting_detail_queryset(request.user), pk=pk)
    return render(request, "meetings/meeting_detail.html", _detail_context(request, meeting))


@login_required
@require_POST
def meeting_attendee_add(request: AuthedRequest, pk: int) -> HttpResponse:
    meeting = _editable(request, pk)
    form = AttendeeForm(request.POST, people=services.street_users(meeting.street_id))
    if form.is_valid():
        try:
            services.attendee_add(user=request.user, meeting=meeting, **form.cleaned_data)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("已添加参会人。"))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, str(message))
    return redirect("meeting_detail", pk=meeting.pk)


@login_required
@require_POST
def meeting_attendee_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    attendee = scoping.get_for_user(request.user, Attendee.objects.select_related("meeting"), pk=pk)
    services.attendee_remove(user=request.user, attendee=attendee)
    messages.success(request, _("已移除参会人。"))
    return redirect("meeting_detail", pk=attendee.meeting_id)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_agenda(request: AuthedRequest, pk: int) -> HttpResponse:
    """The problem-list picker: a filtered, paginated list of the user's demands with checkboxes."""
    meeting = _editable(request, pk)
    status = 200
    if request.method == "POST":
        pick = AgendaPickForm(request.POST)
        if pick.is_valid():
            try:
                added = services.agenda_add(
                    user=request.user, meeting=meeting, demand_ids=pick.cleaned_data["demands"]
                )
            except ApplicationError as error:
                messages.error(request, error.message)
            except PermissionDenied as refused:
                messages.error(request, str(refused))
            else:
                messages.success(request, _("已加入问题清单：%(count)s条。") % {"count": added})
                return redirect("meeting_detail", pk=meeting.pk)
        else:
            messages.error(request, _("请至少选择一条诉求。"))
        status = 400
    filter_form = AgendaFilterForm(request.GET or None)
    show = filter_form.cleaned_data.get("show") if filter_form.is_valid() else ""
    show = show or AgendaFilter.OPEN
    candidates = selectors.agenda_candidates(request.user, meeting, show, timezone.now())
    page = Paginator(candidates, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "meetings/meeting_agenda.html",
        {
            "meeting": meeting,
            "page": page,
            "show": show,
            "filters": AgendaFilter.choices,
            "query": f"show={show}",
        },
        status=status,
    )


@login_required
@require_POST
def meeting_agenda_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    item = scoping.get_for_user(request.user, AgendaItem.objects.select_related("meeting"), pk=pk)
    services.agenda_remove(user=request.user, item=item)
    messages.success(request, _("已从问题清单移除。"))
    return redirect("meeting_detail", pk=item.meeting_id)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_agenda_action(request: AuthedRequest, pk: int) -> HttpResponse:
    """转为行动: an action item from one agenda item, its title prefilled from the demand."""
    item = scoping.get_for_user(request.user, AgendaItem.objects.select_related("meeting", "demand"), pk=pk)
    meeting = _editable(request, item.meeting_id)
    initial = {"title": item.demand.text[:200], "demands": [item.demand_id], "days": 5}
    form = ActionForm(
        request.POST or None,
        initial=initial,
        people=services.street_users(meeting.street_id),
        street_id=meeting.street_id,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                deadline = services.resolve_deadline(deadline=data["deadline"], days=data["days"])
                services.action_create(
                    user=request.user,
                    meeting=meeting,
                    title=data["title"],
                    description=data["description"],
                    owner=data["owner"],
                    department=data["department"],
                    deadline=deadline,
                    demand_ids=data["demands"] or [item.demand_id],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            except PermissionDenied as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("已转为行动事项。"))
                return redirect("meeting_detail", pk=meeting.pk)
        status = 400
    return render(
        request,
        "meetings/action_form.html",
        {"form": form, "meeting": meeting, "demand": item.demand},
        status=status,
    )


@login_required
@require_POST
def meeting_file_add(request: AuthedRequest, pk: int) -> HttpResponse:
    meeting = _editable(request, pk)
    form = MeetingFileForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.meeting_file_add(user=request.user, meeting=meeting, upload=form.cleaned_data["file"])
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("文件已上传。"))
    else:
        messages.error(request, _("请选择要上传的文件。"))
    return redirect("meeting_detail", pk=meeting.pk)


@never_cache  # minutes and lists that name residents
@login_required
@require_GET
def meeting_file(request: AuthedRequest, pk: int) -> HttpResponseBase:
    """A meeting's file, as visible as its meeting: never through a public media URL."""
    row = scoping.get_for_user(request.user, MeetingFile.objects.all(), pk=pk)
    return FileResponse(row.file.open("rb"), as_attachment=True, filename=row.name, content_type=row.content_type)


urlpatterns = [
    path("", meeting_list, name="meeting_list"),
    path("new/", meeting_new, name="meeting_new"),
    path("<int:pk>/", meeting_detail, name="meeting_detail"),
    path("<int:pk>/edit/", meeting_edit, name="meeting_edit"),
    path("<int:pk>/attendees/", meeting_attendee_add, name="meeting_attendee_add"),
    path("attendees/<int:pk>/remove/", meeting_attendee_remove, name="meeting_attendee_remove"),
    path("<int:pk>/agenda/", meeting_agenda, name="meeting_agenda"),
    path("agenda/<int:pk>/remove/", meeting_agenda_remove, name="meeting_agenda_remove"),
    path("agenda/<int:pk>/action/", meeting_agenda_action, name="meeting_agenda_action"),
    path("<int:pk>/files/", meeting_file_add, name="meeting_file_add"),
    path("files/<int:pk>/", meeting_file, name="meeting_file"),
]

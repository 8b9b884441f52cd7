"""The action list (行动清单): tabs 我的 / 本居民区 or 全街道 / 已超期, a standalone new item, and an item's page with
its progress notes, result and links to its meeting and demands."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.meetings import selectors, services
from ningju.meetings.forms import ActionForm, ProgressForm, tab_or_default
from ningju.meetings.selectors import ActionTab

PAGE_SIZE = 50


@login_required
@require_GET
def action_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    tab = tab_or_default(request.GET.get("tab"))
    today = timezone.localdate()
    scope_label = selectors.scope_tab_label(user)
    if tab == ActionTab.SCOPE and not scope_label:
        tab = ActionTab.MINE
    tabs: list[tuple[str, str]] = [(ActionTab.MINE.value, str(ActionTab.MINE.label))]
    if scope_label:
        tabs.append((ActionTab.SCOPE.value, scope_label))
    tabs.append((ActionTab.OVERDUE.value, str(ActionTab.OVERDUE.label)))
    page = Paginator(selectors.actions_for(user, tab, today), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "meetings/action_list.html",
        {
            "tabs": [{"key": key, "label": label, "active": key == tab} for key, label in tabs],
            "rows": [(item, selectors.action_colour(item, today)) for item in page],
            "page": page,
            "query": f"tab={tab}",
            "can_create": scoping.user_street_id(user) is not None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_new(request: AuthedRequest) -> HttpResponse:
    """A standalone action item, not from a meeting; ?demand= links it to one demand from the start."""
    street_id = scoping.user_street_id(request.user)
    if street_id is None:
        raise PermissionDenied(_("您没有创建行动事项的权限。"))
    demand = request.GET.get("demand", "")
    initial: dict[str, Any] = {"days": services.DEFAULT_ACTION_WORKDAYS}
    if demand.isdigit():
        initial["demands"] = [int(demand)]
    form = ActionForm(
        request.POST or None, initial=initial, people=services.street_users(street_id), street_id=street_id
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                deadline = services.resolve_deadline(deadline=data["deadline"], days=data["days"])
                item = services.action_create(
                    user=request.user,
                    title=data["title"],
                    description=data["description"],
                    owner=data["owner"],
                    department=data["department"],
                    deadline=deadline,
                    demand_ids=data["demands"],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            except PermissionDenied as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("行动事项已创建。"))
                return redirect("action_detail", pk=item.pk)
        status = 400
    return render(request, "meetings/action_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def action_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    item = scoping.get_for_user(request.user, selectors.action_queryset(), pk=pk)
    can_edit = services.can_edit_action(request.user, item)
    form = ProgressForm(
        request.POST or None, initial={"status": item.status, "result": item.result, "deadline": item.deadline}
    )
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(_("您无权更新该行动事项。"))
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.action_update(
                    user=request.user,
                    item_id=item.pk,
                    status=data["status"],
                    note=data["note"],
                    result=data["result"],
                    deadline=data["deadline"],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            except PermissionDenied as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("进展已记录。"))
                return redirect(reverse("action_detail", args=[item.pk]))
        status = 400
    demands = list(scoping.visible(request.user, item.demands.select_related("area", "owner")))
    return render(
        request,
        "meetings/action_detail.html",
        {
            "item": item,
            "colour": selectors.action_colour(item),
            "progress": list(item.progress.select_related("author")),
            "demands": demands,
            "form": form,
            "can_edit": can_edit,
            "meeting_visible": item.meeting_id is not None
            and scoping.visible(request.user, selectors.meeting_queryset().filter(pk=item.meeting_id)).exists(),
        },
        status=status,
    )


urlpatterns = [
    path("actions/", action_list, name="action_list"),
    path("actions/new/", action_new, name="action_new"),
    path("actions/<int:pk>/", action_detail, name="action_detail"),
]

"""The demand page: everything about one demand, its whole timeline, and a form for each step the user may take.

The steps offered are `workflow.allowed_actions` for this user, with the inputs derived as `services.demand_act`
derives them; each form posts to `demand_step`, which takes the step and stores its photos in one transaction and
redirects back (post/redirect/get). A refused step shows its Chinese message on the same page with the input kept.
Attachments are served only through `demand_attachment`: scoped, audited, never by a public media URL.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.models import User
from ningju.demands import display, services, workflow
from ningju.demands.attachments import INLINE_TYPES, attachment_add, attachment_response, is_inline_image
from ningju.demands.forms import StepForm
from ningju.demands.models import (
    Attachment,
    Demand,
    DemandEvent,
    Dispatch,
    ExtensionStatus,
    Kind,
)
from ningju.demands.workflow import Action, DeadlineStage, DispatchState
from ningju.meetings.selectors import action_colour, demand_meetings
from ningju.registry.models import Department
from ningju.visits.models import Visit


def demand_queryset() -> "QuerySet[Demand]":
    """Unscoped on purpose: always passed through `scoping.get_for_user`."""
    return Demand.objects.select_related(
        "area",
        "owner",
        "category__parent__default_department",
        "category__default_department",
        "reporter",
        "household__building__compound",
        "building",
        "compound",
        "patrol_site",
        "visit",
        "finding",
        "merged_into",
    )


def _dispatch_departments(demand: Demand, round_dispatches: list[Dispatch]) -> "QuerySet[Department]":
    """The street's active departments not already working on this round (a returned one may be sent again)."""
    on_it = [row.department_id for row in round_dispatches if row.state != DispatchState.RETURNED]
    return Department.objects.filter(street=demand.area.street_id, active=True).exclude(pk__in=on_it)


def _street_departments(demand: Demand) -> "QuerySet[Department]":
    """The departments a whistle may suggest: every active department of the demand's street."""
    return Department.objects.filter(street=demand.area.street_id, active=True)


def _usual_department(demand: Demand) -> int | None:
    category = demand.category
    if category is None:
        return None
    if category.default_department_id is not None:
        return category.default_department_id
    return category.parent.default_department_id if category.parent is not None else None


def _whistle_suggestion(events: list[DemandEvent]) -> int | None:
    """The department the latest whistle asked for, if it named one."""
    whistles = [event for event in events if event.action == Action.WHISTLE]
    suggested = (whistles[-1].params or {}).get("suggested_department") if whistles else None
    return suggested if isinstance(suggested, int) else None


def _dispatch_prefill(user: User, demand: Demand, events: list[DemandEvent]) -> dict[int, str]:
    """The department a dispatch ticks before the street chooses, with why: the one the whistle asked for when
    it named one, else the category's usual department."""
    suggested = _whistle_suggestion(events)
    if suggested is not None:
        name = (
            scoping.visible(user, Department.objects.filter(pk=suggested)).values_list("name", flat=True).first()
        )
        if name is not None:  # a department out of sight (retired, another street) is not ticked on its word
            return {suggested: _("吹哨时建议：%(department)s") % {"department": name}}
    usual = _usual_department(demand)
    return {usual: _("该类别常派部门")} if usual is not None else {}


def _deadline_label(demand: Demand) -> str:
    stage = workflow.deadline_stage(demand.state)
    if stage == DeadlineStage.HANDLING and demand.kind == Kind.ENQUIRY:
        stage = DeadlineStage.CONSULTATION
    return str(stage.label) if stage is not None else ""


def _page(user: User, demand: Demand, bound: StepForm | None) -> dict[str, Any]:
    events = list(
        demand.events.select_related("actor").prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("uploaded_at", "id"))
        )
    )
    dispatches = list(demand.dispatches.select_related("department").order_by("round", "dispatched_at", "id"))
    extensions = list(demand.extensions.select_related("requested_by", "decided_by", "department"))
    attachments = list(demand.attachments.select_related("uploaded_by", "event"))
    duplicates = list(scoping.visible(user, demand.duplicates.all()).only("pk", "text", "state"))
    department_ids = display.event_department_ids(events)
    departments = dict(
        scoping.visible(user, Department.objects.filter(pk__in=department_ids)).values_list("pk", "name")
    )

    round_dispatches = [row for row in dispatches if row.round == demand.whistle_round]
    pending = any(extension.status == ExtensionStatus.PENDING for extension in extensions)
    context = display.actor_context(user, demand, round_dispatches, pending)
    allowed = context.allowed(demand, user)
    choosable = _dispatch_departments(demand, round_dispatches)
    prefill = (
        _dispatch_prefill(user, demand, events) if {Action.DISPATCH, Action.REDISPATCH} & set(allowed) else {}
    )

    steps = []
    for action in allowed:
        if bound is not None and bound.action == action:
            form = bound
        else:
            form = StepForm(
                action=action,
                state=demand.state,
                departments=_street_departments(demand) if action == Action.WHISTLE else choosable,
                department_hints=prefill,
                initial={"version": demand.version, "departments": list(prefill)},
            )
        steps.append(form)

    # A step refused because it is not (or no longer) this person's has no form on the page: say why above them.
    refused = []
    if bound is not None and bound.action not in allowed:
        refused = [str(error) for errors in bound.errors.values() for error in errors]

    rounds: dict[int, list[Dispatch]] = {}
    for row in dispatches:
        rounds.setdefault(row.round, []).append(row)

    visit_url = None
    if demand.visit_id is not None and scoping.visible(user, Visit.objects.filter(pk=demand.visit_id)).exists():
        visit_url = demand.visit_id
    now = timezone.now()
    meetings, action_items = demand_meetings(user, demand)  # 会议与行动: the chain seen from the demand's end
    return {
        "demand": demand,
        "meetings": meetings,
        "action_items": [(item, action_colour(item)) for item in action_items],
        "state_colour": display.state_colour(demand.state),
        "deadline_colour": display.deadline_colour(demand, now),
        "deadline_label": _deadline_label(demand),
        "place": display.place_of(demand, user),
        "timeline": display.timeline(events, departments),
        "rounds": sorted(rounds.items()),
        "extensions": extensions,
        "duplicates": duplicates,
        "attachments": attachments,
        "inline_types": INLINE_TYPES,
        "steps": steps,
        "refused": refused,
        "open_step": bound.action if bound is not None else (steps[0].action if len(steps) == 1 else None),
        "visit_pk": visit_url,
        "is_owner": context.is_owner,
    }


def _render(
    request: AuthedRequest, demand: Demand, bound: StepForm | None = None, status: int = 200
) -> HttpResponse:
    return render(request, "demands/detail.html", _page(request.user, demand, bound), status=status)


@login_required
@require_GET
def demand_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    demand = scoping.get_for_user(request.user, demand_queryset(), pk=pk)
    return _render(request, demand)


@login_required
@require_POST
def demand_step(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    if action not in Action.values:
        raise Http404(_("没有这个处理步骤。"))
    step = Action(action)
    demand = scoping.get_for_user(request.user, demand_queryset(), pk=pk)
    round_dispatches = list(Dispatch.objects.filter(demand=demand, round=demand.whistle_round))
    form = StepForm(
        request.POST,
        request.FILES,
        action=step,
        state=demand.state,
        departments=(
            _street_departments(demand)
            if step == Action.WHISTLE
            else _dispatch_departments(demand, round_dispatches)
        ),
    )
    if form.is_valid():
        try:
            # The step and its photos are one change: a refused step keeps no photo, a refused photo no step.
            with transaction.atomic():
                services.demand_act(
                    user=request.user,
                    demand_id=demand.pk,
                    action=step,
                    expected_version=form.cleaned_data["version"],
                    **form.step_inputs(),
                )
                event = DemandEvent.objects.filter(demand=demand).order_by("-id").first()
                for upload in form.cleaned_data["files"]:
                    attachment_add(user=request.user, demand=demand, upload=upload, event=event)
        except services.StaleDemandError as stale:
            messages.error(request, stale.message)
            return redirect("demand_detail", pk=demand.pk)
        except ApplicationError as error:  # workflow refusals included
            form.add_error(None, error.message)
        except PermissionDenied as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _("已完成“%(action)s”。") % {"action": step.label})
            return redirect("demand_detail", pk=demand.pk)
    return _render(request, demand, bound=form, status=400)


@never_cache  # photos and documents of residents: never kept by a browser or proxy
@login_required
@require_GET
def demand_attachment(request: AuthedRequest, pk: int) -> HttpResponseBase:
    # The file is as visible as its demand (a liaison sees the photos of demands dispatched to them).
    attachment = scoping.get_for_user(request.user, Attachment.objects.all(), pk=pk)
    inline = request.GET.get("inline") == "1" and is_inline_image(attachment)
    return attachment_response(user=request.user, attachment=attachment, inline=inline, request=request)


urlpatterns = [
    path("<int:pk>/", demand_detail, name="demand_detail"),
    path("<int:pk>/step/<str:action>/", demand_step, name="demand_step"),
    path("attachments/<int:pk>/", demand_attachment, name="demand_attachment"),
]

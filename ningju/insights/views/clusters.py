"""Pages of similar demands across the street (合并同类项) and of standing mechanisms (常态化响应机制): the ranked list
of clusters with its "重新分析" job, a cluster's members and decisions, and mechanisms with their recurrence."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.models import Job, JobKind
from ningju.demands.models import Demand
from ningju.demands.workflow import TERMINAL_STATES
from ningju.insights import clusters
from ningju.insights.forms import (
    AnalyseForm,
    ClusterFilterForm,
    MechanismForm,
    SplitForm,
    mechanism_edit_initial,
)
from ningju.insights.models import Cluster, ClusterStatus, Mechanism

RECENT_JOBS = 3


@login_required
def cluster_list(request: AuthedRequest) -> HttpResponse:
    """Clusters of the administrator's street, one line each, largest and most recent first."""
    user = request.user
    scoping.require_street_admin(user)
    filters = ClusterFilterForm(request.GET or None)
    status = filters.cleaned_data.get("status", "") if filters.is_valid() else ""
    page = clusters.cluster_page(user, status, request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "status": status,
        "analyse": AnalyseForm(),
        "trend_days": clusters.TREND_RECENT_DAYS,
        "trend_p": clusters.TREND_P,
        "jobs": Job.objects.filter(created_by=user, kind=JobKind.CLUSTERS).order_by("-created_at")[:RECENT_JOBS],
    }
    template = "insights/clusters.html#results" if request.htmx else "insights/clusters.html"
    return render(request, template, context)


@login_required
@require_POST
def cluster_analyse(request: AuthedRequest) -> HttpResponse:
    """重新分析: queue the proposal job for the chosen window and follow its progress page."""
    scoping.require_street_admin(request.user)
    form = AnalyseForm(request.POST)
    if not form.is_valid():
        for error in form.non_field_errors() or [_("请选择统计区间。")]:
            messages.error(request, str(error))
        return redirect("cluster_list")
    try:
        job = clusters.clusters_analyse_start(
            user=request.user, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("cluster_list")
    return redirect("job_detail", job_id=job.pk)


@login_required
def cluster_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    cluster = scoping.get_for_user(request.user, Cluster.objects.select_related("decided_by"), pk=pk)
    rows = clusters.cluster_members(cluster)
    return render(
        request,
        "insights/cluster_detail.html",
        {
            "cluster": cluster,
            "rows": rows,
            "areas": len({r.demand.area_id for r in rows}),
            "trend": clusters.trend(
                cluster.window_start,
                cluster.window_end,
                [timezone.localtime(r.demand.created_at).date() for r in rows],
            ),
            "terminal": [s.value for s in TERMINAL_STATES],
            "mechanisms": cluster.mechanisms.order_by("-started_on"),
            "confirmed": cluster.status == ClusterStatus.CONFIRMED,
            "dismissed": cluster.status == ClusterStatus.DISMISSED,
        },
    )


DECISIONS = {"confirm": clusters.cluster_confirm, "dismiss": clusters.cluster_dismiss}


@login_required
@require_POST
def cluster_decide(request: AuthedRequest, pk: int, decision: str) -> HttpResponse:
    """确认同类 or 不是同类 (audited by the service)."""
    service = DECISIONS.get(decision)
    if service is None:
        messages.error(request, _("未知的操作。"))
        return redirect("cluster_detail", pk=pk)
    try:
        service(user=request.user, cluster_id=pk, request=request)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        done = _("已确认为同类诉求。") if decision == "confirm" else _("已标记为不是同类。")
        messages.success(request, done)
    return redirect("cluster_detail", pk=pk)


@login_required
@require_POST
def cluster_split(request: AuthedRequest, pk: int) -> HttpResponse:
    """拆分: the chosen members leave the cluster (audited by the service)."""
    scoping.require_street_admin(request.user)
    cluster = scoping.get_for_user(request.user, Cluster.objects.all(), pk=pk)
    members = list(cluster.members.values_list("demand_id", flat=True))
    form = SplitForm(request.POST, demand_ids=members)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("cluster_detail", pk=pk)
    try:
        _kept, split_off = clusters.cluster_split(
            user=request.user,
            cluster_id=pk,
            demand_ids=form.cleaned_data["demands"],
            new_cluster=form.cleaned_data["new_cluster"],
            request=request,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("cluster_detail", pk=pk)
    messages.success(request, _("已拆出 %(count)d 条诉求。") % {"count": len(form.cleaned_data["demands"])})
    if split_off is not None:
        return redirect("cluster_detail", pk=split_off.pk)
    return redirect("cluster_detail", pk=pk)


@login_required
def mechanism_new(request: AuthedRequest, pk: int) -> HttpResponse:
    """建立常态化机制 from a confirmed cluster, prefilled from it."""
    user = request.user
    scoping.require_street_admin(user)
    cluster = scoping.get_for_user(user, Cluster.objects.select_related("street"), pk=pk)
    if cluster.status != ClusterStatus.CONFIRMED:
        messages.error(request, _("只有已确认的同类诉求可以建立常态化机制。"))
        return redirect("cluster_detail", pk=pk)
    initial = clusters.mechanism_initial(cluster)
    form = MechanismForm(request.POST or None, initial=initial, street=cluster.street, areas=initial["areas"])
    if request.method == "POST" and form.is_valid():
        try:
            mechanism = clusters.mechanism_create(
                user=user, cluster_id=pk, data=form.data_object(), request=request
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("常态化机制已建立。"))
            return redirect("mechanism_detail", pk=mechanism.pk)
    return render(
        request,
        "insights/mechanism_form.html",
        {"form": form, "cluster": cluster, "mechanism": None},
        status=400 if form.errors else 200,
    )


@login_required
def mechanism_list(request: AuthedRequest) -> HttpResponse:
    """The street's mechanisms for its administrator; those touching their area for area users."""
    page = Paginator(clusters.mechanism_rows(request.user), clusters.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "insights/mechanisms.html", {"page": page})


@login_required
def mechanism_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """The mechanism, its source cluster and whether the problem came back since it started."""
    user = request.user
    mechanism = scoping.get_for_user(
        user,
        Mechanism.objects.select_related("cluster", "created_by").prefetch_related(
            "areas", "owners", "departments"
        ),
        pk=pk,
    )
    recurrence = clusters.mechanism_recurrence(mechanism)
    # Counts cover every area of the mechanism; a person reads only the demands they may see.
    readable = set(
        scoping.visible(user, Demand.objects.filter(pk__in=[m.demand.pk for m in recurrence.matches])).values_list(
            "pk", flat=True
        )
    )
    shown = [m for m in recurrence.matches if m.demand.pk in readable]
    return render(
        request,
        "insights/mechanism_detail.html",
        {
            "mechanism": mechanism,
            "measures": clusters.measure_labels(mechanism.measures),
            "recurrence": recurrence,
            "shown": shown,
            "hidden": len(recurrence.matches) - len(shown),
            "can_edit": scoping.is_street_admin(user),
            "cluster_visible": mechanism.cluster is not None and scoping.is_street_admin(user),
        },
    )


@login_required
def mechanism_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    """Edit or stop a mechanism (street administrator)."""
    user = request.user
    scoping.require_street_admin(user)
    mechanism = scoping.get_for_user(
        user, Mechanism.objects.select_related("street", "cluster").prefetch_related("areas", "owners"), pk=pk
    )
    areas = list(mechanism.areas.all())
    owners = [u.pk for u in mechanism.owners.all()]
    initial = {
        "name": mechanism.name,
        "description": mechanism.description,
        "owners": owners,
        "departments": list(mechanism.departments.all()),
        "areas": areas,
        "rhythm": mechanism.rhythm,
        "started_on": mechanism.started_on,
        "keywords": mechanism.keywords,
        "active": mechanism.active,
        **mechanism_edit_initial(list(mechanism.measures)),
    }
    form = MechanismForm(
        request.POST or None, initial=initial, street=mechanism.street, areas=areas, owners=owners, edit=True
    )
    if request.method == "POST" and form.is_valid():
        try:
            clusters.mechanism_update(
                user=user,
                mechanism_id=pk,
                data=form.data_object(),
                active=form.cleaned_data["active"],
                request=request,
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("常态化机制已保存。"))
            return redirect("mechanism_detail", pk=pk)
    return render(
        request,
        "insights/mechanism_form.html",
        {"form": form, "cluster": mechanism.cluster, "mechanism": mechanism},
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("clusters/", cluster_list, name="cluster_list"),
    path("clusters/analyse/", cluster_analyse, name="cluster_analyse"),
    path("clusters/<int:pk>/", cluster_detail, name="cluster_detail"),
    path("clusters/<int:pk>/decide/<str:decision>/", cluster_decide, name="cluster_decide"),
    path("clusters/<int:pk>/split/", cluster_split, name="cluster_split"),
    path("clusters/<int:pk>/mechanism/", mechanism_new, name="mechanism_new"),
    path("mechanisms/", mechanism_list, name="mechanism_list"),
    path("mechanisms/<int:pk>/", mechanism_detail, name="mechanism_detail"),
    path("mechanisms/<int:pk>/edit/", mechanism_edit, name="mechanism_edit"),
]

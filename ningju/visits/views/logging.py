"""Visit logging pages: the one-screen phone form (works offline), a visit, a household's visits, the service worker.

With JavaScript the form never posts itself: the page keeps the visit in the phone's outbox (IndexedDB) and
uploads it to the idempotent API when there is a network. Without JavaScript it posts here and goes through the
same service.
"""

import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.models import User
from ningju.demands.models import Demand
from ningju.registry.models import Household, PatrolSite
from ningju.visits import services
from ningju.visits.forms import WAY_SUGGESTIONS, VisitForm
from ningju.visits.models import Route, Stop, Visit

PAGE_SIZE = 50

# Stand-ins in the link patterns handed to the page's script, which puts in the numbers the upload answers with.
DEMAND_PLACEHOLDER = 999999999
VISIT_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def service_worker_scope() -> str:
    """The pages a cadre needs in a stairwell with no signal live under /visits/, where the service worker is
    served, so its scope covers them without any extra header (and follows the site if it moves under a prefix)."""
    return reverse("visit_sw").rsplit("/", 1)[0] + "/"


# What the service worker stores at install so that a visit form opens offline even on the first visit.
OFFLINE_ASSETS = ("ningju/ningju.css", "ningju/visits.css", "ningju/visits-offline.js", "vendor/htmx/htmx.min.js")


def _query_id(request: AuthedRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404(_("记录不存在。"))
    return int(raw)


def _route_url(route: Route) -> str | None:
    """The day's route page, once the route pages are installed (they are another module's)."""
    try:
        return reverse("route_day", args=[route.cadre.username, route.day.isoformat()])
    except NoReverseMatch:
        return None


def _target(request: AuthedRequest) -> tuple[Household | None, PatrolSite | None, Stop | None]:
    """What the form is for: ?household=, ?patrol_site=, or the route's ?stop= (which names either)."""
    stop = None
    stop_id = _query_id(request, "stop")
    if stop_id is not None:
        stop = scoping.get_for_user(request.user, Stop.objects.select_related("route__cadre"), pk=stop_id)
    household_id = _query_id(request, "household") or (stop.household_id if stop else None)
    site_id = _query_id(request, "patrol_site") or (stop.patrol_site_id if stop else None)
    if (household_id is None) == (site_id is None):
        raise Http404(_("请从路线或住户页面进入，指定一户或一个巡查点。"))
    if household_id is not None:
        household = scoping.get_for_user(
            request.user,
            Household.objects.select_related("building__compound__area").prefetch_related("tags", "residents"),
            pk=household_id,
        )
        return household, None, stop
    site = scoping.get_for_user(request.user, PatrolSite.objects.select_related("area", "site_type"), pk=site_id)
    return None, site, stop


def _config(request: AuthedRequest, household: Household | None, site: PatrolSite | None) -> dict[str, Any]:
    """What the page's script needs: where to upload, who is signed in, the household as the page shows it (so
    only real corrections travel), and its messages in the user's language."""
    initial = None
    if household is not None:
        initial = {
            "tenure": household.tenure,
            "notes": household.notes,
            "tags": sorted(tag.pk for tag in household.tags.all()),
        }
    return {
        "api": reverse("api_visit_list"),
        "sw": reverse("visit_sw"),
        "scope": service_worker_scope(),
        "user": request.user.username,
        "household": household.pk if household else None,
        "patrol_site": site.pk if site else None,
        "initial": initial,
        "links": {
            "demand": reverse("demand_detail", args=[DEMAND_PLACEHOLDER]),
            "demand_placeholder": str(DEMAND_PLACEHOLDER),
            "visit": reverse("visit_detail", args=[VISIT_PLACEHOLDER]),
            "visit_placeholder": VISIT_PLACEHOLDER,
        },
        "text": {
            "demand_number": _("诉求 #%(n)s"),
            "pending": _("待同步 %(n)s 条"),
            "synced": _("已同步"),
            "syncing": _("正在同步…"),
            "saved_offline": _("已保存在手机上，有网络时自动上传。"),
            "saved": _("走访已记录。"),
            "login": _("登录已过期：请重新登录，待同步的记录会在登录后上传。"),
            "failed": _("有记录上传失败："),
            "located": _("已定位"),
            "no_location": _("未定位（不影响提交）"),
            "need_mode": _("请选择走访方式。"),
        },
    }


@login_required
def visit_new(request: AuthedRequest) -> HttpResponse:
    household, site, stop = _target(request)
    area = household.building.compound.area if household is not None else site.area  # type: ignore[union-attr]
    services.require_can_log_visits(request.user, area)
    back = (_route_url(stop.route) if stop else None) or (
        reverse("household_detail", args=[household.pk]) if household else reverse("area_detail", args=[area.code])
    )
    if request.method == "POST":
        form = VisitForm(request.POST, household=household)
        if form.is_valid():
            data = form.cleaned_data
            try:
                visit, _created = services.visit_record(
                    user=request.user,
                    visit_id=data["id"],
                    household=household,
                    patrol_site=site,
                    visited_at=data["visited_at"],
                    mode=data["mode"],
                    way=data["way"],
                    met=data["met"],
                    notes=data["notes"],
                    mood=data["mood"],
                    needs=data["needs"],
                    lat=data["lat"],
                    lng=data["lng"],
                    findings=data["findings"],
                    corrections=form.corrections(),
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, saved_message(request.user, visit))
                # The visit's page shows what was filed; from a route it keeps the way back to the route.
                target = reverse("visit_detail", args=[visit.pk])
                return redirect(f"{target}?stop={stop.pk}" if stop else target)
    else:
        form = VisitForm.blank(household)
    residents = [r.name for r in household.residents.all() if r.active] if household is not None else []
    last_visit = (
        Visit.objects.filter(household=household, patrol_site=site)
        .select_related("cadre")
        .order_by("-visited_at")
        .first()
    )
    return render(
        request,
        "visits/visit_new.html",
        {
            "form": form,
            "household": household,
            "site": site,
            "stop": stop,
            "back": back,
            "way_suggestions": WAY_SUGGESTIONS,
            "residents": residents,
            "last_visit": last_visit,
            "config": _config(request, household, site),
        },
    )


def saved_message(user: User, visit: Visit) -> str:
    numbers = list(
        scoping.visible(user, Demand.objects.filter(finding__visit=visit))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not numbers:
        return _("走访已记录。")
    return _("走访已记录；发现的问题已登记为诉求 %(numbers)s，您是首问负责人。") % {
        "numbers": "、".join(f"#{n}" for n in numbers)
    }


@login_required
def visit_detail(request: AuthedRequest, pk: str) -> HttpResponse:
    visit = scoping.get_for_user(
        request.user,
        Visit.objects.select_related("cadre", "area", "household__building", "patrol_site").prefetch_related(
            "findings__demands"
        ),
        pk=pk,
    )
    # Opened right after saving from a route stop (the form without JavaScript): the way back and on.
    stop = None
    stop_id = _query_id(request, "stop")
    if stop_id is not None:
        stop = scoping.get_for_user(request.user, Stop.objects.select_related("route__cadre"), pk=stop_id)
    target = (
        f"household={visit.household_id}"
        if visit.household_id is not None
        else f"patrol_site={visit.patrol_site_id}"
    )
    return render(
        request,
        "visits/visit_detail.html",
        {
            "visit": visit,
            "route_url": _route_url(stop.route) if stop is not None else None,
            "again_url": reverse("visit_new") + "?" + (f"stop={stop.pk}" if stop is not None else target),
            "can_log": services.can_log_visits(request.user, visit.area),
        },
    )


@login_required
def household_visits(request: AuthedRequest, pk: int) -> HttpResponse:
    household = scoping.get_for_user(
        request.user, Household.objects.select_related("building__compound__area"), pk=pk
    )
    visits = household.visits.select_related("cadre").prefetch_related("findings").order_by("-visited_at", "pk")
    return render(
        request,
        "visits/household_visits.html",
        {
            "household": household,
            "page": Paginator(visits, PAGE_SIZE).get_page(request.GET.get("page")),
            "can_log": services.can_log_visits(request.user, household.building.compound.area),
        },
    )


@require_GET
def visit_sw(request: HttpRequest) -> HttpResponse:
    """The service worker script. Served from /visits/ (not /static/) so that it may control the visit pages;
    never cached by the browser's HTTP cache, so a new release reaches phones on their next visit."""
    # Each file's URL as the storage serves it (hashed names in production, so a release changes the version); the
    # prefix is STATIC_URL itself, not a file: the manifest storage has no entry for "" (static("") answered 500).
    assets = [staticfiles_storage.url(name) for name in OFFLINE_ASSETS]
    version = hashlib.sha256(json.dumps(assets).encode()).hexdigest()[:12]
    config = {
        "version": version,
        "assets": assets,
        "static_prefix": urlsplit(str(settings.STATIC_URL)).path,
        "scope": service_worker_scope(),
        "offline_title": _("无网络"),
        "offline_text": _("没有网络，且这个页面今天还没有打开过，手机上没有它的副本。请回到已打开过的走访页面。"),
    }
    literal = json.dumps(config, ensure_ascii=False)  # a JSON object is a JavaScript literal
    response = render(
        request,
        "visits/visit_sw.js",
        {"config": literal, "version": version},
        content_type="application/javascript; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = service_worker_scope()
    return response


urlpatterns = [
    path("new/", visit_new, name="visit_new"),
    path("sw.js", visit_sw, name="visit_sw"),
    path("household/<int:pk>/", household_visits, name="household_visits"),
    path("<uuid:pk>/", visit_detail, name="visit_detail"),
]

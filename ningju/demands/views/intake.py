"""Recording a demand: the 来访登记 desk / general create form, and the one-tap "转为诉求" of a visit finding.

The place comes from the page the user came from (?household=, ?building=, ?compound=, ?patrol_site=, ?finding=),
always fetched through the scoping helper; it decides the area, which only a street administrator without a place
chooses. The create and its photos are one transaction, and the form's client_key makes a double submit store once.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.models import User
from ningju.demands import permissions, services
from ningju.demands.attachments import attachment_add
from ningju.demands.forms import IntakeForm
from ningju.demands.models import Category, Demand, Kind, Source
from ningju.insights.training import suggestion_record
from ningju.registry.models import Building, Compound, Household, PatrolSite, Resident, ResidentialArea
from ningju.visits.models import Finding, Visit

PLACE_PARAMETERS = ("household", "building", "compound", "patrol_site")


def _require_can_register(user: User) -> None:
    if not permissions.can_create_demand(user):
        raise PermissionDenied(_("只有街道和居民区的工作人员可以登记诉求。"))


def _query_id(request: AuthedRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404(_("记录不存在。"))
    return int(raw)


@dataclass
class Prefill:
    """What the page the user came from already says about the demand."""

    area: ResidentialArea | None = None
    household: Household | None = None
    building: Building | None = None
    compound: Compound | None = None
    patrol_site: PatrolSite | None = None
    visit: Visit | None = None
    finding: Finding | None = None
    source: str | None = None
    text: str = ""

    @property
    def place_label(self) -> str:
        if self.household is not None:
            return self.household.address
        if self.building is not None:
            return self.building.address
        if self.compound is not None:
            return self.compound.name
        if self.patrol_site is not None:
            return self.patrol_site.name
        return ""


def _visit_of(user: User, finding_id: int) -> tuple[Finding, Visit]:
    """A finding is as visible as its visit."""
    finding = scoping.get_for_user(user, Finding.objects.all(), pk=finding_id)
    visit = scoping.get_for_user(
        user,
        Visit.objects.select_related("area", "household__building__compound__area", "patrol_site__area"),
        pk=finding.visit_id,
    )
    return finding, visit


def _prefill(request: AuthedRequest) -> Prefill:
    user = request.user
    given = {name: _query_id(request, name) for name in (*PLACE_PARAMETERS, "finding")}
    if sum(value is not None for value in given.values()) > 1:
        raise Http404(_("请只指定一个地点或一条走访发现。"))
    source = request.GET.get("source", "")
    prefill = Prefill(source=source if source in Source.values and source != Source.HOTLINE else None)
    if given["finding"] is not None:
        finding, visit = _visit_of(user, given["finding"])
        prefill.finding, prefill.visit, prefill.area, prefill.text = finding, visit, visit.area, finding.text
        prefill.household, prefill.patrol_site = visit.household, visit.patrol_site
        prefill.source = Source.PATROL if visit.patrol_site_id else Source.VISIT
    elif given["household"] is not None:
        household = scoping.get_for_user(
            user, Household.objects.select_related("building__compound__area"), pk=given["household"]
        )
        prefill.household, prefill.area = household, household.building.compound.area
    elif given["building"] is not None:
        building = scoping.get_for_user(
            user, Building.objects.select_related("compound__area"), pk=given["building"]
        )
        prefill.building, prefill.area = building, building.compound.area
    elif given["compound"] is not None:
        compound = scoping.get_for_user(user, Compound.objects.select_related("area"), pk=given["compound"])
        prefill.compound, prefill.area = compound, compound.area
    elif given["patrol_site"] is not None:
        site = scoping.get_for_user(user, PatrolSite.objects.select_related("area"), pk=given["patrol_site"])
        prefill.patrol_site, prefill.area = site, site.area
        prefill.source = Source.PATROL
    return prefill


def _household_at(user: User, building: Building | None, room: str) -> Household:
    """The household in `room` of the chosen building, within the user's scope."""
    found = scoping.visible(user, Household.objects.filter(building=building, room=room.strip())).first()
    if building is None or found is None:
        raise ApplicationError(_("所选楼栋没有室号“%(room)s”：请核对，或把门牌写在详细地址里。") % {"room": room})
    return found


def created_message(demand: Demand) -> str:
    deadline = (
        formats.date_format(timezone.localtime(demand.due_at), "Y-m-d H:i") if demand.due_at is not None else "—"
    )
    return _("已登记诉求 #%(number)s，您是首问负责人，请在%(deadline)s前首次联系") % {
        "number": demand.pk,
        "deadline": deadline,
    }


def _existing(finding: Finding) -> Demand | None:
    return Demand.objects.filter(finding=finding).only("pk").first()


@login_required
def demand_new(request: AuthedRequest) -> HttpResponse:
    user = request.user
    _require_can_register(user)
    prefill = _prefill(request)
    if prefill.finding is not None and (existing := _existing(prefill.finding)) is not None:
        messages.info(request, _("该走访发现已登记为诉求。"))
        return redirect("demand_detail", pk=existing.pk)

    street_id = scoping.user_street_id(user)
    areas: QuerySet[ResidentialArea] | None = None
    if prefill.area is None and scoping.is_street_admin(user):
        areas = ResidentialArea.objects.filter(street=street_id).order_by("code")
    residents = Resident.objects.current().filter(household=prefill.household) if prefill.household else None
    no_place = prefill.area is None
    compounds = (
        scoping.visible(user, Compound.objects.select_related("area")).order_by("area__code", "name")
        if no_place
        else None
    )
    # A cadre's or head's own area has tens of buildings, one select; the street desk picks a compound and types.
    buildings = (
        scoping.visible(user, Building.objects.select_related("compound")).order_by(
            "compound__name", "road", "lane", "number"
        )
        if no_place and user.area_id is not None
        else None
    )
    initial = {"text": prefill.text, "source": prefill.source or Source.WALK_IN, "kind": Kind.PROBLEM}
    form = IntakeForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial=initial,
        categories=list(scoping.visible(user, Category.objects.all())),  # the user's street's own taxonomy
        areas=areas,
        residents=residents,
        compounds=compounds,
        buildings=buildings,
        user=user,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        building = data.get("building") or prefill.building
        compound = data.get("compound") or prefill.compound
        household = prefill.household
        area = prefill.area or data.get("area") or (compound.area if compound is not None else user.area)
        if building is not None and area is None:
            area = building.compound.area
        try:
            if area is None:
                raise ApplicationError(_("请选择居民区。"))
            if data.get("room"):
                household = _household_at(user, building, data["room"])
                building = None
            with transaction.atomic():
                demand, created = services.demand_create(
                    user=user,
                    area=area,
                    kind=data["kind"],
                    source=data["source"],
                    text=data["text"],
                    category=data["category"],
                    household=household,
                    building=building,
                    compound=compound,
                    patrol_site=prefill.patrol_site,
                    reporter=data.get("reporter"),
                    address=data.get("address", ""),
                    reporter_name=data.get("reporter_name", ""),
                    reporter_phone=data.get("reporter_phone", ""),
                    visit=prefill.visit,
                    finding=prefill.finding,
                    client_key=data["client_key"],
                )
                # A replayed submit returns the stored demand; its photos were stored with the first one.
                if created:
                    for upload in data["photos"]:
                        attachment_add(user=user, demand=demand, upload=upload)
                    suggestion_record(demand=demand)
        except PermissionDenied as refused:
            form.add_error(None, str(refused))
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, created_message(demand))
            return redirect("demand_detail", pk=demand.pk)
    return render(
        request,
        "demands/new.html",
        {"form": form, "prefill": prefill, "street_id": street_id},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def finding_to_demand(request: AuthedRequest, finding_pk: int) -> HttpResponse:
    """One tap on a visit's finding: a 问题 from the visit, at its household or patrol site, owned by whoever tapped.
    Tapping again (or after someone else did) opens the demand it already became."""
    user = request.user
    _require_can_register(user)
    finding, visit = _visit_of(user, finding_pk)
    existing = _existing(finding)
    if existing is None:
        try:
            demand, _created = services.demand_from_finding(user=user, finding=finding, visit=visit)
        except (ApplicationError, PermissionDenied) as refused:
            existing = _existing(finding)  # someone else turned it in the meantime
            if existing is None:
                messages.error(request, getattr(refused, "message", None) or str(refused))
                return redirect("visit_detail", pk=visit.pk)
        else:
            messages.success(request, created_message(demand))
            return redirect("demand_detail", pk=demand.pk)
    messages.info(request, _("该走访发现已登记为诉求。"))
    return redirect("demand_detail", pk=existing.pk)


urlpatterns = [
    path("new/", demand_new, name="demand_new"),
    path("from-finding/<int:finding_pk>/", finding_to_demand, name="finding_to_demand"),
]

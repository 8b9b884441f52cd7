"""Demand list pages: my demands, the area inbox, the street whistle desk, the department portal, all demands with
filters and search, and the xlsx export of a filtered list (run as a background job).

Every list reads through `ningju.demands.selectors`, which starts from what the scoping helper lets the user see;
the actions themselves happen on the demand's own page (`demand_detail`), which every row links to.
"""

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import scoping
from ningju.core.bounds import validate_date_in_range
from ningju.core.http import AuthedRequest
from ningju.core.jobs import job_start
from ningju.core.models import JobKind, User
from ningju.demands import exports, permissions, selectors
from ningju.demands.models import Alert, Category, Demand, Kind, Source
from ningju.demands.selectors import DemandFilter, DeskTab, PortalTab, StateGroup
from ningju.demands.workflow import State
from ningju.registry.models import ResidentialArea

PAGE_SIZE = 50
TEMPLATE = "demands/list.html"
ALL = "all"  # the inbox's "every state" choice
INBOX_STATES = [*StateGroup.choices, (ALL, gettext_lazy("全部"))]


def paginate(request: AuthedRequest, items: QuerySet[Any]) -> Page:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def query(request: AuthedRequest, **changes: str | None) -> str:
    """The current query string with some keys set (or removed with None), always without the page number."""
    params = request.GET.copy()
    params.pop("page", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + params.urlencode() if params else "?"


def show(request: AuthedRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """The whole page, or only its results for htmx (the filter form and pagination fetch these)."""
    template = f"{TEMPLATE}#results" if request.htmx else TEMPLATE
    return render(request, template, context, status=status)


def area_choices(user: User) -> list[tuple[str, str]]:
    areas = scoping.visible(user, ResidentialArea.objects.order_by("code")).values_list("code", "name")
    return [("", _("全部居民区")), *((code, name) for code, name in areas)]


def category_choices(user: User) -> list[tuple[Any, Any]]:
    """The street's top-level categories as groups, each first offered whole (with its children) then child by
    child. Liaisons filter by them too, so the street is the one of their department."""
    street_id = scoping.staff_street_id(user)
    categories = list(Category.objects.filter(street=street_id).order_by("name")) if street_id else []
    children: dict[int, list[Category]] = {}
    for category in categories:
        if category.parent_id is not None:
            children.setdefault(category.parent_id, []).append(category)
    groups: list[tuple[Any, Any]] = [("", _("全部分类"))]
    for top in categories:
        if top.parent_id is None:
            whole = (top.pk, _("%(name)s（全部）") % {"name": top.name})
            groups.append((top.name, [whole, *((child.pk, child.name) for child in children.get(top.pk, []))]))
    return groups


class DemandFilterForm(forms.Form):
    """The filters of the all-demands list and of its export. Only the street administrator picks an area; the
    others see their own area and the demands they own anyway."""

    q = forms.CharField(label=gettext_lazy("搜索"), max_length=100, required=False)
    state = forms.ChoiceField(label=gettext_lazy("状态"), required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("类型"), required=False, choices=[("", gettext_lazy("全部类型")), *Kind.choices]
    )
    source = forms.ChoiceField(
        label=gettext_lazy("来源"), required=False, choices=[("", gettext_lazy("全部来源")), *Source.choices]
    )
    category = forms.TypedChoiceField(label=gettext_lazy("分类"), required=False, coerce=int, empty_value=None)
    area = forms.ChoiceField(label=gettext_lazy("居民区"), required=False)
    alert = forms.ChoiceField(
        label=gettext_lazy("预警"),
        required=False,
        choices=[("", gettext_lazy("全部")), (Alert.YELLOW, Alert.YELLOW.label), (Alert.RED, Alert.RED.label)],
    )
    created_from = forms.DateField(
        label=gettext_lazy("受理日期从"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_date_in_range],
    )
    created_to = forms.DateField(
        label=gettext_lazy("受理日期至"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_date_in_range],
    )
    mine = forms.BooleanField(label=gettext_lazy("只看我负责的"), required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["q"].widget.attrs["placeholder"] = _("诉求内容、工单编号或 #编号")
        state = self.fields["state"]
        assert isinstance(state, forms.ChoiceField)
        state.choices = [
            ("", _("全部状态")),
            (_("按阶段"), list(StateGroup.choices)),
            (_("按状态"), list(State.choices)),
        ]
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = category_choices(user)
        if scoping.is_street_admin(user):
            area = self.fields["area"]
            assert isinstance(area, forms.ChoiceField)
            area.choices = area_choices(user)
        else:
            del self.fields["area"]
        if not permissions.is_area_or_street_staff(user):
            del self.fields["mine"]  # a liaison owns no demands

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("结束日期不能早于开始日期。"))
        return data

    def demand_filter(self) -> DemandFilter:
        """The valid part of what was asked (a field with an error is left out, and the page says so)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return DemandFilter(
            state=data.get("state") or "",
            kind=data.get("kind") or "",
            source=data.get("source") or "",
            category=data.get("category"),
            area=data.get("area") or "",
            mine=bool(data.get("mine")),
            alert=data.get("alert") or "",
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            q=(data.get("q") or "").strip(),
        )


def require_area_or_street(user: User) -> None:
    if not permissions.is_area_or_street_staff(user):
        raise PermissionDenied(_("居民区诉求只对居民区干部和街道管理员开放。"))


def require_liaison(user: User) -> None:
    if not permissions.is_department_liaison(user):
        raise PermissionDenied(_("部门工单只对职能部门联络员开放。"))


def require_export(user: User) -> None:
    if not scoping.can_export(user):
        raise PermissionDenied(_("您的角色不能导出诉求。"))


def tabs(
    request: AuthedRequest,
    key: str,
    choices: Iterable[tuple[str, Any]],
    current: str,
    counts: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    return [
        {
            "label": label,
            "url": query(request, **{key: value}),
            "active": value == current,
            "count": None if counts is None else counts.get(value, 0),
        }
        for value, label in choices
    ]


def alert_cards(counts: selectors.Counts, base: str) -> list[dict[str, Any]]:
    """The open / yellow / red summary, each linking to the list of those demands."""
    url = reverse("demand_all")
    return [
        {"label": _("未结案"), "count": counts.open, "url": f"{url}?{base}state=open", "css": ""},
        {"label": Alert.YELLOW.label, "count": counts.yellow, "url": f"{url}?{base}alert=yellow", "css": "yellow"},
        {"label": Alert.RED.label, "count": counts.red, "url": f"{url}?{base}alert=red", "css": "red"},
    ]


@login_required
def mine(request: AuthedRequest) -> HttpResponse:
    """我的诉求: what the user received and owns (首问负责), open ones first."""
    user = request.user
    if permissions.is_liaison(user):
        return redirect("demand_portal")
    if scoping.is_street_admin(user):
        return redirect("demand_desk")
    now = timezone.now()
    demands = selectors.my_demands(user)
    page = paginate(request, selectors.with_facts(demands))
    context = {
        "title": _("我的诉求"),
        "intro": _("您作为首问负责人接收的诉求，未结案的在前。"),
        "cards": alert_cards(selectors.counts(demands, now), "mine=on&"),
        "page": page,
        "rows": selectors.rows(page.object_list, now),
        "empty": _("您还没有负责的诉求。"),
    }
    return show(request, context)


class InboxForm(forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("状态"), required=False, choices=INBOX_STATES)
    area = forms.ChoiceField(label=gettext_lazy("居民区"), required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if scoping.is_street_admin(user):
            area = self.fields["area"]
            assert isinstance(area, forms.ChoiceField)
            area.choices = area_choices(user)
        else:
            del self.fields["area"]


@login_required
def inbox(request: AuthedRequest) -> HttpResponse:
    """居民区诉求: every demand of the user's area (open ones unless asked otherwise); the street administrator may
    pick an area."""
    user = request.user
    require_area_or_street(user)
    now = timezone.now()
    form = InboxForm(request.GET, user=user)
    form.is_valid()  # a wrong choice falls back to the default and the form shows why
    data = getattr(form, "cleaned_data", {})
    state = data.get("state") or StateGroup.OPEN
    what = DemandFilter(state="" if state == ALL else state, area=data.get("area") or "")
    demands = selectors.demands_for(user)
    if not scoping.is_street_admin(user):
        demands = demands.filter(area=user.area_id)  # the area's own, not those owned elsewhere
    demands = selectors.filtered(demands, what, user=user, now=now)
    page = paginate(request, selectors.with_facts(demands))
    context = {
        "title": _("居民区诉求"),
        "intro": _("本居民区的全部诉求；全岗通：任何一位干部都可以跟进。"),
        "area_form": form if "area" in form.fields else None,
        "tabs": tabs(request, "state", INBOX_STATES, state),
        "page": page,
        "rows": selectors.rows(page.object_list, now),
        "empty": _("没有符合条件的诉求。"),
        "errors": form.errors,
    }
    return show(request, context, status=400 if form.errors else 200)


@login_required
def desk(request: AuthedRequest) -> HttpResponse:
    """吹哨台: whistles to accept, orders to dispatch (returned ones included), departments at work, extensions to
    decide. Each row leads to the demand's page, where the step is taken."""
    user = request.user
    if not scoping.is_street_admin(user):
        raise PermissionDenied(_("吹哨台只对街道管理员开放。"))
    now = timezone.now()
    tab = request.GET.get("tab") or DeskTab.ACCEPT
    if tab not in DeskTab.values:
        tab = DeskTab.ACCEPT
    page = paginate(request, selectors.with_facts(selectors.desk_queryset(user, tab)))
    extensions = selectors.pending_extensions(d.pk for d in page.object_list) if tab == DeskTab.EXTENSIONS else {}
    context = {
        "title": _("吹哨台"),
        "intro": _("居民区吹哨上报的诉求：受理、派单、跟踪部门处置、审批延期。"),
        "cards": alert_cards(selectors.counts(selectors.demands_for(user), now), "")[1:],
        "tabs": tabs(request, "tab", DeskTab.choices, tab, selectors.desk_counts(user)),
        "page": page,
        "rows": selectors.rows(page.object_list, now, extensions=extensions),
        "progress": True,
        "desk": True,  # the street administrator's tools (12345 import, limits, categories) hang off the desk
        "empty": _("这里暂时没有待办的诉求。"),
    }
    return show(request, context)


@login_required
def portal(request: AuthedRequest) -> HttpResponse:
    """部门工单: the orders dispatched to the liaison's department, by where the department stands on each."""
    user = request.user
    require_liaison(user)
    now = timezone.now()
    tab = request.GET.get("tab") or PortalTab.TODO
    if tab not in PortalTab.values:
        tab = PortalTab.TODO
    page = paginate(request, selectors.order_facts(selectors.portal_queryset(user, tab)))
    context = {
        "title": _("部门工单"),
        "intro": _("街道派给%(department)s的诉求：请在时限内报到、处置并反馈结果。")
        % {"department": user.department},
        "tabs": tabs(request, "tab", PortalTab.choices, tab, selectors.portal_counts(user)),
        "page": page,
        "rows": selectors.order_rows(page.object_list, now),
        "progress": True,
        "empty": _("这里暂时没有工单。"),
    }
    return show(request, context)


@login_required
def all_demands(request: AuthedRequest) -> HttpResponse:
    """全部诉求: everything the user may see, newest first, with filters and search kept across pages."""
    user = request.user
    now = timezone.now()
    form = DemandFilterForm(request.GET, user=user)
    form.is_valid()
    demands = selectors.filtered(selectors.demands_for(user), form.demand_filter(), user=user, now=now)
    page = paginate(request, selectors.with_facts(demands))
    context = {
        "title": _("全部诉求"),
        "filter_form": form,
        "export_url": reverse("demand_export") + query(request) if scoping.can_export(user) else None,
        "page": page,
        "rows": selectors.rows(page.object_list, now),
        "empty": _("没有符合条件的诉求。"),
        "errors": form.errors,
    }
    return show(request, context, status=400 if form.errors else 200)


@login_required
def export(request: AuthedRequest) -> HttpResponse:
    """Export the filtered list: the page says what and how many; the button starts the job and goes to its page,
    which offers the download."""
    user = request.user
    require_export(user)
    form = DemandFilterForm(request.GET, user=user)
    valid = form.is_valid()
    what = form.demand_filter()
    if request.method == "POST" and valid:
        job = job_start(
            kind=JobKind.DEMAND_EXPORT,
            handler=exports.export_handler,
            user=user,
            params={"filters": what.as_params()},
        )
        return redirect("job_detail", job_id=job.pk)
    demands: QuerySet[Demand] = selectors.filtered(
        selectors.demands_for(user), what, user=user, now=timezone.now()
    )
    context = {
        "form": form,
        "described": selectors.describe(what),
        "count": demands.count(),
        "back_url": reverse("demand_all") + query(request),
    }
    return render(request, "demands/export.html", context, status=200 if valid else 400)


urlpatterns = [
    path("", mine, name="demand_mine"),
    path("inbox/", inbox, name="demand_inbox"),
    path("desk/", desk, name="demand_desk"),
    path("department/", portal, name="demand_portal"),
    path("all/", all_demands, name="demand_all"),
    path("export/", export, name="demand_export"),
]

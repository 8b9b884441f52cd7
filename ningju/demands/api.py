"""Demands over JSON, mounted under /api/v1/: scoped reads, an idempotent create, and one endpoint per workflow step.

`POST /api/v1/demands/` is idempotent on a client-made key (header `Idempotency-Key` or field `client_key`): the
first create answers 201, a replay answers 200 with the stored demand and writes nothing. Each step is
`POST /api/v1/demands/{id}/<step>/` and answers the demand with its whole timeline. A step that is not allowed
now, or is missing an input, answers 400 with the workflow's message; one the user may not take on a demand they
cannot see answers 403 (404 when it does not exist); a step sent with an `expected_version` that someone else has
since moved past answers 409. Nothing is written on any refusal.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Prefetch, QuerySet
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ningju.api.errors import Conflict, ErrorOutput
from ningju.api.views import current_user, query_filters
from ningju.core import scoping
from ningju.demands import services
from ningju.demands.models import Category, Demand, DemandEvent, Dispatch
from ningju.demands.serializers import (
    ActionInput,
    CallbackActionInput,
    DemandCreateInput,
    DemandDetailOutput,
    DemandFilterInput,
    DemandOutput,
    DispatchActionInput,
    ExtensionActionInput,
    MergeActionInput,
    ReasonActionInput,
)
from ningju.demands.workflow import Action
from ningju.insights.training import suggestion_record
from ningju.registry.models import Building, Compound, Household, PatrolSite, Resident, ResidentialArea
from ningju.visits.models import Finding, Visit

TAG = "demands"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def demand_queryset() -> "QuerySet[Demand]":
    """Unscoped on purpose: lists pass it through scoping.visible(), details through scoping.get_for_user()."""
    return Demand.objects.select_related("area", "owner", "category", "reporter").order_by("-created_at", "-id")


def demand_detail_queryset() -> "QuerySet[Demand]":
    return demand_queryset().prefetch_related(
        Prefetch("events", queryset=DemandEvent.objects.select_related("actor").order_by("at", "id")),
        Prefetch("dispatches", queryset=Dispatch.objects.select_related("department")),
    )


def _get_demand(user: Any, pk: int) -> Demand:
    """The demand if the user may see it: 404 when it does not exist, 403 with a message when it is not theirs."""
    try:
        return scoping.get_for_user(user, demand_detail_queryset(), pk=pk)
    except DjangoPermissionDenied as refused:
        # DRF would answer its own generic text; the user should read why.
        raise exceptions.PermissionDenied(str(refused)) from None


def _related(user: Any, model: type[Any], pk: Any, field: str) -> Any:
    """The related record of a create, fetched through the user's scope like the page form does: an id that does
    not exist and one of another area or street get the same 400 with the same text."""
    if pk is None:
        return None
    try:
        return scoping.fetch_for_write(user, model, pk)
    except serializers.ValidationError as refused:
        raise serializers.ValidationError({field: refused.detail}) from None


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        parameters=[DemandFilterInput],
        description=gettext_lazy(
            "可见范围内的诉求，最新的在前：街道管理员看全街道，居民区干部看本居民区及自己首问的诉求，"
            "部门联络员只看派给本部门的诉求。"
        ),
    ),
)
class DemandListApi(ListAPIView[Demand]):
    """Demands the user may see, newest first; and the create of one demand."""

    serializer_class = DemandOutput

    def get_queryset(self) -> "QuerySet[Demand]":
        filters = query_filters(self.request, DemandFilterInput)
        queryset = scoping.visible(self.request.user, demand_queryset())
        if "state" in filters:
            queryset = queryset.filter(state=filters["state"])
        if "area" in filters:
            queryset = queryset.filter(area__code=filters["area"])
        if filters.get("mine"):
            queryset = queryset.filter(owner=self.request.user.pk)
        return queryset

    @extend_schema(
        tags=[TAG],
        request=DemandCreateInput,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description=gettext_lazy("客户端生成的幂等键；与字段 client_key 作用相同，二者都给时须一致。"),
            )
        ],
        responses={201: DemandDetailOutput, 200: DemandDetailOutput, 400: ErrorOutput, 403: ErrorOutput},
        description=gettext_lazy(
            "登记一条诉求，登记人成为首问负责人，首次联系时限开始计算。以客户端生成的幂等键去重：首次提交返回201；"
            "同一键重复提交返回200和已登记的诉求，不会重复登记。部门联络员不能登记（403）。"
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = DemandCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        header_key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        field_key = data["client_key"].strip()
        if header_key and field_key and header_key != field_key:
            raise serializers.ValidationError({"client_key": [_("请求头 Idempotency-Key 与 client_key 不一致。")]})
        client_key = header_key or field_key
        if len(client_key) > 64:
            raise serializers.ValidationError({"client_key": [_("幂等键最长64个字符。")]})
        user = current_user(request)
        street_id = scoping.user_street_id(user)
        if street_id is None:
            raise exceptions.PermissionDenied(_("只有街道和居民区的工作人员可以登记诉求。"))
        # Any cadre of the street may receive a demand for any area of it (全岗通), so the street bounds the area.
        area = ResidentialArea.objects.filter(code=data["area"], street=street_id).first()
        if area is None:
            raise serializers.ValidationError({"area": [_("居民区不存在或不在您的街道。")]})
        try:
            demand, created = services.demand_create(
                user=user,
                area=area,
                kind=data["kind"],
                source=data["source"],
                text=data["text"],
                category=_related(user, Category, data.get("category"), "category"),
                household=_related(user, Household, data.get("household"), "household"),
                building=_related(user, Building, data.get("building"), "building"),
                compound=_related(user, Compound, data.get("compound"), "compound"),
                patrol_site=_related(user, PatrolSite, data.get("patrol_site"), "patrol_site"),
                reporter=_related(user, Resident, data.get("reporter"), "reporter"),
                visit=_related(user, Visit, data.get("visit"), "visit"),
                finding=_related(user, Finding, data.get("finding"), "finding"),
                external_id=data["external_id"],
                client_key=client_key,
            )
        except DjangoPermissionDenied as refused:
            raise exceptions.PermissionDenied(str(refused)) from None
        if created:
            suggestion_record(demand=demand)
        stored = _get_demand(user, demand.pk)
        return Response(
            DemandDetailOutput(stored).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema(tags=[TAG], responses={200: DemandDetailOutput, 403: ErrorOutput, 404: ErrorOutput})
class DemandDetailApi(RetrieveAPIView[Demand]):
    """One demand with its whole timeline (who, when, from, to, reason, note) and its dispatches."""

    serializer_class = DemandDetailOutput

    def get_object(self) -> Demand:
        return _get_demand(self.request.user, self.kwargs["pk"])


class DemandActionApi(APIView):
    """One workflow step on one demand; the subclasses made from `STEPS` say which step and what it takes."""

    action: Action
    input_class: type[ActionInput] = ActionInput

    def post(self, request: Request, pk: int) -> Response:
        user = current_user(request)
        _get_demand(user, pk)  # 404 / 403 before anything about the step
        serializer = self.input_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected_version = data.pop("expected_version", None)
        try:
            services.demand_act(
                user=user, demand_id=pk, action=self.action, expected_version=expected_version, **data
            )
        except DjangoPermissionDenied as refused:
            raise exceptions.PermissionDenied(str(refused)) from None
        except services.StaleDemandError as stale:
            raise Conflict(stale.message) from None
        return Response(DemandDetailOutput(_get_demand(user, pk)).data)


# (URL segment, workflow action, what it takes). One endpoint per step; the workflow decides who may take it.
STEPS: list[tuple[str, Action, type[ActionInput]]] = [
    ("contact", Action.CONTACT, ActionInput),
    ("start-handling", Action.START_HANDLING, ActionInput),
    ("resolve", Action.RESOLVE, ActionInput),
    ("request-callback", Action.REQUEST_CALLBACK, ActionInput),
    ("callback", Action.CALLBACK, CallbackActionInput),
    ("close", Action.CLOSE, ReasonActionInput),
    ("whistle", Action.WHISTLE, ReasonActionInput),
    ("street-accept", Action.STREET_ACCEPT, ActionInput),
    ("dispatch", Action.DISPATCH, DispatchActionInput),
    ("redispatch", Action.REDISPATCH, DispatchActionInput),
    ("acknowledge", Action.ACKNOWLEDGE, ActionInput),
    ("department-start", Action.DEPARTMENT_START, ActionInput),
    ("department-resolve", Action.DEPARTMENT_RESOLVE, ActionInput),
    ("return", Action.RETURN_ORDER, ReasonActionInput),
    ("request-extension", Action.REQUEST_EXTENSION, ExtensionActionInput),
    ("approve-extension", Action.APPROVE_EXTENSION, ActionInput),
    ("deny-extension", Action.DENY_EXTENSION, ReasonActionInput),
    ("merge", Action.MERGE, MergeActionInput),
]


def _step_view(segment: str, action: Action, input_class: type[ActionInput]) -> type[DemandActionApi]:
    schema = extend_schema(
        tags=[TAG],
        operation_id=f"demands_{action.value}",
        summary=str(action.label),
        request=input_class,
        responses={
            200: DemandDetailOutput,
            400: ErrorOutput,
            403: ErrorOutput,
            404: ErrorOutput,
            409: ErrorOutput,
        },
        description=gettext_lazy(
            "执行诉求处理流程中的一步。当前状态不允许、角色不符或缺少必填项时返回400及原因；"
            "无权处理该诉求返回403；expected_version 已过期（他人已处理）返回409。被拒绝时不写入任何内容。"
        ),
    )
    name = "Demand" + "".join(part.title() for part in segment.split("-")) + "Api"
    view = type(
        name, (DemandActionApi,), {"action": action, "input_class": input_class, "__doc__": str(action.label)}
    )
    # extend_schema_view copies the inherited post() before annotating it, so the steps do not share one schema.
    return extend_schema_view(post=schema)(view)


urlpatterns = [
    path("demands/", DemandListApi.as_view(), name="api_demand_list"),
    path("demands/<int:pk>/", DemandDetailApi.as_view(), name="api_demand_detail"),
    *(
        path(
            f"demands/<int:pk>/{segment}/",
            _step_view(segment, action, input_class).as_view(),
            name=f"api_demand_{action.value}",
        )
        for segment, action, input_class in STEPS
    ),
]

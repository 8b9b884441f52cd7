"""Meetings, action items, events and issued scorecards over JSON, mounted under /api/v1/.

Reads are scoped exactly like the pages. `POST /api/v1/action-items/` adds an item and
`PATCH /api/v1/action-items/{id}/` records progress (status, result, deadline, owner) through the same services as
the pages: a broken rule answers 400 with the Chinese message, a meeting, demand or item outside the user's scope
403, and nothing is written on any refusal.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Prefetch, QuerySet
from django.urls import path
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from ningju.api.errors import ErrorOutput
from ningju.api.fields import BoundedDateField, IdField, IdListField, WorkdaysField
from ningju.api.views import current_user, query_filters
from ningju.core import scoping
from ningju.core.models import User
from ningju.demands.models import Demand
from ningju.meetings import selectors, services
from ningju.meetings.forms import MAX_TEXT
from ningju.meetings.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Event,
    Meeting,
    MeetingKind,
    MeetingStatus,
    ScorecardIssue,
)
from ningju.registry.models import Department

TAG = "meetings"
ACTION_TAG = "action-items"
EVENT_TAG = "events"
SCORECARD_TAG = "scorecards"


def _refused(refused: DjangoPermissionDenied) -> exceptions.PermissionDenied:
    return exceptions.PermissionDenied(str(refused))


def _get(user: Any, queryset: "QuerySet[Any]", pk: int) -> Any:
    try:
        return scoping.get_for_user(user, queryset, pk=pk)
    except DjangoPermissionDenied as refused:
        raise _refused(refused) from None


# --- serializers -----------------------------------------------------------------------------------------------


class MeetingFilterInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MeetingKind.choices, required=False)
    status = serializers.ChoiceField(choices=MeetingStatus.choices, required=False)


class MeetingOutput(serializers.ModelSerializer[Meeting]):
    area = serializers.CharField(source="area.code", allow_null=True, default=None)
    compound = serializers.IntegerField(source="compound_id", allow_null=True)

    class Meta:
        model = Meeting
        fields = ["id", "kind", "status", "title", "area", "compound", "held_at", "place"]


class AgendaItemOutput(serializers.ModelSerializer[AgendaItem]):
    demand = serializers.IntegerField(source="demand_id")
    demand_state = serializers.CharField(source="demand.state")

    class Meta:
        model = AgendaItem
        fields = ["demand", "demand_state", "order", "note"]


class AttendeeOutput(serializers.Serializer):
    user = serializers.IntegerField(source="user_id", allow_null=True)
    name = serializers.CharField()
    party = serializers.CharField()
    organisation = serializers.CharField()


class ActionItemOutput(serializers.ModelSerializer[ActionItem]):
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    department = serializers.IntegerField(source="department_id", allow_null=True)
    meeting = serializers.IntegerField(source="meeting_id", allow_null=True)
    area = serializers.CharField(source="area.code", allow_null=True, default=None)
    demands = serializers.SerializerMethodField()
    alert = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "title",
            "description",
            "status",
            "deadline",
            "alert",
            "owner",
            "department",
            "meeting",
            "area",
            "demands",
            "result",
            "done_at",
            "created_at",
        ]

    def get_demands(self, item: ActionItem) -> list[int]:
        return [demand.pk for demand in item.demands.all()]

    def get_alert(self, item: ActionItem) -> str:
        """ "red" after the deadline, "yellow" on the deadline day, "" otherwise or once done."""
        return selectors.action_colour(item)


class MeetingDetailOutput(MeetingOutput):
    attendees = AttendeeOutput(many=True, read_only=True)
    agenda = AgendaItemOutput(source="agenda_items", many=True, read_only=True)
    action_items = ActionItemOutput(many=True, read_only=True)
    agenda_hidden = serializers.SerializerMethodField(
        help_text=gettext_lazy("问题清单中属于其他居民区、您无权查看的诉求条数（只给条数，不给内容）")
    )

    class Meta(MeetingOutput.Meta):
        fields = [
            *MeetingOutput.Meta.fields,
            *("inspected", "minutes", "decisions", "attendees", "agenda", "agenda_hidden", "action_items"),
        ]

    def get_agenda_hidden(self, meeting: Meeting) -> int:
        return int(getattr(meeting, "agenda_total", 0)) - len(meeting.agenda_items.all())


class ActionFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=ActionStatus.choices, required=False)
    mine = serializers.BooleanField(required=False, help_text=gettext_lazy("只看我（或本部门）负责的"))


class ActionCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT)
    owner = IdField(required=False, allow_null=True, default=None)
    department = IdField(required=False, allow_null=True, default=None)
    deadline = BoundedDateField(required=False, allow_null=True, default=None)
    days = WorkdaysField(
        required=False,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("完成时限：自今天起的工作日数，1至250（未给出 deadline 时使用，默认5）"),
    )
    meeting = IdField(required=False, allow_null=True, default=None)
    demands = IdListField(required=False, default=list)


class ActionUpdateInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=ActionStatus.choices, required=False)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT)
    result = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
    deadline = BoundedDateField(required=False)
    owner = IdField(required=False, allow_null=True)
    department = IdField(required=False, allow_null=True)


class CommunityEventOutput(serializers.ModelSerializer[Event]):
    area = serializers.CharField(source="area.code", allow_null=True, default=None)

    class Meta:
        model = Event
        fields = ["id", "kind", "title", "organiser", "place", "starts_at", "ends_at", "capacity", "area"]


class ScorecardOutput(serializers.ModelSerializer[ScorecardIssue]):
    class Meta:
        model = ScorecardIssue
        fields = ["id", "subject", "start", "end", "issued_at", "rows"]


# --- helpers ---------------------------------------------------------------------------------------------------


def _related(user: User, model: type[Any], pk: int | None, field: str) -> Any:
    """A person or department named in a write, fetched through the user's scope (their street's staff and
    departments): one that does not exist and one of another street get the same 400."""
    if pk is None:
        return None
    try:
        return scoping.fetch_for_write(user, model, pk)
    except serializers.ValidationError as refused:
        raise serializers.ValidationError({field: refused.detail}) from None


def _owner(user: User, pk: int | None) -> User | None:
    owner: User | None = _related(user, User, pk, "owner")
    return owner


def _department(user: User, pk: int | None) -> Department | None:
    department: Department | None = _related(user, Department, pk, "department")
    return department


def action_detail_queryset(user: Any) -> "QuerySet[ActionItem]":
    """Action items with their linked demands narrowed to those `user` may see (an item of a street meeting may
    answer for demands of several areas)."""
    return selectors.action_queryset().prefetch_related(
        Prefetch("demands", queryset=scoping.visible(user, Demand.objects.all()))
    )


def meeting_detail_queryset(user: User) -> "QuerySet[Meeting]":
    """The page's selector: agenda items, action items and their demands already narrowed to the user's scope."""
    return selectors.meeting_detail_queryset(user)


# --- views -----------------------------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        parameters=[MeetingFilterInput],
        description=gettext_lazy(
            "可见范围内的会议，最新的在前：街道管理员看全街道，居民区干部看本居民区和街道层面的会议。"
        ),
    )
)
class MeetingListApi(ListAPIView[Meeting]):
    serializer_class = MeetingOutput

    def get_queryset(self) -> "QuerySet[Meeting]":
        filters = query_filters(self.request, MeetingFilterInput)
        return selectors.meetings_for(
            current_user(self.request), kind=filters.get("kind", ""), status=filters.get("status", "")
        )


@extend_schema(tags=[TAG], responses={200: MeetingDetailOutput, 403: ErrorOutput, 404: ErrorOutput})
class MeetingDetailApi(RetrieveAPIView[Meeting]):
    """One meeting with its attendees, problem list (with each demand's state) and action items."""

    serializer_class = MeetingDetailOutput

    def get_object(self) -> Meeting:
        return _get(self.request.user, meeting_detail_queryset(current_user(self.request)), self.kwargs["pk"])


@extend_schema_view(
    get=extend_schema(
        tags=[ACTION_TAG],
        parameters=[ActionFilterInput],
        description=gettext_lazy("可见范围内的行动事项，按完成时限排序；部门联络员看本部门的事项。"),
    )
)
class ActionItemListApi(ListAPIView[ActionItem]):
    serializer_class = ActionItemOutput

    def get_queryset(self) -> "QuerySet[ActionItem]":
        filters = query_filters(self.request, ActionFilterInput)
        user = current_user(self.request)
        queryset = scoping.visible(user, action_detail_queryset(user))
        if "status" in filters:
            queryset = queryset.filter(status=filters["status"])
        if filters.get("mine"):
            queryset = queryset.filter(selectors.mine_q(user))
        return queryset

    @extend_schema(
        tags=[ACTION_TAG],
        request=ActionCreateInput,
        responses={201: ActionItemOutput, 400: ErrorOutput, 403: ErrorOutput},
        description=gettext_lazy(
            "新建一条行动事项：责任人或责任部门至少一个；完成时限为日期，或自今天起的工作日数（默认5）。"
            "来源会议和对应诉求须在您的范围内（否则403）。"
        ),
    )
    def post(self, request: Request) -> Response:
        user = current_user(request)
        serializer = ActionCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        meeting = None
        if data["meeting"] is not None:
            # A meeting out of scope answers like a missing one; one in scope but not editable is refused (403).
            meeting = _related(user, Meeting, data["meeting"], "meeting")
        try:
            deadline = services.resolve_deadline(deadline=data["deadline"], days=data["days"])
            item = services.action_create(
                user=user,
                title=data["title"],
                description=data["description"],
                owner=_owner(user, data["owner"]),
                department=_department(user, data["department"]),
                deadline=deadline,
                meeting=meeting,
                demand_ids=data["demands"],
            )
        except DjangoPermissionDenied as refused:
            raise _refused(refused) from None
        stored = _get(user, action_detail_queryset(user), item.pk)
        return Response(ActionItemOutput(stored).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(tags=[ACTION_TAG], responses={200: ActionItemOutput, 403: ErrorOutput, 404: ErrorOutput}),
)
class ActionItemDetailApi(RetrieveAPIView[ActionItem]):
    serializer_class = ActionItemOutput

    def get_object(self) -> ActionItem:
        return _get(self.request.user, action_detail_queryset(self.request.user), self.kwargs["pk"])

    @extend_schema(
        tags=[ACTION_TAG],
        request=ActionUpdateInput,
        responses={200: ActionItemOutput, 400: ErrorOutput, 403: ErrorOutput, 404: ErrorOutput},
        description=gettext_lazy(
            "记录行动事项的进展：状态、进展说明、完成情况、完成时限、责任人/部门。标记完成须有完成情况；"
            "某诉求的行动事项全部完成时，按诉求流程尝试办结，流程不允许时通知首问负责人。"
        ),
    )
    def patch(self, request: Request, pk: int) -> Response:
        user = current_user(request)
        _get(user, ActionItem.objects.all(), pk)
        serializer = ActionUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        changes: dict[str, Any] = {}
        if "owner" in data:
            changes["owner"] = _owner(user, data["owner"])
        if "department" in data:
            changes["department"] = _department(user, data["department"])
        try:
            services.action_update(
                user=user,
                item_id=pk,
                status=data.get("status"),
                note=data.get("note", ""),
                result=data.get("result"),
                deadline=data.get("deadline"),
                **changes,
            )
        except DjangoPermissionDenied as refused:
            raise _refused(refused) from None
        return Response(ActionItemOutput(_get(user, action_detail_queryset(user), pk)).data)


@extend_schema_view(get=extend_schema(tags=[EVENT_TAG]))
class EventListApi(ListAPIView[Event]):
    """Community-building events the user may see, newest first."""

    serializer_class = CommunityEventOutput

    def get_queryset(self) -> "QuerySet[Event]":
        return scoping.visible(self.request.user, Event.objects.select_related("area"))


@extend_schema_view(get=extend_schema(tags=[SCORECARD_TAG]))
class ScorecardListApi(ListAPIView[ScorecardIssue]):
    """Issued assessment scorecards of the user's street, newest first, frozen as issued."""

    serializer_class = ScorecardOutput

    def get_queryset(self) -> "QuerySet[ScorecardIssue]":
        return scoping.visible(self.request.user, ScorecardIssue.objects.all())


urlpatterns = [
    path("meetings/", MeetingListApi.as_view(), name="api_meeting_list"),
    path("meetings/<int:pk>/", MeetingDetailApi.as_view(), name="api_meeting_detail"),
    path("action-items/", ActionItemListApi.as_view(), name="api_action_list"),
    path("action-items/<int:pk>/", ActionItemDetailApi.as_view(), name="api_action_detail"),
    path("events/", EventListApi.as_view(), name="api_event_list"),
    path("scorecards/", ScorecardListApi.as_view(), name="api_scorecard_list"),
]

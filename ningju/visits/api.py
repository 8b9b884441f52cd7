"""Visits over JSON, mounted under /api/v1/: the phones' idempotent upload, and scoped reads.

`POST /api/v1/visits/` is idempotent on the visit's id, which the phone makes (a UUID): the first upload answers
201, a replay of the same visit answers 200 with the stored visit and writes nothing, and a different visit under
an id already taken answers 409 and changes nothing. The order of uploads does not matter. Only the area's own
cadres and head may log a visit there (403 otherwise); everyone who may see the area may read its visits.
"""

from typing import Any

from django.db.models import QuerySet
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from ningju.api.errors import Conflict, ErrorOutput
from ningju.api.views import current_user, query_filters
from ningju.core import scoping
from ningju.registry.models import Household, PatrolSite, Tag
from ningju.visits import permissions, services
from ningju.visits.models import Visit
from ningju.visits.serializers import VisitFilterInput, VisitInput, VisitOutput


def visit_queryset() -> "QuerySet[Visit]":
    """Unscoped on purpose (see ningju.api.selectors): lists pass it through visible(), details get_for_user()."""
    return (
        Visit.objects.select_related("area", "cadre")
        .prefetch_related("findings__demands")
        .order_by("-visited_at", "pk")
    )


def _target(user: Any, model: type[Household] | type[PatrolSite], pk: int | None, field: str) -> Any:
    """The household or patrol site visited, fetched through the user's scope: one that does not exist and one of
    another area get the same 400 with the same text."""
    if pk is None:
        return None
    try:
        return scoping.fetch_for_write(user, model, pk)
    except serializers.ValidationError as refused:
        raise serializers.ValidationError({field: refused.detail}) from None


def _corrections(user: Any, data: dict[str, Any] | None) -> services.Corrections | None:
    if not data:
        return None
    tags = None
    if "tags" in data:
        wanted = set(data["tags"])
        # Only the tags of the user's own street: another street's tag answers like a missing one.
        tags = list(scoping.visible(user, Tag.objects.filter(pk__in=wanted, active=True)))
        missing = wanted - {tag.pk for tag in tags}
        if missing:
            raise serializers.ValidationError(
                {"corrections": [_("标签不存在或已停用：%(ids)s") % {"ids": ", ".join(map(str, sorted(missing)))}]}
            )
    return services.Corrections(tenure=data.get("tenure"), notes=data.get("notes"), tags=tags)


@extend_schema_view(
    get=extend_schema(
        tags=["visits"],
        parameters=[VisitFilterInput],
        description=gettext_lazy("可见范围内的走访记录，最新的在前。"),
    ),
)
class VisitListApi(ListAPIView[Visit]):
    """Visits the user may see, newest first; and the upload of one visit."""

    serializer_class = VisitOutput

    def get_queryset(self) -> "QuerySet[Visit]":
        filters = query_filters(self.request, VisitFilterInput)
        queryset = scoping.visible(self.request.user, visit_queryset())
        if "household" in filters:
            queryset = queryset.filter(household_id=filters["household"])
        if "patrol_site" in filters:
            queryset = queryset.filter(patrol_site_id=filters["patrol_site"])
        return queryset

    @extend_schema(
        tags=["visits"],
        request=VisitInput,
        responses={
            201: VisitOutput,
            200: VisitOutput,
            400: ErrorOutput,
            403: ErrorOutput,
            409: ErrorOutput,
        },
        description=gettext_lazy(
            "上传一条走访记录（可离线记录后补传）。以手机端生成的 id 去重：首次上传返回201；"
            "同一条记录重复上传返回200和已保存的记录，不会重复；同一 id 但内容不同返回409，已保存的记录不变。"
            "每条发现在首次上传时登记为一条诉求（返回的 findings[].demand 为诉求编号），重复上传不会重复登记。"
            "只有本居民区的干部可以记录（否则403）。"
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = VisitInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not permissions.can_log_any_visits(request.user):
            raise exceptions.PermissionDenied(_("只有本居民区的干部可以记录走访；街道管理员可以查看走访记录。"))
        household = _target(request.user, Household, data.get("household"), "household")
        patrol_site = _target(request.user, PatrolSite, data.get("patrol_site"), "patrol_site")
        try:
            visit, created = services.visit_record(
                user=current_user(request),
                visit_id=data["id"],
                household=household,
                patrol_site=patrol_site,
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
                corrections=_corrections(request.user, data.get("corrections")),
            )
        except services.VisitConflict as conflict:
            raise Conflict(conflict.message) from None
        stored = scoping.get_for_user(request.user, visit_queryset(), pk=visit.pk)
        return Response(
            VisitOutput(stored).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema(tags=["visits"])
class VisitDetailApi(RetrieveAPIView[Visit]):
    """One visit, with its findings."""

    serializer_class = VisitOutput

    def get_object(self) -> Visit:
        return scoping.get_for_user(self.request.user, visit_queryset(), pk=self.kwargs["pk"])


urlpatterns = [
    path("visits/", VisitListApi.as_view(), name="api_visit_list"),
    path("visits/<uuid:pk>/", VisitDetailApi.as_view(), name="api_visit_detail"),
]

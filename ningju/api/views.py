"""The registry over JSON: one API class per operation, each fetching through the scoping helper.

Lists answer only what the user may see (an empty page for a role that sees nothing); a detail outside the
user's scope is refused with 403, a missing one is 404 — exactly like the pages.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from ningju.api import selectors
from ningju.api.auth import token_obtain
from ningju.api.models import DeviceToken
from ningju.api.serializers import (
    AreaOutput,
    BuildingFilterInput,
    BuildingOutput,
    CompoundFilterInput,
    CompoundOutput,
    HouseholdFilterInput,
    HouseholdOutput,
    ResidentFilterInput,
    ResidentOutput,
    RevealInput,
    RevealOutput,
    TokenInput,
    TokenOutput,
)
from ningju.api.tokens import token_revoke, tokens_revoke
from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.models import User
from ningju.registry import services
from ningju.registry.models import Building, Compound, Household, Resident, ResidentialArea


def current_user(request: Request) -> User:
    """The signed-in user (every registry endpoint requires one, so this only narrows the type)."""
    if not isinstance(request.user, User):
        raise NotAuthenticated()
    return request.user


def query_filters(request: Request, serializer_class: type[drf_serializers.Serializer]) -> dict[str, Any]:
    """The list filters of the query string, validated (a malformed one is a 400 saying what is wrong).

    Strict about the query string's shape too: a filter given empty (`?state=`) or twice is refused, not read as
    "no filter" or "the last one", so what a client sends is what the list is filtered by."""
    serializer = serializer_class(data=request.query_params)
    names: list[str] = list(serializer.fields)
    malformed = {
        name: [_("不能为空，且只能给出一次。")]
        for name in names
        if name in request.query_params
        and (len(values := request.query_params.getlist(name)) > 1 or not values[0].strip())
    }
    if malformed:
        raise drf_serializers.ValidationError(malformed)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- token ------------------------------------------------------------------------------------------------


class TokenApi(APIView):
    """POST: exchange a username and password (and the two-step code where required) for a new token for this
    device (`Authorization: Token <token>`). DELETE: revoke the token the request is made with (sign this device
    out)."""

    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "token"

    def get_authenticators(self) -> list[Any]:
        # Signing in is where a client starts: a stale token or a session cookie must not stand in its way.
        # (The schema generator asks with no request: it then documents the defaults, and POST says auth=[].)
        if getattr(self.request, "method", None) == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [AllowAny()]
        return list(super().get_permissions())

    @extend_schema(request=TokenInput, responses={200: TokenOutput}, auth=[], tags=["auth"])
    def post(self, request: Request) -> Response:
        serializer = TokenInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = token_obtain(request=request, **serializer.validated_data)
        output = TokenOutput({"token": key, "expiry": token.expiry})
        return Response(output.data, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def delete(self, request: Request) -> Response:
        user = current_user(request)
        if not isinstance(request.auth, DeviceToken):
            raise ApplicationError(
                str(_("这个请求不是用令牌登录的，没有可注销的令牌。网页登录请使用“退出登录”。"))
            )
        token_revoke(token=request.auth, by=user, reason="sign_out", request=request._request)
        return Response(status=204)


class TokenListRevokeApi(APIView):
    """DELETE: revoke every token of the signed-in user (sign out all devices, this one included)."""

    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "token"

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def delete(self, request: Request) -> Response:
        user = current_user(request)
        tokens_revoke(user, by=user, reason="sign_out_all", request=request._request)
        return Response(status=204)


# --- residential areas --------------------------------------------------------------------------------------


@extend_schema(tags=["areas"])
class AreaListApi(ListAPIView[ResidentialArea]):
    """Residential areas the user may see, with their counts."""

    serializer_class = AreaOutput

    def get_queryset(self) -> Any:
        return selectors.areas(self.request.user)


@extend_schema(tags=["areas"])
class AreaDetailApi(RetrieveAPIView[ResidentialArea]):
    serializer_class = AreaOutput

    def get_object(self) -> ResidentialArea:
        return selectors.area_detail(self.request.user, self.kwargs["pk"])


# --- compounds ------------------------------------------------------------------------------------------------


@extend_schema(tags=["compounds"], parameters=[CompoundFilterInput])
class CompoundListApi(ListAPIView[Compound]):
    serializer_class = CompoundOutput

    def get_queryset(self) -> Any:
        return selectors.compounds(self.request.user, **query_filters(self.request, CompoundFilterInput))


@extend_schema(tags=["compounds"])
class CompoundDetailApi(RetrieveAPIView[Compound]):
    serializer_class = CompoundOutput

    def get_object(self) -> Compound:
        return scoping.get_for_user(self.request.user, selectors.compound_queryset(), pk=self.kwargs["pk"])


# --- buildings ------------------------------------------------------------------------------------------------


@extend_schema(tags=["buildings"], parameters=[BuildingFilterInput])
class BuildingListApi(ListAPIView[Building]):
    serializer_class = BuildingOutput

    def get_queryset(self) -> Any:
        return selectors.buildings(self.request.user, **query_filters(self.request, BuildingFilterInput))


@extend_schema(tags=["buildings"])
class BuildingDetailApi(RetrieveAPIView[Building]):
    serializer_class = BuildingOutput

    def get_object(self) -> Building:
        return scoping.get_for_user(self.request.user, selectors.building_queryset(), pk=self.kwargs["pk"])


# --- households -----------------------------------------------------------------------------------------------


@extend_schema(tags=["households"], parameters=[HouseholdFilterInput])
class HouseholdListApi(ListAPIView[Household]):
    serializer_class = HouseholdOutput

    def get_queryset(self) -> Any:
        filters = query_filters(self.request, HouseholdFilterInput)
        if "tag" in filters:
            filters["tag"] = selectors.tag_by_id_or_name(self.request.user, filters["tag"])
        return selectors.households(self.request.user, **filters)


@extend_schema(tags=["households"])
class HouseholdDetailApi(RetrieveAPIView[Household]):
    """One household with its tags and its building's coordinates (WGS-84)."""

    serializer_class = HouseholdOutput

    def get_object(self) -> Household:
        return scoping.get_for_user(self.request.user, selectors.household_queryset(), pk=self.kwargs["pk"])


# --- residents ------------------------------------------------------------------------------------------------


@extend_schema(tags=["residents"], parameters=[ResidentFilterInput])
class ResidentListApi(ListAPIView[Resident]):
    """Residents the user may see; ID and phone numbers masked."""

    serializer_class = ResidentOutput

    def get_queryset(self) -> Any:
        return selectors.residents(self.request.user, **query_filters(self.request, ResidentFilterInput))


@extend_schema(tags=["residents"])
class ResidentDetailApi(RetrieveAPIView[Resident]):
    serializer_class = ResidentOutput

    def get_object(self) -> Resident:
        return scoping.get_for_user(self.request.user, selectors.resident_queryset(), pk=self.kwargs["pk"])


class ResidentRevealApi(APIView):
    """One identifier of one resident in clear text, for a permitted role and a stated reason; audited."""

    @extend_schema(
        request=RevealInput,
        responses={200: RevealOutput},
        tags=["residents"],
        description=_("每次查看都记入审计日志（谁、何时、哪位居民、哪个字段、事由）。"),
    )
    def post(self, request: Request, pk: int) -> Response:
        resident = scoping.get_for_user(request.user, Resident.objects.all(), pk=pk)
        serializer = RevealInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        value = services.resident_reveal(
            user=current_user(request),
            resident=resident,
            field=serializer.validated_data["field"],
            reason=serializer.validated_data["reason"],
            request=request._request,
        )
        # The clear text must not linger in a proxy or browser cache.
        return Response(RevealOutput({"value": value}).data, headers={"Cache-Control": "no-store"})

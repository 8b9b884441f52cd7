"""The API's one error body: every 4xx and 5xx under /api/ answers `ErrorOutput` as JSON, never HTML.

    {"detail": "居民区代码须为12位数字。", "code": "invalid", "fields": {"area": ["居民区代码须为12位数字。"]}}

`detail` is one sentence a person can read, `code` a stable machine word (DRF's codes: invalid, not_found,
permission_denied, not_authenticated, method_not_allowed, throttled, parse_error, conflict, ...), and `fields`
— only on a validation error — each offending input's messages, nested inputs as dotted paths
(`corrections.tags.0`). The schema declares it once and every operation's error responses refer to it
(`add_error_responses`, a drf-spectacular postprocessing hook).
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.defaults import page_not_found as django_page_not_found
from django.views.defaults import server_error as django_server_error
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ningju.core.errors import ApplicationError

API_PREFIX = "/api/"


class ErrorOutput(serializers.Serializer):
    """What every error of the API answers."""

    detail = serializers.CharField(help_text=gettext_lazy("原因，可直接展示给用户。"))
    code = serializers.CharField(
        help_text=gettext_lazy("错误类别：invalid、not_found、permission_denied、not_authenticated、conflict 等。")
    )
    # A declared field named like Serializer.fields: DRF's metaclass moves it into _declared_fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text=gettext_lazy("校验错误时，每个有误的字段及其原因（嵌套字段以点号连接）。"),
    )


class Conflict(exceptions.APIException):
    """409: the request lost a race or clashes with what is stored (a stale version, an id taken)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("与已保存的内容冲突。")
    default_code = "conflict"


def error_body(detail: str, code: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": str(detail), "code": code}
    if fields:
        body["fields"] = fields
    return body


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation errors as {"a.b.0": [messages]}."""
    if isinstance(errors, dict):
        flat: dict[str, list[str]] = {}
        for key, value in errors.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(errors, list) and any(isinstance(item, dict | list) for item in errors):
        flat = {}
        for index, value in enumerate(errors):
            if value:
                flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = errors if isinstance(errors, list) else [errors]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    flat = _flatten(exc.detail)
    general = flat.pop("non_field_errors", [])
    if general:
        detail = general[0]
    else:
        name, messages = next(iter(flat.items()), ("", [_("请求内容有误。")]))
        detail = f"{name}：{messages[0]}" if name else messages[0]
    return error_body(detail, "invalid", flat)


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, "invalid"), status=status.HTTP_400_BAD_REQUEST)
    # Django's own refusals as DRF's (as DRF's handler does), so that they get DRF's codes too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)  # status and headers (WWW-Authenticate, Retry-After)
    if response is None:
        return None  # a server error: handler500 below answers it
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc)
    elif isinstance(exc, exceptions.APIException) and isinstance(exc.detail, str):
        response.data = error_body(exc.detail, _code(exc))
    else:
        response.data = error_body(str(getattr(exc, "detail", "") or _("请求有误。")), "error")
    return response


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: under /api/, a path that names no endpoint (or an id of no record) is the JSON 404; elsewhere
    the site's page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body(_("接口或记录不存在。"), "not_found"), status=status.HTTP_404_NOT_FOUND)
    return django_page_not_found(request, exception or Http404())


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """handler500: JSON under /api/, the site's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            error_body(_("服务器内部错误，请稍后再试。"), "server_error"),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return django_server_error(request)


# --- the schema ---------------------------------------------------------------------------------------------------

ERROR_REF = {"$ref": "#/components/schemas/ErrorOutput"}
ERROR_DESCRIPTIONS = {
    "400": gettext_lazy("请求有误（校验失败、违反业务规则、无法解析），原因见 detail 和 fields。"),
    "401": gettext_lazy("未登录或令牌无效。"),
    "403": gettext_lazy("无权执行，或对象不在您的范围内。"),
    "404": gettext_lazy("对象或页码不存在。"),
    "429": gettext_lazy("请求过于频繁，请稍后再试（见 Retry-After）。"),
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation documents the error answers it can give, each with
    the one `ErrorOutput` body. An operation open to anonymous clients (the token exchange) has no 401 and no 404,
    and is the one that is throttled (429)."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            anonymous = operation.get("security") == [] or {} in operation.get("security", [])
            codes = ["400", "403", "429"] if anonymous else ["400", "401", "403", "404"]
            for code in codes:
                operation["responses"].setdefault(
                    code,
                    {
                        "description": str(ERROR_DESCRIPTIONS[code]),
                        "content": {"application/json": {"schema": ERROR_REF}},
                    },
                )
    return result

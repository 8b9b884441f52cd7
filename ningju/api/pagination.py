"""API pagination: `?page=` (1 …) and `?page_size=` (1 … 1000), checked strictly: a malformed one is a 400."""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from ningju.core import bounds

MAX_PAGE_SIZE = 1000


def _positive(request: Request, name: str, maximum: int) -> None:
    values = request.query_params.getlist(name)
    if not values:
        return
    value = values[0]
    if len(values) > 1 or not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ValidationError({name: [_("须为1至%(max)d之间的整数。") % {"max": maximum}]})


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        _positive(request, self.page_query_param, bounds.MAX_INT)
        _positive(request, self.page_size_query_param, self.max_page_size)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        limits = {self.page_query_param: bounds.MAX_INT, self.page_size_query_param: self.max_page_size}
        for parameter in parameters:
            parameter["schema"] = {**parameter["schema"], "minimum": 1, "maximum": limits[parameter["name"]]}
        return parameters

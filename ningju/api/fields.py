"""Bounded serializer fields for every id, date, count and list the API accepts (the bounds: ningju.core.bounds).

Use these instead of DRF's plain fields: each bound is in the schema (minimum, maximum, maxItems) and is checked
while the request is parsed, before a query runs. A related id past the 64-bit range reads exactly like a missing
one ("所选记录不存在或不在您负责的范围内"), so a client learns nothing from its size.
"""

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ningju.core import bounds
from ningju.core.scoping import NOT_FOUND_OR_OUT_OF_SCOPE

# The text of a missing (or out-of-scope) record, so that an id too large for any record answers the same.
NOT_FOUND = NOT_FOUND_OR_OUT_OF_SCOPE


class IdField(serializers.IntegerField):
    """The id of a record named in a request body: 1 … 2⁶³−1; out of range answers like a missing record."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", bounds.MAX_ID)
        messages = {"min_value": NOT_FOUND, "max_value": NOT_FOUND, **kwargs.pop("error_messages", {})}
        super().__init__(error_messages=messages, **kwargs)


class FilterIdField(serializers.IntegerField):
    """An id in a list's query string (`?compound=`): 1 … 2⁶³−1, a clear 400 otherwise."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", bounds.MAX_ID)
        messages = {
            "min_value": _("编号须为正整数。"),
            "max_value": _("编号超出范围。"),
            **kwargs.pop("error_messages", {}),
        }
        super().__init__(error_messages=messages, **kwargs)


class IdListField(serializers.ListField):
    """Ids of related records (`demands: [...]`): at most `bounds.MAX_LIST`, each an `IdField`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", IdField())
        kwargs.setdefault("max_length", bounds.MAX_LIST)
        super().__init__(**kwargs)


class WorkdaysField(serializers.IntegerField):
    """A number of working days: 1 … `bounds.MAX_WORKDAYS`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", bounds.MAX_WORKDAYS)
        super().__init__(**kwargs)


class CountField(serializers.IntegerField):
    """Any other integer a client sends (a version): 1 … 2³¹−1."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", bounds.MAX_INT)
        super().__init__(**kwargs)


class BoundedDateField(serializers.DateField):
    """A date within `bounds.MIN_DATE` … `bounds.MAX_DATE` (a deadline in 9999 is a typo, not a plan)."""

    def to_internal_value(self, value: Any) -> date:
        day = super().to_internal_value(value)
        if not bounds.date_in_range(day):
            raise serializers.ValidationError(bounds.DATE_RANGE_MESSAGE, code="date_range")
        return day


class BoundedDateTimeField(serializers.DateTimeField):
    """A moment whose local date lies within `bounds.MIN_DATE` … `bounds.MAX_DATE`."""

    def to_internal_value(self, value: Any) -> datetime:
        # Refuse before the time zone conversion: 0001-01-01T00:00+08:00 overflows when it is made local.
        year = value[:4] if isinstance(value, str) else ""
        if year.isdigit() and not bounds.MIN_DATE.year - 1 <= int(year) <= bounds.MAX_DATE.year + 1:
            raise serializers.ValidationError(bounds.DATE_RANGE_MESSAGE, code="date_range")
        moment = super().to_internal_value(value)
        try:
            bounds.validate_date_in_range(moment)
        except DjangoValidationError:
            raise serializers.ValidationError(bounds.DATE_RANGE_MESSAGE, code="date_range") from None
        return moment

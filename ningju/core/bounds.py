"""The documented bounds of every number, id, date and list a client may send, shared by forms and serializers.

Each is checked where the input is parsed, before any work is done: a request past a bound is refused with a
Chinese message (400), never left to fail deep inside (an OverflowError from a date, a 64-bit column, a loop over a
billion working days).
"""

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A count of working days (a deadline, an extension): a year has about 250.
MAX_WORKDAYS = 250

# Every date a user or client may enter: the platform's records start this century, and plans end before the next.
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2100, 12, 31)

# The database ids are 64-bit (BigAutoField); a larger number can name no record.
MAX_ID = 2**63 - 1
# Other integers a client sends (a version, a page): a 32-bit column holds them.
MAX_INT = 2**31 - 1

# The most items in one list of a request (related ids, findings).
MAX_LIST = 100

# The longest span a calendar computation walks (workdays_between): a few statistics periods.
MAX_SPAN_DAYS = 20 * 366

DATE_RANGE_MESSAGE = _("日期须在2000-01-01至2100-12-31之间。")


def date_in_range(value: date) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return MIN_DATE <= day <= MAX_DATE


def validate_date_in_range(value: Any) -> None:
    """A form or model validator: the date (or the local date of a datetime) lies within MIN_DATE … MAX_DATE."""
    if value is None:
        return
    if isinstance(value, datetime) and timezone.is_aware(value):
        # Compare the date the user meant: 2000-01-01 08:00 in Shanghai is 1999-12-31 in UTC.
        value = timezone.localtime(value)
    if not date_in_range(value):
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_range")

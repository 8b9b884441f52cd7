"""Exporting the overdue list to xlsx: the households the page lists, in its order, scoped and audited.

The file carries addresses, rules and dates only (no names, phone or ID numbers): it is a work list for the area.
"""

from collections.abc import Iterator
from datetime import date
from typing import IO, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from ningju.core.audit import audit
from ningju.core.models import AuditAction, User
from ningju.core.tables import write_xlsx
from ningju.visits import coverage

# Households fetched per query while writing, so memory stays bounded for a whole street.
CHUNK = 2000


def overdue_headers() -> list[str]:
    return [_("居民区"), _("地址"), _("走访要求"), _("上次走访"), _("距上次走访天数"), _("应走访截止日期")]


def overdue_rows(dues: list[coverage.HouseholdDue]) -> Iterator[list[Any]]:
    for offset in range(0, len(dues), CHUNK):
        chunk = dues[offset : offset + CHUNK]
        households = coverage.households_by_id([d.household_id for d in chunk])
        for due in chunk:
            household = households[due.household_id]
            yield [
                household.building.compound.area.name,
                household.address,
                due.requirement.label,
                due.last.isoformat() if due.last else _("从未走访"),
                due.days_since if due.days_since is not None else "",
                due.next_due.isoformat(),
            ]


def export_overdue(
    *,
    user: User,
    target: IO[bytes],
    scope: coverage.CoverageScope,
    as_of: date,
    sort: str,
    request: HttpRequest | None = None,
) -> int:
    """Write the scope's overdue households on `as_of`, sorted as on the page; audit the export. Returns the row
    count."""
    dues = coverage.household_dues(scope.households, coverage.rules.RuleBook(scope.street), as_of)
    codes = {a.pk: a.code for a in scope.areas}
    overdue = coverage.filter_and_sort(dues, status=coverage.STATUS_OVERDUE, sort=sort, area_codes=codes)
    count = write_xlsx(target, [(_("逾期未走访"), overdue_headers(), overdue_rows(overdue))])
    audit(
        user=user,
        action=AuditAction.EXPORT,
        target_type="visits.overdue",
        detail={
            "rows": count,
            "scope": scope.label,
            "area": scope.area.code if scope.area else "",
            "as_of": as_of.isoformat(),
        },
        request=request,
    )
    return count

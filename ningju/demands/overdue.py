"""Yellow and red warnings on demand deadlines: the rule (`alert_for`) and the job that flags demands and tells people.

Red: the deadline has passed. Yellow: not red, and the due day (Asia/Shanghai) is within
`NINGJU_DEMAND_WARN_WORKDAYS` working days of today (0: only on the due day itself). No deadline (the street desk,
waiting for a callback) or a closed or merged demand: no warning.

`demands_flag_overdue` runs every 15 minutes (`ningju.demands.tasks`) and on demand (`ningju flag-overdue`). It
stores the warning on `Demand.alert` for the lists to colour rows, and tells people when a demand gets worse
(none → yellow, → red): the owner; the liaisons of the departments still on it when the clock is theirs; and for
red also the area's heads and the street administrators. A notice is keyed by demand, colour and deadline, so
re-runs tell nobody twice, while a new deadline (a new stage, an extension) can warn again.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ningju.core.models import NoticeLevel
from ningju.core.notify import Notice, notify_many
from ningju.core.workdays import add_workdays
from ningju.demands import notices
from ningju.demands.models import Alert, Demand
from ningju.demands.workflow import DEPARTMENT_STATES, TERMINAL_STATES, State

CHUNK = 500  # demands per bulk update and per round of recipient look-ups

_RANK = {Alert.NONE: 0, Alert.YELLOW: 1, Alert.RED: 2}

T = TypeVar("T")


@dataclass(frozen=True)
class FlagResult:
    """What one run found: open demands with a deadline (`checked`), how many are yellow and red now, how many
    lost their warning, and how many new notices went out."""

    checked: int = 0
    yellow: int = 0
    red: int = 0
    cleared: int = 0
    notified: int = 0


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def last_warning_day(today: date, warn_workdays: int) -> date:
    """The latest due day that is yellow today."""
    return today if warn_workdays <= 0 else add_workdays(today, warn_workdays)


def warning_horizon(now: datetime, warn_workdays: int) -> datetime:
    """Deadlines before this instant are yellow or red at `now`; later ones are not yet worth a warning."""
    last_day = last_warning_day(timezone.localtime(now, _zone()).date(), warn_workdays)
    return datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=_zone())


def alert_for(due_at: datetime | None, now: datetime, warn_workdays: int) -> Alert:
    """The warning a deadline deserves at `now` (see the module docstring)."""
    if due_at is None:
        return Alert.NONE
    if due_at < now:
        return Alert.RED
    due_day = timezone.localtime(due_at, _zone()).date()
    if due_day <= last_warning_day(timezone.localtime(now, _zone()).date(), warn_workdays):
        return Alert.YELLOW
    return Alert.NONE


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def demands_flag_overdue(*, now: datetime | None = None) -> FlagResult:
    """Recompute every open demand's warning, store the changes in bulk, and tell people about new escalations."""
    now = now or timezone.now()
    warn = settings.NINGJU_DEMAND_WARN_WORKDAYS
    # Due before this instant: yellow or red. Later and unflagged: nothing to do, so those rows are never read.
    horizon = warning_horizon(now, warn)
    running = Q(due_at__isnull=False) & ~Q(state__in=TERMINAL_STATES)

    # Flagged but no clock runs any more (closed, merged, at the street desk, waiting for a callback).
    cleared = Demand.objects.exclude(alert=Alert.NONE).exclude(running).update(alert=Alert.NONE)
    checked = Demand.objects.filter(running).count()

    changed: dict[Alert, list[int]] = {Alert.NONE: [], Alert.YELLOW: [], Alert.RED: []}
    now_flagged = {Alert.YELLOW: 0, Alert.RED: 0}
    escalated: list[tuple[int, Alert, datetime]] = []
    candidates = (
        Demand.objects.filter(running)
        .filter(Q(due_at__lt=horizon) | ~Q(alert=Alert.NONE))
        .order_by("pk")
        .values_list("pk", "due_at", "alert")
    )
    for pk, due_at, stored in candidates.iterator(chunk_size=CHUNK):
        alert = alert_for(due_at, now, warn)
        if alert != Alert.NONE:
            now_flagged[alert] += 1
        if alert == stored:
            continue
        changed[alert].append(pk)
        if due_at is not None and _RANK[alert] > _RANK[Alert(stored)]:  # the filter excludes None already
            escalated.append((pk, alert, due_at))
    for alert, ids in changed.items():
        for chunk in _chunks(ids):
            Demand.objects.filter(pk__in=chunk).update(alert=alert)

    notified = sum(notify_many(_escalation_notices(chunk)) for chunk in _chunks(escalated))
    return FlagResult(
        checked=checked,
        yellow=now_flagged[Alert.YELLOW],
        red=now_flagged[Alert.RED],
        cleared=cleared + len(changed[Alert.NONE]),
        notified=notified,
    )


def _escalation_notices(escalated: Sequence[tuple[int, Alert, datetime]]) -> list[Notice]:
    """The notices for one chunk of escalations, with every recipient looked up in a few queries."""
    rows = {
        row["pk"]: row
        for row in Demand.objects.filter(pk__in=[pk for pk, _alert, _due in escalated]).values(
            "pk", "owner_id", "area_id", "area__street_id", "state", "text"
        )
    }
    on_departments = [pk for pk, row in rows.items() if row["state"] in DEPARTMENT_STATES]
    departments = notices.open_departments(on_departments)
    liaisons = notices.liaisons({d for ids in departments.values() for d in ids})
    red_rows = [rows[pk] for pk, alert, _due in escalated if alert == Alert.RED and pk in rows]
    heads = notices.area_heads(row["area_id"] for row in red_rows)
    admins = notices.street_admins(row["area__street_id"] for row in red_rows)

    result: list[Notice] = []
    with translation.override(settings.LANGUAGE_CODE):
        for pk, alert, due_at in escalated:
            row = rows.get(pk)
            if row is None:
                continue  # deleted since it was read
            users = [row["owner_id"]]
            users += [user for d in departments.get(pk, []) for user in liaisons.get(d, [])]
            if alert == Alert.RED:
                users += heads.get(row["area_id"], []) + admins.get(row["area__street_id"], [])
            due = date_format(timezone.localtime(due_at, _zone()), "Y-m-d")
            values = {"number": pk, "due": due}
            if alert == Alert.RED:
                title = _("诉求 #%(number)s 已超时（时限 %(due)s）") % values
            else:
                title = _("诉求 #%(number)s 即将超时（%(due)s 到期）") % values
            body = _("当前环节：%(state)s。%(text)s") % {
                "state": State(row["state"]).label,
                "text": row["text"][:100],
            }
            key = f"demand:{pk}:{alert.value}:{due_at.astimezone(ZoneInfo('UTC')).isoformat()}"
            level = NoticeLevel.RED if alert == Alert.RED else NoticeLevel.YELLOW
            url = notices.demand_url(pk)
            result += [
                Notice(user_id=user, title=title, body=body, url=url, level=level, key=key)
                for user in dict.fromkeys(users)
            ]
    return result

"""Reads for the meeting and action-list pages: scoped lists with their filters, the problem-list picker, the
action list's tabs and the deadline colour of an action item.

Every list starts from `scoping.visible(user, ...)`; nothing here filters by role on its own except the tabs,
which narrow what the scoping helper already allowed.
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ningju.core import scoping
from ningju.core.models import User
from ningju.demands.models import Alert, Demand
from ningju.demands.selectors import OPEN_STATES, WHISTLED_STATES, alert_q
from ningju.insights.models import ClusterMember, ClusterStatus
from ningju.meetings import permissions
from ningju.meetings.models import ActionItem, ActionStatus, AgendaItem, Attendee, Meeting, MeetingFile

OPEN_ACTION = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


def meeting_queryset() -> "QuerySet[Meeting]":
    """Unscoped on purpose: lists pass it through scoping.visible(), details through scoping.get_for_user()."""
    return Meeting.objects.select_related("area", "compound", "subgrid", "created_by")


def meetings_for(
    user: User, *, kind: str = "", status: str = "", month: date | None = None
) -> "QuerySet[Meeting]":
    """The meetings the user may see, newest first, narrowed by kind, status and month (any day in it)."""
    queryset = scoping.visible(user, meeting_queryset())
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    if month is not None:
        tz = ZoneInfo(settings.TIME_ZONE)
        start = datetime.combine(month.replace(day=1), time.min, tzinfo=tz)
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        end = datetime.combine(following, time.min, tzinfo=tz)
        queryset = queryset.filter(held_at__gte=start, held_at__lt=end)
    return queryset


def meeting_detail_queryset(user: User) -> "QuerySet[Meeting]":
    """Meetings with what hangs under them already narrowed to what `user` may see: a street-wide meeting's
    problem list shows an area user only the demands they may see (`agenda_total` counts them all, so the page
    can say how many more belong to other areas), its action items and their demands likewise."""
    return (
        meeting_queryset()
        .annotate(agenda_total=models.Count("agenda_items", distinct=True))
        .prefetch_related(
            Prefetch("attendees", queryset=scoping.visible(user, Attendee.objects.select_related("user"))),
            Prefetch(
                "agenda_items",
                queryset=scoping.visible(user, AgendaItem.objects.select_related("demand__area", "demand__owner")),
            ),
            Prefetch("files", queryset=scoping.visible(user, MeetingFile.objects.select_related("uploaded_by"))),
            Prefetch(
                "action_items",
                queryset=scoping.visible(
                    user, ActionItem.objects.select_related("owner", "department")
                ).prefetch_related(Prefetch("demands", queryset=scoping.visible(user, Demand.objects.all()))),
            ),
        )
    )


class AgendaFilter(models.TextChoices):
    """What the problem-list picker offers: open demands, whistled ones, overdue ones, those in a confirmed
    cluster of similar demands."""

    OPEN = "open", _("未结案")
    WHISTLED = "whistled", _("吹哨处置中")
    OVERDUE = "overdue", _("已超时")
    CLUSTER = "cluster", _("同类诉求")


def agenda_candidates(user: User, meeting: Meeting, what: str, now: datetime) -> "QuerySet[Demand]":
    """Demands the user may see that fit the filter and are not yet on this meeting's problem list."""
    queryset = scoping.visible(user, Demand.objects.select_related("area", "owner")).exclude(
        agenda_items__meeting=meeting
    )
    if meeting.area_id is not None:
        queryset = queryset.filter(area=meeting.area_id)
    queryset = queryset.filter(state__in=OPEN_STATES)
    if what == AgendaFilter.WHISTLED:
        queryset = queryset.filter(state__in=WHISTLED_STATES)
    elif what == AgendaFilter.OVERDUE:
        queryset = queryset.filter(alert_q(Alert.RED, now))
    elif what == AgendaFilter.CLUSTER:
        confirmed = ClusterMember.objects.filter(demand=OuterRef("pk"), cluster__status=ClusterStatus.CONFIRMED)
        queryset = queryset.filter(Exists(confirmed))
    return queryset.order_by("-created_at", "-id")


# --- action items ----------------------------------------------------------------------------------------------


class ActionTab(models.TextChoices):
    MINE = "mine", _("我的")
    SCOPE = "scope", _("全部")
    OVERDUE = "overdue", _("已超期")


def action_queryset() -> "QuerySet[ActionItem]":
    """Unscoped on purpose: always passed through the scoping helper."""
    return ActionItem.objects.select_related("owner", "department", "meeting", "area")


def mine_q(user: User) -> Q:
    """Items the user answers for: their own, and for a liaison their department's."""
    return permissions.own_action_q(user)


def scope_tab_label(user: User) -> str:
    if permissions.is_street_admin(user):
        return str(_("全街道"))
    if permissions.is_area_user(user):
        return str(_("本居民区"))
    return ""


def actions_for(user: User, tab: str, today: date | None = None) -> "QuerySet[ActionItem]":
    today = today or timezone.localdate()
    queryset = scoping.visible(user, action_queryset())
    if tab == ActionTab.OVERDUE:
        return queryset.filter(status__in=OPEN_ACTION, deadline__lt=today)
    if tab == ActionTab.SCOPE and scope_tab_label(user):
        return queryset
    return queryset.filter(mine_q(user))


def action_colour(item: ActionItem, today: date | None = None) -> str:
    """Like a demand's deadline: yellow on the deadline day, red after it; nothing once done or cancelled."""
    if item.status not in OPEN_ACTION:
        return ""
    today = today or timezone.localdate()
    if item.deadline < today:
        return Alert.RED.value
    if item.deadline == today:
        return Alert.YELLOW.value
    return ""


def demand_meetings(user: User, demand: Demand) -> tuple[list[Meeting], list[ActionItem]]:
    """For the demand page: the visible meetings that put it on their agenda and its visible action items."""
    meetings = list(scoping.visible(user, Meeting.objects.filter(agenda_items__demand=demand)).distinct())
    actions = list(
        scoping.visible(user, ActionItem.objects.filter(demands=demand))
        .select_related("owner", "department")
        .distinct()
    )
    return meetings, actions

"""Writes for meetings and the action list: a meeting and its attendees, problem list and files; action items and
their progress, and the hand-over to the demand workflow when a demand's last action item is done.

Who may write: the street administrator anything in the street; an area head or cadre their own area's meetings
(street-level ones such as the 民情分析会 are the street's). An action item is moved on by whoever answers for it
(its owner, a liaison of its department) or by those who may write its meeting's scope.
"""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import scoping, workdays
from ningju.core.errors import ApplicationError
from ningju.core.models import NoticeLevel, Role, User
from ningju.core.notify import notify
from ningju.demands.attachments import check_upload
from ningju.demands.models import Demand
from ningju.demands.workflow import Action, WorkflowError
from ningju.meetings.models import (
    ActionItem,
    ActionProgress,
    ActionStatus,
    AgendaItem,
    Attendee,
    Meeting,
    MeetingFile,
    MeetingKind,
    MeetingStatus,
    Party,
)
from ningju.registry.models import Compound, Department, Grid, ResidentialArea

# Kinds that are the street's own business: area users may read them but not record them.
STREET_KINDS = frozenset({MeetingKind.ANALYSIS})
DEFAULT_ACTION_WORKDAYS = 5


def _street_id(user: User) -> int:
    street_id = scoping.user_street_id(user)
    if street_id is None:
        raise PermissionDenied(_("您没有记录会议的权限。"))
    return street_id


def can_edit_meeting(user: User, meeting: Meeting) -> bool:
    """The street administrator of its street, or an area head/cadre of its area (area-level meetings only)."""
    if user.role == Role.STREET_ADMIN:
        return meeting.street_id == user.street_id
    if user.role in scoping.AREA_ROLES:
        return meeting.area_id is not None and meeting.area_id == user.area_id
    return False


def _require_edit(user: User, meeting: Meeting) -> None:
    if not can_edit_meeting(user, meeting):
        raise PermissionDenied(_("您无权修改该会议：它不在您负责的范围内。"))


def meeting_save(
    *,
    user: User,
    meeting: Meeting | None = None,
    kind: str,
    title: str,
    held_at: datetime,
    area: ResidentialArea | None = None,
    compound: Compound | None = None,
    subgrid: Grid | None = None,
    place: str = "",
    status: str = MeetingStatus.PLANNED,
    inspected: str = "",
    minutes: str = "",
    decisions: str = "",
) -> Meeting:
    """Create (`meeting` None) or edit a meeting, checking its scope against the user's role."""
    street_id = _street_id(user)
    if meeting is not None:
        _require_edit(user, meeting)
    if kind not in MeetingKind.values:
        raise ApplicationError(_("请选择会议类型。"))
    if status not in MeetingStatus.values:
        raise ApplicationError(_("请选择会议状态。"))
    if not title.strip():
        raise ApplicationError(_("请填写会议名称。"))
    if compound is not None:
        if area is None:
            area = compound.area
        elif compound.area_id != area.pk:
            raise ApplicationError(_("所选小区不在该居民区。"))
    if area is not None and area.street_id != street_id:
        raise ApplicationError(_("所选居民区不在本街道。"))
    if subgrid is not None and subgrid.street_id != street_id:
        raise ApplicationError(_("所选次格不在本街道。"))
    if kind == MeetingKind.TROIKA and compound is None:
        raise ApplicationError(_("三驾马车现场合署办公须选择小区。"))
    if user.role != Role.STREET_ADMIN:
        if kind in STREET_KINDS:
            raise PermissionDenied(_("民情分析会由街道管理员记录。"))
        if area is None:
            area = user.area
        if area is None or area.pk != user.area_id:
            raise PermissionDenied(_("您只能记录本居民区的会议。"))

    fields = {
        "kind": kind,
        "title": title.strip(),
        "held_at": held_at,
        "area": area,
        "compound": compound,
        "subgrid": subgrid,
        "place": place.strip(),
        "status": status,
        "inspected": inspected,
        "minutes": minutes,
        "decisions": decisions,
    }
    if meeting is None:
        return Meeting.objects.create(street_id=street_id, created_by=user, **fields)
    for name, value in fields.items():
        setattr(meeting, name, value)
    meeting.save(update_fields=list(fields))
    return meeting


def attendee_add(
    *,
    user: User,
    meeting: Meeting,
    person: User | None = None,
    name: str = "",
    party: str = Party.COMMITTEE,
    organisation: str = "",
) -> Attendee:
    """Add a platform user (`person`) or a named outside party to the meeting."""
    _require_edit(user, meeting)
    if party not in Party.values:
        raise ApplicationError(_("请选择参会人的单位/身份。"))
    if person is not None:
        name = name.strip() or person.display_name
    if not name.strip():
        raise ApplicationError(_("请填写参会人姓名或选择平台用户。"))
    return Attendee.objects.create(
        meeting=meeting, user=person, name=name.strip(), party=party, organisation=organisation.strip()
    )


def attendee_remove(*, user: User, attendee: Attendee) -> None:
    _require_edit(user, attendee.meeting)
    attendee.delete()


def agenda_add(*, user: User, meeting: Meeting, demand_ids: Iterable[int]) -> int:
    """Put the chosen demands on the problem list (those already there are skipped). Returns how many were added.
    Only demands the user may see can be chosen."""
    _require_edit(user, meeting)
    wanted = set(demand_ids)
    if not wanted:
        raise ApplicationError(_("请至少选择一条诉求。"))
    visible = set(scoping.visible(user, Demand.objects.filter(pk__in=wanted)).values_list("pk", flat=True))
    if visible != wanted:
        raise PermissionDenied(_("所选诉求中有不在您负责范围内的。"))
    present = set(AgendaItem.objects.filter(meeting=meeting).values_list("demand_id", flat=True))
    start = AgendaItem.objects.filter(meeting=meeting).count()
    new = sorted(wanted - present)
    AgendaItem.objects.bulk_create(
        [AgendaItem(meeting=meeting, demand_id=pk, order=start + i) for i, pk in enumerate(new)]
    )
    return len(new)


def agenda_note(*, user: User, item: AgendaItem, note: str) -> AgendaItem:
    _require_edit(user, item.meeting)
    item.note = note
    item.save(update_fields=["note"])
    return item


def agenda_remove(*, user: User, item: AgendaItem) -> None:
    _require_edit(user, item.meeting)
    item.delete()


def meeting_file_add(*, user: User, meeting: Meeting, upload: UploadedFile) -> MeetingFile:
    _require_edit(user, meeting)
    checked = check_upload(upload)
    row = MeetingFile(
        meeting=meeting,
        name=checked.name,
        content_type=checked.content_type,
        size=upload.size or 0,
        uploaded_by=user,
    )
    row.file.save(checked.name, upload, save=False)
    row.save()
    return row


# --- action items ----------------------------------------------------------------------------------------------


def street_users(street_id: int) -> Any:
    """Everyone of the street who may answer for an action item."""
    return User.objects.filter(
        Q(street=street_id) | Q(area__street=street_id) | Q(department__street=street_id), is_active=True
    )


def resolve_deadline(*, deadline: date | None, days: int | None, today: date | None = None) -> date:
    """A given date, or `days` working days from today (the default five when neither is given)."""
    today = today or timezone.localdate()
    if deadline is None:
        count = DEFAULT_ACTION_WORKDAYS if days is None else days
        if count < 1:
            raise ApplicationError(_("工作日数须大于0。"))
        return workdays.add_workdays(today, count)
    if deadline < today:
        raise ApplicationError(_("完成时限不能早于今天。"))
    return deadline


def _check_owner(street_id: int, owner: User | None, department: Department | None) -> None:
    if owner is None and department is None:
        raise ApplicationError(_("请指定责任人或责任部门。"))
    if owner is not None and not street_users(street_id).filter(pk=owner.pk).exists():
        raise ApplicationError(_("责任人不是本街道的用户。"))
    if department is not None and (department.street_id != street_id or not department.active):
        raise ApplicationError(_("责任部门不是本街道的在用部门。"))


def can_edit_action(user: User, item: ActionItem) -> bool:
    """Who answers for it, and those who may write its scope."""
    if item.owner_id == user.pk:
        return True
    if user.role == Role.LIAISON:
        return item.department_id is not None and item.department_id == user.department_id
    if user.role == Role.STREET_ADMIN:
        return item.street_id == user.street_id
    if user.role in scoping.AREA_ROLES:
        return item.area_id is not None and item.area_id == user.area_id
    return False


@transaction.atomic
def action_create(
    *,
    user: User,
    title: str,
    deadline: date,
    owner: User | None = None,
    department: Department | None = None,
    description: str = "",
    meeting: Meeting | None = None,
    demand_ids: Iterable[int] = (),
) -> ActionItem:
    """Add one action item, from a meeting (its scope) or standalone (the user's area, or the street's)."""
    street_id = _street_id(user)
    if meeting is not None:
        _require_edit(user, meeting)
    if not title.strip():
        raise ApplicationError(_("请填写事项。"))
    if deadline < timezone.localdate():
        raise ApplicationError(_("完成时限不能早于今天。"))
    _check_owner(street_id, owner, department)
    wanted = set(demand_ids)
    demands = list(scoping.visible(user, Demand.objects.filter(pk__in=wanted)).only("pk", "area_id"))
    if len(demands) != len(wanted):
        raise PermissionDenied(_("所选诉求中有不在您负责范围内的。"))
    if meeting is not None:
        area_id = meeting.area_id
    elif user.role in scoping.AREA_ROLES:
        area_id = user.area_id
    else:
        areas = {d.area_id for d in demands}
        area_id = areas.pop() if len(areas) == 1 else None
    item = ActionItem.objects.create(
        street_id=street_id,
        area_id=area_id,
        meeting=meeting,
        title=title.strip(),
        description=description,
        owner=owner,
        department=department,
        deadline=deadline,
        created_by=user,
    )
    if demands:
        item.demands.set(demands)
    return item


_UNSET: Any = object()


@transaction.atomic
def action_update(
    *,
    user: User,
    item_id: int,
    status: str | None = None,
    note: str = "",
    result: str | None = None,
    deadline: date | None = None,
    owner: Any = _UNSET,
    department: Any = _UNSET,
) -> ActionItem:
    """Record progress on an action item: a note and/or a status change, the result, a new deadline or owner.

    Marking it done may complete a demand's action list; the demand then moves on only through the workflow
    (see `_hand_over_demands`).
    """
    item = ActionItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise ApplicationError(_("行动事项不存在。"))
    if not can_edit_action(user, item):
        raise PermissionDenied(_("您无权更新该行动事项。"))
    changed: list[str] = []
    new_status = item.status if status in (None, "") else status
    if new_status not in ActionStatus.values:
        raise ApplicationError(_("状态无效。"))
    if deadline is not None and deadline != item.deadline:
        if deadline < timezone.localdate():
            raise ApplicationError(_("完成时限不能早于今天。"))
        item.deadline = deadline
        changed.append("deadline")
    if owner is not _UNSET or department is not _UNSET:
        new_owner = item.owner if owner is _UNSET else owner
        new_department = item.department if department is _UNSET else department
        _check_owner(item.street_id, new_owner, new_department)
        item.owner, item.department = new_owner, new_department
        changed += ["owner", "department"]
    if result is not None and result != item.result:
        item.result = result
        changed.append("result")
    status_changed = new_status != item.status
    if status_changed:
        if new_status == ActionStatus.DONE and not (item.result or "").strip():
            raise ApplicationError(_("标记完成前请填写完成情况。"))
        item.status = new_status
        item.done_at = timezone.now() if new_status == ActionStatus.DONE else None
        changed += ["status", "done_at"]
    if not changed and not note.strip():
        raise ApplicationError(_("请填写进展或修改内容。"))
    if changed:
        item.save(update_fields=changed)
    if note.strip() or status_changed:
        ActionProgress.objects.create(
            item=item, author=user, note=note.strip() or str(ActionStatus(new_status).label), status=new_status
        )
    if status_changed and new_status == ActionStatus.DONE:
        _hand_over_demands(user, item)
    return item


def _hand_over_demands(user: User, item: ActionItem) -> None:
    """For each linked demand whose action items are now all done (cancelled ones aside), ask the workflow to
    resolve it as `user`. The workflow alone decides: where it refuses (wrong state or role) the demand stays as
    it is and its owner is told the actions are complete and a step is theirs."""
    from ningju.demands import services as demand_services

    demand_ids = list(item.demands.values_list("pk", flat=True))
    if not demand_ids:
        return
    unfinished = set(
        ActionItem.objects.filter(demands__in=demand_ids)
        .exclude(status__in=[ActionStatus.DONE, ActionStatus.CANCELLED])
        .values_list("demands", flat=True)
    )
    complete = [pk for pk in demand_ids if pk not in unfinished]
    owners = dict(Demand.objects.filter(pk__in=complete).values_list("pk", "owner_id"))
    for demand_id in complete:
        note = _("行动清单事项全部完成：%(title)s") % {"title": item.title}
        try:
            # A savepoint: a refusal must not spoil the action item's own write.
            with transaction.atomic():
                demand_services.demand_act(user=user, demand_id=demand_id, action=Action.RESOLVE, note=note)
        except (WorkflowError, PermissionDenied, ApplicationError):
            owner_id = owners.get(demand_id)
            if owner_id is not None:
                notify(
                    users=[owner_id],
                    title=_("诉求 #%(pk)s 的行动清单事项已全部完成") % {"pk": demand_id},
                    body=_("请推进该诉求的下一步办理。"),
                    url=reverse("demand_detail", args=[demand_id]),
                    key=f"actions-complete-{demand_id}-{item.pk}",
                    level=NoticeLevel.INFO,
                )

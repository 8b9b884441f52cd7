"""Meetings and what comes of them: the problem list (agenda of demands), action items, the troika's monthly on-site
office, community-building events with registrations, cadre training, and the assessment scorecards.

Scoping: street-wide rows (a 民情分析会, a training for all) belong to the street; area rows to their area. Who sees
what is each model's `visible_to(user)`, applied through `ningju.core.scoping`.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ningju.demands.models import Demand
from ningju.registry.models import Compound, Department, Grid, Resident, ResidentialArea, Street


def _street_or_area_q(user: Any, *, street_field: str = "street", area_field: str = "area") -> models.Q:
    """Street administrators see their street's rows; area users their area's rows and the street-wide ones."""
    from ningju.core.models import Role
    from ningju.core.scoping import AREA_ROLES, NOTHING

    role = getattr(user, "role", None)
    if role == Role.STREET_ADMIN:
        return models.Q(**{street_field: user.street_id})
    if role in AREA_ROLES and user.area_id is not None:
        return models.Q(**{area_field: user.area_id}) | models.Q(
            **{f"{area_field}__isnull": True, f"{street_field}": user.area.street_id}
        )
    return NOTHING


class MeetingKind(models.TextChoices):
    ANALYSIS = "analysis", _("民情分析会")
    SUBGRID = "subgrid", _("街区次格工作例会")
    JOINT = "joint", _("居民区1+5+x联席会议")
    TROIKA = "troika", _("三驾马车现场合署办公")
    PLANNING = "planning", _("社区营造策划会")
    OTHER = "other", _("其他会议")


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", _("计划")
    HELD = "held", _("已召开")
    CANCELLED = "cancelled", _("取消")


class Meeting(models.Model):
    """A meeting at one scope: the street, a sub-grid, an area or a compound (the troika meets at a compound)."""

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="meetings")
    kind = models.CharField(_("会议类型"), max_length=20, choices=MeetingKind.choices)
    status = models.CharField(
        _("状态"), max_length=20, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED
    )
    title = models.CharField(_("会议名称"), max_length=200)
    area = models.ForeignKey(
        ResidentialArea,
        verbose_name=_("居民区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), null=True, blank=True, on_delete=models.PROTECT, related_name="meetings"
    )
    subgrid = models.ForeignKey(
        Grid, verbose_name=_("次格"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    held_at = models.DateTimeField(_("时间"))
    place = models.CharField(_("地点"), max_length=200, blank=True)
    inspected = models.TextField(_("现场查看"), blank=True)  # what the troika walked and looked at
    minutes = models.TextField(_("会议纪要"), blank=True)
    decisions = models.TextField(_("会议决定"), blank=True)
    agenda = models.ManyToManyField(
        Demand, verbose_name=_("问题清单"), through="AgendaItem", related_name="meetings"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("会议")
        verbose_name_plural = _("会议")
        ordering = ["-held_at", "-id"]
        constraints = [
            models.CheckConstraint(name="meeting_kind_valid", condition=models.Q(kind__in=MeetingKind.values)),
            models.CheckConstraint(
                name="meeting_status_valid", condition=models.Q(status__in=MeetingStatus.values)
            ),
            # The troika meets at one compound: without it the month × compound grid could not count it.
            models.CheckConstraint(
                name="meeting_troika_has_compound",
                condition=~models.Q(kind="troika") | models.Q(compound__isnull=False),
            ),
        ]
        indexes = [
            # The troika grid reads held troika meetings by compound and month.
            models.Index(fields=["kind", "compound", "held_at"], name="meeting_troika_idx"),
            models.Index(fields=["street", "held_at"], name="meeting_street_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @classmethod
    def visible_to(cls, user: Any) -> models.Q:
        return _street_or_area_q(user)


class Party(models.TextChoices):
    """Who an attendee speaks for: the troika's three parties and the others a meeting brings in."""

    COMMITTEE = "committee", _("居委会")
    OWNERS = "owners", _("业委会")
    PROPERTY = "property", _("物业")
    POLICE = "police", _("社区民警")
    DEPARTMENT = "department", _("职能部门")
    STREET = "street", _("街道")
    RESIDENT = "resident", _("居民代表")
    OTHER = "other", _("其他")


class Attendee(models.Model):
    meeting = models.ForeignKey(
        Meeting, verbose_name=_("会议"), on_delete=models.CASCADE, related_name="attendees"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("平台用户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    name = models.CharField(_("姓名"), max_length=50)
    party = models.CharField(_("单位/身份"), max_length=20, choices=Party.choices, default=Party.COMMITTEE)
    organisation = models.CharField(_("所在单位"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("参会人")
        verbose_name_plural = _("参会人")
        constraints = [
            models.CheckConstraint(name="attendee_party_valid", condition=models.Q(party__in=Party.values))
        ]

    def __str__(self) -> str:
        return self.name


class AgendaItem(models.Model):
    """One demand on a meeting's problem list (问题清单)."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("会议"), on_delete=models.CASCADE, related_name="agenda_items"
    )
    demand = models.ForeignKey(
        Demand, verbose_name=_("诉求"), on_delete=models.CASCADE, related_name="agenda_items"
    )
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    note = models.TextField(_("讨论情况"), blank=True)

    class Meta:
        verbose_name = _("问题清单事项")
        verbose_name_plural = _("问题清单事项")
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "demand"], name="agenda_item_once")]

    def __str__(self) -> str:
        return f"{self.meeting_id}/{self.demand_id}"


def meeting_file_path(instance: "MeetingFile", filename: str) -> str:
    return f"meetings/{instance.meeting_id}/{filename}"


class MeetingFile(models.Model):
    meeting = models.ForeignKey(Meeting, verbose_name=_("会议"), on_delete=models.CASCADE, related_name="files")
    file = models.FileField(_("文件"), upload_to=meeting_file_path, max_length=300)
    name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=100, blank=True)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("会议附件")
        verbose_name_plural = _("会议附件")

    def __str__(self) -> str:
        return self.name


class ActionStatus(models.TextChoices):
    OPEN = "open", _("待办")
    IN_PROGRESS = "in_progress", _("推进中")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class ActionItem(models.Model):
    """One line of the action list (行动清单): what, who (a user or a department), by when, for which demands."""

    street = models.ForeignKey(
        Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="action_items"
    )
    area = models.ForeignKey(
        ResidentialArea,
        verbose_name=_("居民区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    meeting = models.ForeignKey(
        Meeting,
        verbose_name=_("来源会议"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
    )
    title = models.CharField(_("事项"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("责任人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="action_items",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("责任部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="action_items",
    )
    deadline = models.DateField(_("完成时限"))
    status = models.CharField(_("状态"), max_length=20, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    demands = models.ManyToManyField(Demand, verbose_name=_("对应诉求"), blank=True, related_name="action_items")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    result = models.TextField(_("完成情况"), blank=True)

    class Meta:
        verbose_name = _("行动事项")
        verbose_name_plural = _("行动清单")
        ordering = ["deadline", "id"]
        constraints = [
            models.CheckConstraint(name="action_status_valid", condition=models.Q(status__in=ActionStatus.values)),
            # Someone answers for it: a person or a department (or both).
            models.CheckConstraint(
                name="action_has_owner",
                condition=models.Q(owner__isnull=False) | models.Q(department__isnull=False),
            ),
            models.CheckConstraint(
                name="action_done_has_time",
                condition=~models.Q(status="done") | models.Q(done_at__isnull=False),
            ),
        ]
        indexes = [
            # "My action items" and the overdue list read open items by owner and deadline.
            models.Index(fields=["owner", "status", "deadline"], name="action_owner_idx"),
            models.Index(fields=["department", "status"], name="action_department_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @classmethod
    def visible_to(cls, user: Any) -> models.Q:
        """Street and area as for meetings; a liaison sees their department's items; anyone sees their own."""
        from ningju.core.models import Role

        own = models.Q(owner=user.pk)
        if getattr(user, "role", None) == Role.LIAISON and user.department_id is not None:
            return own | models.Q(department=user.department_id)
        return own | _street_or_area_q(user)


class ActionProgress(models.Model):
    """A progress note on an action item (who, when, what, and the status it moved to)."""

    item = models.ForeignKey(
        ActionItem, verbose_name=_("行动事项"), on_delete=models.CASCADE, related_name="progress"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("填写人"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    note = models.TextField(_("进展"))
    status = models.CharField(_("状态"), max_length=20, choices=ActionStatus.choices)

    class Meta:
        verbose_name = _("行动进展")
        verbose_name_plural = _("行动进展")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.at:%Y-%m-%d}"


class EventKind(models.TextChoices):
    SELF_GOVERNANCE = "self_governance", _("自治活动")
    BABY_HOUSE = "baby_house", _("宝宝屋")
    DISCUSSION = "discussion", _("议事吧")
    VOLUNTEER = "volunteer", _("志愿服务")
    FIVE_SOCIAL = "five_social", _("五社联动")
    CULTURE = "culture", _("文体活动")
    OTHER = "other", _("其他活动")


class Event(models.Model):
    """A community-building activity (社区营造) with registrations and attendance; the planning meetings that prepared
    it point at it."""

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="events")
    area = models.ForeignKey(
        ResidentialArea,
        verbose_name=_("居民区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("活动类型"), max_length=20, choices=EventKind.choices)
    title = models.CharField(_("活动名称"), max_length=200)
    organiser = models.CharField(_("主办方"), max_length=200)
    place = models.CharField(_("地点"), max_length=200)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    capacity = models.PositiveIntegerField(_("名额"), null=True, blank=True)
    description = models.TextField(_("活动内容"), blank=True)
    planning_meetings = models.ManyToManyField(
        Meeting, verbose_name=_("筹备会议"), blank=True, related_name="prepared_events"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("社区活动")
        verbose_name_plural = _("社区活动")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(name="event_kind_valid", condition=models.Q(kind__in=EventKind.values)),
            models.CheckConstraint(
                name="event_ends_after_start",
                condition=models.Q(ends_at__isnull=True) | models.Q(ends_at__gte=models.F("starts_at")),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @classmethod
    def visible_to(cls, user: Any) -> models.Q:
        return _street_or_area_q(user)


class Registration(models.Model):
    """A resident's registration (from the registry, or a walk-in by name), attendance and volunteering."""

    event = models.ForeignKey(
        Event, verbose_name=_("活动"), on_delete=models.CASCADE, related_name="registrations"
    )
    resident = models.ForeignKey(
        Resident, verbose_name=_("居民"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("姓名"), max_length=50)
    walk_in = models.BooleanField(_("现场报名"), default=False)
    volunteer = models.BooleanField(_("志愿者"), default=False)
    attended = models.BooleanField(_("已签到"), default=False)
    registered_at = models.DateTimeField(_("报名时间"), default=timezone.now)

    class Meta:
        verbose_name = _("活动报名")
        verbose_name_plural = _("活动报名")
        ordering = ["registered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "resident"], condition=models.Q(resident__isnull=False), name="registration_once"
            )
        ]

    def __str__(self) -> str:
        return self.name


class TrainingKind(models.TextChoices):
    TRAINING = "training", _("干部培训")
    FIVE_SOCIAL = "five_social", _("五社联动")


class TrainingSession(models.Model):
    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="trainings")
    area = models.ForeignKey(
        ResidentialArea,
        verbose_name=_("居民区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("类型"), max_length=20, choices=TrainingKind.choices, default=TrainingKind.TRAINING)
    title = models.CharField(_("主题"), max_length=200)
    topics = models.TextField(_("内容要点"), blank=True)
    trainer = models.CharField(_("主讲/组织"), max_length=100, blank=True)
    held_at = models.DateTimeField(_("时间"))
    place = models.CharField(_("地点"), max_length=200, blank=True)
    hours = models.DecimalField(_("学时"), max_digits=4, decimal_places=1, default=2)
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("参训干部"),
        through="TrainingAttendance",
        related_name="trainings",
    )

    class Meta:
        verbose_name = _("培训")
        verbose_name_plural = _("培训")
        ordering = ["-held_at", "-id"]
        constraints = [
            models.CheckConstraint(name="training_kind_valid", condition=models.Q(kind__in=TrainingKind.values))
        ]

    def __str__(self) -> str:
        return self.title

    @classmethod
    def visible_to(cls, user: Any) -> models.Q:
        return _street_or_area_q(user)


class TrainingAttendance(models.Model):
    session = models.ForeignKey(
        TrainingSession, verbose_name=_("培训"), on_delete=models.CASCADE, related_name="attendance"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("干部"), on_delete=models.CASCADE, related_name="+"
    )
    attended = models.BooleanField(_("出勤"), default=True)

    class Meta:
        verbose_name = _("培训出勤")
        verbose_name_plural = _("培训出勤")
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="training_attendance_once")]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.user_id}"


class ScoreWeights(models.Model):
    """The street administrator's weights of the assessment (考核评议) indicators, kept with who set them and when.
    The newest row is in force; older ones stay as the record of how past scorecards were weighed."""

    street = models.ForeignKey(
        Street, verbose_name=_("街道"), on_delete=models.CASCADE, related_name="score_weights"
    )
    weights = models.JSONField(_("权重"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("设置人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(_("设置时间"), default=timezone.now)

    class Meta:
        verbose_name = _("考核权重")
        verbose_name_plural = _("考核权重")
        ordering = ["-set_at", "-id"]

    def __str__(self) -> str:
        return f"{self.street_id} {self.set_at:%Y-%m-%d}"


class ScorecardSubject(models.TextChoices):
    CADRE = "cadre", _("干部")
    AREA = "area", _("居民区")


class ScorecardIssue(models.Model):
    """A set of scorecards issued for one period (考核评议结果): frozen as issued, so history reads as it was."""

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.CASCADE, related_name="scorecards")
    subject = models.CharField(_("考核对象"), max_length=10, choices=ScorecardSubject.choices)
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"))
    weights = models.JSONField(_("所用权重"))
    rows = models.JSONField(_("评分结果"))  # [{"key", "label", "area", "indicators": {...}, "score", "rank"}]
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发布人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(_("发布时间"), default=timezone.now)

    class Meta:
        verbose_name = _("考核评议结果")
        verbose_name_plural = _("考核评议结果")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="scorecard_subject_valid", condition=models.Q(subject__in=ScorecardSubject.values)
            ),
            models.CheckConstraint(
                name="scorecard_period_ordered", condition=models.Q(start__lte=models.F("end"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_subject_display()} {self.start}–{self.end}"

    @classmethod
    def visible_to(cls, user: Any) -> models.Q:
        """Issued results are the street's; area users read them too (their own row is highlighted on the page)."""
        from ningju.core.models import Role
        from ningju.core.scoping import AREA_ROLES, NOTHING

        role = getattr(user, "role", None)
        if role == Role.STREET_ADMIN:
            return models.Q(street=user.street_id)
        if role in AREA_ROLES and user.area_id is not None:
            return models.Q(street=user.area.street_id)
        return NOTHING

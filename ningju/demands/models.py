"""诉求: demands, their categories, the event of every step, department dispatches and extension requests.

The workflow itself (states, actions, who may act) is `ningju.demands.workflow`; these rows store what its
`Outcome`s say, written only by `ningju.demands.services`. Scoping: `Demand.SCOPE_AREA` is its area, like the
registry; liaisons see demands through their dispatches (`services.demand_visible_q`).
"""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ningju.core.fields import EncryptedField, LookupHashField
from ningju.demands.workflow import Action, DeadlineStage, DispatchState, State
from ningju.registry.models import (
    Building,
    Compound,
    Department,
    Household,
    PatrolSite,
    Resident,
    ResidentialArea,
    Street,
)
from ningju.visits.models import Finding, Visit


class Category(models.Model):
    """An editable category of demands (噪音扰民, 垃圾分类 …), nested one level or more, with the department the
    street usually dispatches such demands to.

    Each street owns its taxonomy (the defaults are copied in when the street is created): the usual department
    is one of the same street's departments, and a sub-category has its parent's street."""

    SCOPE_AREA: ClassVar[str] = ""  # street configuration: read by everyone of the street, edited by its admin

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="categories")
    name = models.CharField(_("名称"), max_length=50)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级分类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    default_department = models.ForeignKey(
        Department,
        verbose_name=_("默认派单部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("诉求分类")
        verbose_name_plural = _("诉求分类")
        ordering = ["name"]
        constraints = [
            # Partial constraints: a NULL parent would make every top-level name distinct.
            models.UniqueConstraint(
                fields=["parent", "name"], condition=models.Q(parent__isnull=False), name="category_unique_child"
            ),
            models.UniqueConstraint(
                fields=["street", "name"],
                condition=models.Q(parent__isnull=True),
                name="category_unique_top_level_in_street",
            ),
            models.CheckConstraint(name="category_not_own_parent", condition=~models.Q(parent=models.F("id"))),
        ]

    def __str__(self) -> str:
        return f"{self.parent} / {self.name}" if self.parent_id else self.name


class Kind(models.TextChoices):
    OPINION = "opinion", _("意见建议")
    PROBLEM = "problem", _("问题")
    HELP = "help", _("求助")
    ENQUIRY = "enquiry", _("咨询")


class Source(models.TextChoices):
    VISIT = "visit", _("走访")
    WALK_IN = "walk_in", _("来访")
    ONLINE = "online", _("线上")
    PATROL = "patrol", _("巡查")
    HOTLINE = "hotline", _("12345工单")


class Alert(models.TextChoices):
    """How close a demand is to its deadline, as the overdue job last flagged it."""

    NONE = "", _("正常")
    YELLOW = "yellow", _("即将超时")
    RED = "red", _("已超时")


class Demand(models.Model):
    """One demand (诉求) of a resident or found on a walk: what, where, whose (首问负责人), where it stands.

    `version` goes up with every step, so a page can say "someone else changed this" instead of overwriting.
    `due_at` is the current deadline (end of a working day, Asia/Shanghai) or empty where no clock runs.
    """

    SCOPE_AREA: ClassVar[str] = "area"

    area = models.ForeignKey(ResidentialArea, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices)
    text = models.TextField(_("诉求内容"))
    category = models.ForeignKey(
        Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.PROTECT, related_name="demands"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("户"), null=True, blank=True, on_delete=models.PROTECT, related_name="demands"
    )
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), null=True, blank=True, on_delete=models.PROTECT, related_name="demands"
    )
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), null=True, blank=True, on_delete=models.PROTECT, related_name="demands"
    )
    patrol_site = models.ForeignKey(
        PatrolSite,
        verbose_name=_("巡查点"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="demands",
    )
    reporter = models.ForeignKey(
        Resident,
        verbose_name=_("反映人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="demands",
    )
    # Where and from whom, when the registry has no record for it (a passer-by, a shop front, "3号楼下"): free text
    # beside (or instead of) the places above; the phone is an identifier, stored encrypted like a resident's.
    address = models.CharField(_("详细地址"), max_length=200, blank=True)
    reporter_name = models.CharField(_("反映人姓名"), max_length=50, blank=True)
    reporter_phone = EncryptedField(_("反映人电话"), kind="phone", hash_field="reporter_phone_hash")
    reporter_phone_hash = LookupHashField(source="reporter_phone")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("首问负责人"),
        on_delete=models.PROTECT,
        related_name="owned_demands",
    )
    state = models.CharField(_("状态"), max_length=30, choices=State.choices, default=State.ACCEPTED)
    version = models.PositiveIntegerField(_("版本"), default=1)
    whistle_round = models.PositiveSmallIntegerField(_("吹哨轮次"), default=0)
    visit = models.ForeignKey(
        Visit, verbose_name=_("走访记录"), null=True, blank=True, on_delete=models.PROTECT, related_name="demands"
    )
    finding = models.ForeignKey(
        Finding,
        verbose_name=_("走访发现"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="demands",
    )
    external_id = models.CharField(_("工单编号"), max_length=50, blank=True)
    client_key = models.CharField(_("客户端幂等键"), max_length=64, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("合并至"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )
    due_at = models.DateTimeField(_("当前时限"), null=True, blank=True)
    # Written by the overdue job (`ningju.demands.overdue`); pages colour a row from it.
    alert = models.CharField(_("预警"), max_length=10, choices=Alert.choices, blank=True, default=Alert.NONE)
    created_at = models.DateTimeField(_("受理时间"), default=timezone.now)

    class Meta:
        verbose_name = _("诉求")
        verbose_name_plural = _("诉求")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="demand_kind_valid", condition=models.Q(kind__in=Kind.values)),
            models.CheckConstraint(name="demand_source_valid", condition=models.Q(source__in=Source.values)),
            models.CheckConstraint(name="demand_state_valid", condition=models.Q(state__in=State.values)),
            # Merged exactly when it points at the demand it repeats, never at itself.
            models.CheckConstraint(
                name="demand_merged_has_target",
                condition=models.Q(state=State.MERGED, merged_into__isnull=False)
                | (~models.Q(state=State.MERGED) & models.Q(merged_into__isnull=True)),
            ),
            models.CheckConstraint(
                name="demand_not_merged_into_itself", condition=~models.Q(merged_into=models.F("id"))
            ),
            # A 12345 order is imported once; a phone's retried create is stored once.
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="demand_unique_external_id",
            ),
            models.UniqueConstraint(
                fields=["client_key"], condition=~models.Q(client_key=""), name="demand_unique_client_key"
            ),
            # One demand per visit finding: turning a finding into a demand twice would split its story.
            models.UniqueConstraint(fields=["finding"], name="demand_one_per_finding"),
        ]
        indexes = [
            # The area inbox and "my demands" list open demands by area and by owner.
            models.Index(fields=["area", "state"], name="demand_area_state_idx"),
            models.Index(fields=["owner", "state"], name="demand_owner_state_idx"),
            # The overdue job looks for demands whose deadline is near or past.
            models.Index(fields=["due_at"], name="demand_due_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.text[:30]}"

    @classmethod
    def visible_to(cls, user: Any) -> models.Q:
        """Who sees a demand: a street administrator their street, a cadre or head their area and the demands
        they own (首问负责 follows the demand even into another area), a liaison those ever dispatched to their
        department (earlier rounds included, so the history stays readable); anyone else nothing."""
        from ningju.core.models import Role
        from ningju.core.scoping import AREA_ROLES, NOTHING

        if user.role == Role.STREET_ADMIN:
            return models.Q(area__street=user.street_id)
        if user.role in AREA_ROLES:
            return models.Q(area=user.area_id) | models.Q(owner=user.pk)
        if user.role == Role.LIAISON and user.department_id is not None:
            return models.Q(
                models.Exists(Dispatch.objects.filter(demand=models.OuterRef("pk"), department=user.department_id))
            )
        return NOTHING


EVENT_ACTIONS = [("create", _("登记")), *Action.choices]


class DemandEvent(models.Model):
    """One step of a demand: who, when, from which state to which, with what note and inputs. Never edited; the
    timeline, deadlines and rates are read from these rows."""

    SCOPE_AREA: ClassVar[str] = "demand__area"

    demand = models.ForeignKey(Demand, verbose_name=_("诉求"), on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    action = models.CharField(_("操作"), max_length=30, choices=EVENT_ACTIONS)
    from_state = models.CharField(_("原状态"), max_length=30, choices=State.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=30, choices=State.choices)
    reason = models.TextField(_("原因"), blank=True)
    note = models.TextField(_("说明"), blank=True)
    # Departments dispatched, callback result, extension days, merge target: what the step was given.
    params = models.JSONField(_("参数"), default=dict, blank=True)

    class Meta:
        verbose_name = _("诉求处理记录")
        verbose_name_plural = _("诉求处理记录")
        ordering = ["at", "id"]
        indexes = [
            # The timeline of one demand, in order.
            models.Index(fields=["demand", "at"], name="demandevent_timeline_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}"


class Dispatch(models.Model):
    """One department's order (派单) on a demand in one whistle round, and its own progress."""

    SCOPE_AREA: ClassVar[str] = "demand__area"

    demand = models.ForeignKey(Demand, verbose_name=_("诉求"), on_delete=models.CASCADE, related_name="dispatches")
    department = models.ForeignKey(
        Department, verbose_name=_("职能部门"), on_delete=models.PROTECT, related_name="dispatches"
    )
    round = models.PositiveSmallIntegerField(_("吹哨轮次"))
    state = models.CharField(
        _("部门状态"), max_length=20, choices=DispatchState.choices, default=DispatchState.DISPATCHED
    )
    dispatched_at = models.DateTimeField(_("派单时间"))
    acknowledged_at = models.DateTimeField(_("报到时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    returned_at = models.DateTimeField(_("退单时间"), null=True, blank=True)
    returned_reason = models.TextField(_("退单原因"), blank=True)

    class Meta:
        verbose_name = _("派单")
        verbose_name_plural = _("派单")
        ordering = ["demand", "round", "dispatched_at"]
        constraints = [
            models.UniqueConstraint(fields=["demand", "round", "department"], name="dispatch_one_per_round"),
            models.CheckConstraint(
                name="dispatch_state_valid", condition=models.Q(state__in=DispatchState.values)
            ),
        ]
        indexes = [
            # The department portal lists a department's open orders.
            models.Index(fields=["department", "state"], name="dispatch_department_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.demand_id} → {self.department}"


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    DENIED = "denied", _("不同意")


class ExtensionRequest(models.Model):
    """A request for more working days (延期), decided by the street administrator."""

    SCOPE_AREA: ClassVar[str] = "demand__area"

    demand = models.ForeignKey(Demand, verbose_name=_("诉求"), on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("申请部门"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    days = models.PositiveSmallIntegerField(_("延期工作日数"))
    reason = models.TextField(_("申请原因"))
    status = models.CharField(
        _("审批状态"), max_length=20, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_reason = models.TextField(_("审批意见"), blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["-requested_at"]
        constraints = [
            # The workflow refuses a second request while one waits; the database holds the same line.
            models.UniqueConstraint(
                fields=["demand"], condition=models.Q(status="pending"), name="extension_one_pending"
            ),
            models.CheckConstraint(name="extension_days_positive", condition=models.Q(days__gte=1)),
            models.CheckConstraint(
                name="extension_decided_has_decider",
                condition=models.Q(status="pending")
                | models.Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.demand_id} +{self.days}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    """Files are kept per demand under a path that says nothing about the resident."""
    return f"demands/{instance.demand_id}/{filename}"


class Attachment(models.Model):
    """A photo or file of a demand, given at intake or with one step (then `event` says which)."""

    SCOPE_AREA: ClassVar[str] = "demand__area"

    demand = models.ForeignKey(
        Demand, verbose_name=_("诉求"), on_delete=models.CASCADE, related_name="attachments"
    )
    event = models.ForeignKey(
        DemandEvent,
        verbose_name=_("处理记录"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=300)
    name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=100, blank=True)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class DeadlineLimit(models.Model):
    """A street's own limit for one stage, in working days; where none is stored the DOMAIN.md default applies
    (`workflow.DEFAULT_DEADLINES`)."""

    street = models.ForeignKey(
        "registry.Street", verbose_name=_("街道"), on_delete=models.CASCADE, related_name="deadline_limits"
    )
    stage = models.CharField(_("环节"), max_length=30, choices=DeadlineStage.choices)
    workdays = models.PositiveSmallIntegerField(_("时限（工作日）"))

    class Meta:
        verbose_name = _("办理时限")
        verbose_name_plural = _("办理时限")
        constraints = [
            models.UniqueConstraint(fields=["street", "stage"], name="deadline_limit_one_per_stage"),
            models.CheckConstraint(name="deadline_limit_positive", condition=models.Q(workdays__gte=1)),
            models.CheckConstraint(
                name="deadline_limit_stage_valid", condition=models.Q(stage__in=DeadlineStage.values)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} {self.workdays}"

"""What the insights app keeps: trained text models, category suggestions and their corrections, clusters of similar
demands (合并同类项), standing mechanisms (常态化响应机制), and the daily rollups dashboards and reports read."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ningju.demands.models import Category, Demand
from ningju.registry.models import Department, ResidentialArea, Street


class TextModel(models.Model):
    """One trained category classifier of a street, saved as a file under var/ (`ningju.insights.text`).

    The newest `active` one answers suggestions; older ones stay for comparison until purged.
    """

    street = models.ForeignKey(
        Street, verbose_name=_("街道"), on_delete=models.CASCADE, related_name="text_models"
    )
    file = models.CharField(_("模型文件"), max_length=300)
    trained_at = models.DateTimeField(_("训练时间"), default=timezone.now)
    samples = models.PositiveIntegerField(_("训练样本数"), default=0)
    labels = models.PositiveIntegerField(_("分类数"), default=0)
    # Macro-F1 on a held-out part of the platform's own demands, when there were enough to hold some out.
    macro_f1 = models.FloatField(_("宏平均F1"), null=True, blank=True)
    corrections_seen = models.PositiveIntegerField(_("已纳入的纠正数"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("文本分类模型")
        verbose_name_plural = _("文本分类模型")
        ordering = ["-trained_at"]

    def __str__(self) -> str:
        return f"{self.street} {self.trained_at:%Y-%m-%d %H:%M}"


class Suggestion(models.Model):
    """What the classifier suggested for a demand at intake, and what the person chose: a correction when they
    differ. Corrections are what the background retraining waits for."""

    SCOPE_AREA: ClassVar[str] = "demand__area"

    demand = models.OneToOneField(
        Demand, verbose_name=_("诉求"), on_delete=models.CASCADE, related_name="category_suggestion"
    )
    suggested = models.ForeignKey(
        Category, verbose_name=_("建议分类"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suggested_department = models.ForeignKey(
        Department, verbose_name=_("建议部门"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.FloatField(_("置信度"), default=0)
    chosen = models.ForeignKey(
        Category, verbose_name=_("最终分类"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model = models.ForeignKey(
        TextModel, verbose_name=_("模型"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("分类建议")
        verbose_name_plural = _("分类建议")
        indexes = [
            # The retraining job counts corrections made since the current model was trained.
            models.Index(fields=["created_at"], name="suggestion_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.demand_id}: {self.suggested} → {self.chosen}"

    @property
    def corrected(self) -> bool:
        return self.chosen_id is not None and self.chosen_id != self.suggested_id


class ClusterStatus(models.TextChoices):
    PROPOSED = "proposed", _("待确认")
    CONFIRMED = "confirmed", _("已确认")
    DISMISSED = "dismissed", _("不是同类")


class Cluster(models.Model):
    """A group of similar demands across a street (合并同类项): proposed by the text engine, confirmed by a person.

    Confirming groups the demands as one problem; each keeps its own workflow (every resident still gets a callback).
    """

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.CASCADE, related_name="clusters")
    title = models.CharField(_("主题"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=20, choices=ClusterStatus.choices, default=ClusterStatus.PROPOSED
    )
    window_start = models.DateField(_("统计起始"))
    window_end = models.DateField(_("统计截止"))
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    demands = models.ManyToManyField(
        Demand, verbose_name=_("诉求"), through="ClusterMember", related_name="clusters"
    )

    class Meta:
        verbose_name = _("同类诉求")
        verbose_name_plural = _("同类诉求")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="cluster_status_valid", condition=models.Q(status__in=ClusterStatus.values)
            ),
            models.CheckConstraint(
                name="cluster_window_ordered", condition=models.Q(window_start__lte=models.F("window_end"))
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @classmethod
    def visible_to(cls, user: object) -> models.Q:
        """Clusters span areas: only the street administrator of their street sees them."""
        from ningju.core.models import Role
        from ningju.core.scoping import NOTHING

        if getattr(user, "role", None) == Role.STREET_ADMIN:
            return models.Q(street=getattr(user, "street_id", None))
        return NOTHING


class ClusterMember(models.Model):
    cluster = models.ForeignKey(
        Cluster, verbose_name=_("同类诉求"), on_delete=models.CASCADE, related_name="members"
    )
    demand = models.ForeignKey(Demand, verbose_name=_("诉求"), on_delete=models.CASCADE, related_name="+")
    similarity = models.FloatField(_("相似度"), default=0)

    class Meta:
        verbose_name = _("同类诉求成员")
        verbose_name_plural = _("同类诉求成员")
        constraints = [models.UniqueConstraint(fields=["cluster", "demand"], name="cluster_member_once")]

    def __str__(self) -> str:
        return f"{self.cluster_id}/{self.demand_id}"


class Rhythm(models.TextChoices):
    DAILY = "daily", _("每天")
    WEEKLY = "weekly", _("每周")
    BIWEEKLY = "biweekly", _("每两周")
    MONTHLY = "monthly", _("每月")


class Mechanism(models.Model):
    """A standing mechanism (常态化响应机制) made from a confirmed cluster: measures such as 白+黑, 常态巡查+重点固守 or
    宣教整治+执法检查, owners (people and departments) and a patrol rhythm. The page tracks whether the problem comes
    back: new demands similar to the cluster after `started_on`."""

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.CASCADE, related_name="mechanisms")
    cluster = models.ForeignKey(
        Cluster,
        verbose_name=_("来源同类诉求"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mechanisms",
    )
    name = models.CharField(_("机制名称"), max_length=200)
    measures = models.JSONField(_("措施"), default=list, blank=True)
    description = models.TextField(_("说明"), blank=True)
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("责任人"), blank=True, related_name="+"
    )
    departments = models.ManyToManyField(Department, verbose_name=_("责任部门"), blank=True, related_name="+")
    areas = models.ManyToManyField(ResidentialArea, verbose_name=_("涉及居民区"), blank=True, related_name="+")
    rhythm = models.CharField(_("巡查频次"), max_length=20, choices=Rhythm.choices, default=Rhythm.WEEKLY)
    # The words a new demand is matched on (the cluster's topic terms and places), kept so matching survives edits.
    keywords = models.CharField(_("匹配关键词"), max_length=300, blank=True)
    started_on = models.DateField(_("启动日期"), default=timezone.localdate)
    active = models.BooleanField(_("运行中"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("常态化响应机制")
        verbose_name_plural = _("常态化响应机制")
        ordering = ["-started_on", "-id"]
        constraints = [
            models.CheckConstraint(name="mechanism_rhythm_valid", condition=models.Q(rhythm__in=Rhythm.values)),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def visible_to(cls, user: object) -> models.Q:
        """The street administrator sees the street's mechanisms; area users those touching their area."""
        from ningju.core.models import Role
        from ningju.core.scoping import AREA_ROLES, NOTHING

        role = getattr(user, "role", None)
        if role == Role.STREET_ADMIN:
            return models.Q(street=getattr(user, "street_id", None))
        if role in AREA_ROLES:
            return models.Q(areas=getattr(user, "area_id", None))
        return NOTHING


class DailyRollup(models.Model):
    """One day's counts for one cadre (or, with `cadre` empty, for an area as a whole: demands without a cadre).

    Dashboards and reports read these rows, not the raw visits and demands, so they stay fast as data grows. Rebuilt by
    `ningju.insights.rollups` for a range of days (nightly, and after imports and the demo)."""

    SCOPE_AREA: ClassVar[str] = "area"

    day = models.DateField(_("日期"))
    area = models.ForeignKey(ResidentialArea, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="+")
    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("干部"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    workday = models.BooleanField(_("工作日"), default=True)
    household_visits = models.PositiveIntegerField(_("入户走访人次"), default=0)
    households_visited = models.PositiveIntegerField(_("走访户数"), default=0)
    must_visit_visits = models.PositiveIntegerField(_("必访对象走访次数"), default=0)
    patrols = models.PositiveIntegerField(_("巡查次数"), default=0)
    residents_met = models.PositiveIntegerField(_("见到居民人次"), default=0)
    demands_received = models.PositiveIntegerField(_("受理诉求"), default=0)
    opinions_received = models.PositiveIntegerField(_("意见建议"), default=0)
    problems_received = models.PositiveIntegerField(_("问题"), default=0)
    problems_found = models.PositiveIntegerField(_("主动发现问题"), default=0)
    demands_resolved = models.PositiveIntegerField(_("办结诉求"), default=0)
    whistles = models.PositiveIntegerField(_("吹哨"), default=0)
    contacted_on_time = models.PositiveIntegerField(_("按时首次联系"), default=0)
    contact_due = models.PositiveIntegerField(_("应首次联系"), default=0)
    callbacks = models.PositiveIntegerField(_("回访"), default=0)
    callbacks_satisfied = models.PositiveIntegerField(_("回访满意"), default=0)
    overdue_open = models.PositiveIntegerField(_("超时未办结"), default=0)

    class Meta:
        verbose_name = _("每日汇总")
        verbose_name_plural = _("每日汇总")
        constraints = [
            models.UniqueConstraint(fields=["day", "area", "cadre"], name="rollup_one_per_cadre_day"),
            models.UniqueConstraint(
                fields=["day", "area"], condition=models.Q(cadre__isnull=True), name="rollup_one_area_row_per_day"
            ),
        ]
        indexes = [
            # Dashboards read a period of an area (and its cadres).
            models.Index(fields=["area", "day"], name="rollup_area_day_idx"),
            models.Index(fields=["cadre", "day"], name="rollup_cadre_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.area_id} {self.cadre_id}"


class TopicRollup(models.Model):
    """Demands received per day, area and category: "what residents care about most" without scanning demands."""

    SCOPE_AREA: ClassVar[str] = "area"

    day = models.DateField(_("日期"))
    area = models.ForeignKey(ResidentialArea, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(
        Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    demands = models.PositiveIntegerField(_("诉求数"), default=0)

    class Meta:
        verbose_name = _("诉求主题汇总")
        verbose_name_plural = _("诉求主题汇总")
        constraints = [models.UniqueConstraint(fields=["day", "area", "category"], name="topic_rollup_once")]
        indexes = [models.Index(fields=["area", "day"], name="topic_rollup_area_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.area_id} {self.category_id}"

"""四百走访: pairing cadres with buildings and patrol sites (走访包联), visit rules, planned walks, visit records.

Scoping: every model names its path to the residential area in `SCOPE_AREA`, like the registry.
"""

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ningju.registry.models import Building, Household, PatrolSite, PatrolSiteType, ResidentialArea, Street, Tag


class Interval(models.TextChoices):
    """How often a rule asks for a visit: at least once per calendar week, month or year."""

    WEEK = "week", _("每周")
    MONTH = "month", _("每月")
    YEAR = "year", _("每年")


class VisitRule(models.Model):
    """An editable visit rule of a street: the default for every household (yearly, 全覆盖), one per tag
    (must-visit monthly, high-risk weekly) and one per patrol site type (weekly). The strictest rule that applies
    to a household wins."""

    class Target(models.TextChoices):
        HOUSEHOLD = "household", _("全部住户")
        TAG = "tag", _("标签")
        PATROL_TYPE = "patrol_type", _("巡查点类型")

    street = models.ForeignKey(
        Street, verbose_name=_("街道"), on_delete=models.CASCADE, related_name="visit_rules"
    )
    target = models.CharField(_("适用对象"), max_length=20, choices=Target.choices)
    tag = models.ForeignKey(Tag, verbose_name=_("标签"), null=True, blank=True, on_delete=models.CASCADE)
    patrol_type = models.ForeignKey(
        PatrolSiteType, verbose_name=_("巡查点类型"), null=True, blank=True, on_delete=models.CASCADE
    )
    interval = models.CharField(_("频次"), max_length=10, choices=Interval.choices)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("走访规则")
        verbose_name_plural = _("走访规则")
        constraints = [
            models.CheckConstraint(
                name="visitrule_target_matches",
                condition=(
                    models.Q(target="household", tag__isnull=True, patrol_type__isnull=True)
                    | models.Q(target="tag", tag__isnull=False, patrol_type__isnull=True)
                    | models.Q(target="patrol_type", tag__isnull=True, patrol_type__isnull=False)
                ),
            ),
            # One rule per subject (partial constraints: SQLite ignores nulls_distinct).
            models.UniqueConstraint(
                fields=["street"], condition=models.Q(target="household"), name="visitrule_one_household_rule"
            ),
            models.UniqueConstraint(
                fields=["street", "tag"], condition=models.Q(target="tag"), name="visitrule_one_per_tag"
            ),
            models.UniqueConstraint(
                fields=["street", "patrol_type"],
                condition=models.Q(target="patrol_type"),
                name="visitrule_one_per_patrol_type",
            ),
        ]

    def __str__(self) -> str:
        subject = self.tag or self.patrol_type or self.get_target_display()
        return f"{subject}：{self.get_interval_display()}"


class VisitSettings(models.Model):
    """A street's numbers for visits: households per cadre per working day, and the GPS distance flag."""

    street = models.OneToOneField(
        Street, verbose_name=_("街道"), on_delete=models.CASCADE, related_name="visit_settings"
    )
    min_households_per_day = models.PositiveSmallIntegerField(_("每人每个工作日至少走访户数"), default=5)
    max_households_per_day = models.PositiveSmallIntegerField(_("每人每个工作日最多走访户数"), default=12)
    gps_flag_metres = models.PositiveIntegerField(_("定位偏离提示距离（米）"), default=300)

    class Meta:
        verbose_name = _("走访设置")
        verbose_name_plural = _("走访设置")
        constraints = [
            models.CheckConstraint(
                name="visitsettings_min_not_above_max",
                condition=models.Q(min_households_per_day__lte=models.F("max_households_per_day")),
            ),
        ]

    def __str__(self) -> str:
        return str(self.street)


class PairingQuerySet(models.QuerySet["Pairing"]):
    def current(self) -> "PairingQuerySet":
        return self.filter(ended_on__isnull=True)


class Pairing(models.Model):
    """走访包联: a cadre is responsible for a building (and so its households) or a patrol site from `started_on`.
    Re-pairing ends the old row (`ended_on`) and starts a new one, so who was responsible when stays known."""

    SCOPE_AREA: ClassVar[str] = "area"

    area = models.ForeignKey(ResidentialArea, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="+")
    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("包联干部"), on_delete=models.PROTECT, related_name="pairings"
    )
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), null=True, blank=True, on_delete=models.CASCADE, related_name="pairings"
    )
    patrol_site = models.ForeignKey(
        PatrolSite,
        verbose_name=_("巡查点"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="pairings",
    )
    started_on = models.DateField(_("开始日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = PairingQuerySet.as_manager()

    class Meta:
        verbose_name = _("走访包联")
        verbose_name_plural = _("走访包联")
        constraints = [
            models.CheckConstraint(
                name="pairing_one_target",
                condition=models.Q(building__isnull=False, patrol_site__isnull=True)
                | models.Q(building__isnull=True, patrol_site__isnull=False),
            ),
            # At any time a building or a site has one responsible cadre.
            models.UniqueConstraint(
                fields=["building"], condition=models.Q(ended_on__isnull=True), name="pairing_current_building"
            ),
            models.UniqueConstraint(
                fields=["patrol_site"], condition=models.Q(ended_on__isnull=True), name="pairing_current_site"
            ),
        ]
        indexes = [
            # The planner and the route page load each cadre's current pairings.
            models.Index(fields=["cadre", "ended_on"], name="pairing_cadre_current_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.cadre} → {self.building or self.patrol_site}"


class VisitMode(models.TextChoices):
    FACE_TO_FACE = "face_to_face", _("入户面对面")
    PHONE = "phone", _("电话")
    ONLINE = "online", _("线上点对点")
    PATROL = "patrol", _("巡查")


class Mood(models.TextChoices):
    GOOD = "good", _("满意")
    NEUTRAL = "neutral", _("一般")
    WORRIED = "worried", _("有困难或不满")


class Visit(models.Model):
    """One visit (走访) or patrol (巡查). The id is made by the phone that logged it, so a replayed or retried
    upload can never create a second row (the API is idempotent on it)."""

    SCOPE_AREA: ClassVar[str] = "area"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    area = models.ForeignKey(ResidentialArea, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+")
    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("走访干部"), on_delete=models.PROTECT, related_name="visits"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("户"), null=True, blank=True, on_delete=models.PROTECT, related_name="visits"
    )
    patrol_site = models.ForeignKey(
        PatrolSite,
        verbose_name=_("巡查点"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    visited_at = models.DateTimeField(_("走访时间"), db_index=True)
    mode = models.CharField(_("方式"), max_length=20, choices=VisitMode.choices)
    way = models.CharField(_("走访形式"), max_length=50, blank=True, help_text=_("如：跟着宠物访、围着儿童乐园访"))
    met = models.CharField(_("见到的人"), max_length=100, blank=True)
    notes = models.TextField(_("情况记录"), blank=True)
    mood = models.CharField(_("居民情绪"), max_length=20, choices=Mood.choices, blank=True)
    needs = models.TextField(_("需求"), blank=True)
    lat = models.FloatField(_("定位纬度"), null=True, blank=True)
    lng = models.FloatField(_("定位经度"), null=True, blank=True)
    distance_m = models.PositiveIntegerField(_("距楼栋距离（米）"), null=True, blank=True)
    far_from_target = models.BooleanField(_("定位偏离"), default=False)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["-visited_at"]
        constraints = [
            models.CheckConstraint(
                name="visit_one_target",
                condition=models.Q(household__isnull=False, patrol_site__isnull=True)
                | models.Q(household__isnull=True, patrol_site__isnull=False),
            ),
        ]
        indexes = [
            # "When was this household last visited": coverage, due dates, the planner.
            models.Index(fields=["household", "-visited_at"], name="visit_household_last_idx"),
            models.Index(fields=["patrol_site", "-visited_at"], name="visit_site_last_idx"),
            # Visits per cadre per day, per area per period.
            models.Index(fields=["cadre", "visited_at"], name="visit_cadre_day_idx"),
            models.Index(fields=["area", "visited_at"], name="visit_area_period_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.visited_at:%Y-%m-%d} {self.household or self.patrol_site}"


class Finding(models.Model):
    """Something a visit found (a need, a problem), one line of the visit form's box. Saving the visit files it as a
    demand (`demand_from_finding`); one stored before that did is filed from the visit's page (转为诉求)."""

    visit = models.ForeignKey(Visit, verbose_name=_("走访记录"), on_delete=models.CASCADE, related_name="findings")
    text = models.TextField(_("发现的问题或需求"))
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("走访发现")
        verbose_name_plural = _("走访发现")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text[:30]


class Plan(models.Model):
    """One planning run for a street: the routes it wrote for `start` onwards. A re-plan writes a new Plan and
    replaces the routes of the coming days; the past is never rewritten."""

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.CASCADE, related_name="plans")
    start = models.DateField(_("开始日期"))
    days = models.PositiveIntegerField(_("天数"))
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    stats = models.JSONField(_("统计"), default=dict, blank=True)

    class Meta:
        verbose_name = _("走访计划")
        verbose_name_plural = _("走访计划")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.street} {self.start} +{self.days}"


class Route(models.Model):
    """A cadre's walk on one working day: from the residents' committee office through the stops and back."""

    SCOPE_AREA: ClassVar[str] = "area"

    plan = models.ForeignKey(Plan, verbose_name=_("走访计划"), on_delete=models.CASCADE, related_name="routes")
    day = models.DateField(_("日期"))
    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("走访干部"), on_delete=models.CASCADE, related_name="routes"
    )
    area = models.ForeignKey(ResidentialArea, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="+")
    walk_m = models.PositiveIntegerField(_("步行距离（米）"))
    # When this route was (re)written: a visit to one of its stops logged after it was planned, on or before the
    # route's day, satisfies the stop (an off-route visit shows the stop as done).
    planned_at = models.DateTimeField(_("规划时间"), default=timezone.now)

    class Meta:
        verbose_name = _("走访路线")
        verbose_name_plural = _("走访路线")
        ordering = ["day", "cadre"]
        constraints = [
            models.UniqueConstraint(fields=["cadre", "day"], name="route_one_per_cadre_day"),
        ]
        indexes = [models.Index(fields=["area", "day"], name="route_area_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.cadre}"


class Stop(models.Model):
    """One stop of a route, in walking order, with why it is due (shown to the cadre)."""

    class Kind(models.TextChoices):
        HOUSEHOLD = "household", _("住户")
        PATROL = "patrol", _("巡查点")

    route = models.ForeignKey(Route, verbose_name=_("走访路线"), on_delete=models.CASCADE, related_name="stops")
    seq = models.PositiveSmallIntegerField(_("顺序"))
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    patrol_site = models.ForeignKey(PatrolSite, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    lat = models.FloatField(_("纬度"))
    lng = models.FloatField(_("经度"))
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("走访站点")
        verbose_name_plural = _("走访站点")
        ordering = ["route", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["route", "seq"], name="stop_unique_seq"),
            models.CheckConstraint(
                name="stop_one_target",
                condition=models.Q(kind="household", household__isnull=False, patrol_site__isnull=True)
                | models.Q(kind="patrol", household__isnull=True, patrol_site__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.route} #{self.seq}"

"""What every app shares: users and their roles, the audit log, and background jobs with progress."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from ningju.core.fields import EncryptedField


class Role(models.TextChoices):
    STREET_ADMIN = "street_admin", _("街道管理员")
    AREA_HEAD = "area_head", _("居民区书记/主任")
    CADRE = "cadre", _("居民区干部")
    LIAISON = "liaison", _("职能部门联络员")


class User(AbstractUser):  # type: ignore[django-manager-missing]  # DeviceToken.user: knox's base model is untyped
    """A platform user. The role and its scope (a street, an area or a department) decide what they see."""

    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, blank=True)
    street = models.ForeignKey(
        "registry.Street",
        verbose_name=_("街道"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    area = models.ForeignKey(
        "registry.ResidentialArea",
        verbose_name=_("居民区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    department = models.ForeignKey(
        "registry.Department",
        verbose_name=_("职能部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    # Staff numbers are often personal mobiles: encrypted at rest, masked when shown, revealed to the street's
    # administrators with a reason (core.services.staff_phone_reveal).
    phone = EncryptedField(_("工作电话"), kind="phone")
    # Set when an administrator resets the password: the next sign-in must choose a new one before anything else.
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            # Area roles need their area; a liaison needs a department; a street administrator needs a street.
            models.CheckConstraint(
                name="user_area_roles_have_area",
                condition=~models.Q(role__in=["area_head", "cadre"]) | models.Q(area__isnull=False),
            ),
            models.CheckConstraint(
                name="user_liaison_has_department",
                condition=~models.Q(role="liaison") | models.Q(department__isnull=False),
            ),
            models.CheckConstraint(
                name="user_street_admin_has_street",
                condition=~models.Q(role="street_admin") | models.Q(street__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class AuditAction(models.TextChoices):
    REVEAL = "reveal", _("查看明文")
    EXPORT = "export", _("导出")
    DOWNLOAD = "download", _("下载导出文件")
    IMPORT = "import", _("导入")
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    CLUSTER = "cluster", _("合并同类项")
    MFA_ENROLL = "mfa_enroll", _("启用两步验证")
    MFA_FAILED = "mfa_failed", _("验证码错误")
    MFA_RESET = "mfa_reset", _("重置两步验证")
    RECOVERY_USED = "recovery_used", _("使用恢复码")
    TOKEN_REVOKE = "token_revoke", _("吊销令牌")
    PASSWORD_CHANGE = "password_change", _("修改密码")
    PASSWORD_RESET = "password_reset", _("重置密码")
    UNLOCK = "unlock", _("解锁账号")
    ROLE_CHANGE = "role_change", _("变更角色")
    CONFIG_CHANGE = "config_change", _("修改配置")
    KEY_ROTATION = "key_rotation", _("轮换密钥")
    BACKUP = "backup", _("备份")
    RESTORE = "restore", _("恢复")
    AUDIT_EXPORT = "audit_export", _("导出审计记录")


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Audit rows are append-only: a bulk update or delete through the ORM is refused. Only
    `ningju.core.audit` seals hashes and purges rows past the retention period, and it keeps the chain verifiable."""

    def update(self, **kwargs: object) -> int:
        # Deleting a user sets `user` to NULL on their rows (on_delete=SET_NULL); the hashed username stays.
        if kwargs.keys() == {"user"} and kwargs["user"] is None:
            return super().update(**kwargs)
        raise PermissionError("audit rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit rows are append-only")


class AuditEntry(models.Model):
    """One audited act on personal data or on access: who, what, when, why. Rows are never edited."""

    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    username = models.CharField(_("用户名"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=20, choices=AuditAction.choices)
    target_type = models.CharField(_("对象类型"), max_length=50, blank=True)
    target_id = models.CharField(_("对象编号"), max_length=50, blank=True)
    field = models.CharField(_("字段"), max_length=50, blank=True)
    reason = models.CharField(_("事由"), max_length=200, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP地址"), null=True, blank=True)
    # The hash chain: each row's hash covers its own content and the previous row's hash, so an edited or deleted
    # row breaks the chain (`ningju audit verify`).
    prev_hash = models.CharField(_("前一条哈希"), max_length=64, blank=True)
    row_hash = models.CharField(_("本条哈希"), max_length=64, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The audit page and tests look up "who revealed/exported what" per target.
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.username} {self.get_action_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # An edited row would break the hash chain anyway; refusing here says so at the place that tried.
        if not self._state.adding:
            raise PermissionError("audit rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit rows are append-only")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("进行中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")


class JobKind(models.TextChoices):
    """Every kind of background job, with the name users see on its progress page."""

    REGISTRY_IMPORT = "registry_import", _("居民信息导入")
    REGISTRY_EXPORT = "registry_export", _("居民信息导出")
    VISIT_PLAN = "visit_plan", _("走访路线规划")
    HOTLINE_IMPORT = "hotline_import", _("12345工单导入")
    DEMAND_EXPORT = "demand_export", _("诉求导出")
    TEXT_TRAIN = "text_train", _("诉求分类模型训练")
    CLUSTERS = "clusters", _("同类诉求分析")
    ROLLUPS = "rollups", _("统计汇总")
    REPORT = "report", _("报告生成")


class Job(models.Model):
    """A long job (import, export, planning, report) run by the task worker; the UI polls its progress."""

    kind = models.CharField(_("类型"), max_length=40, choices=JobKind.choices)
    # Dotted path of the function that does the work: `def handler(job: Job, progress: Progress) -> dict`.
    handler = models.CharField(max_length=200)
    status = models.CharField(_("状态"), max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    message = models.CharField(_("说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    input_file = models.FileField(_("输入文件"), upload_to="jobs/in/", blank=True)
    output_file = models.FileField(_("结果文件"), upload_to="jobs/out/", blank=True)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    result = models.JSONField(_("结果"), default=dict, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(name="job_progress_percent", condition=models.Q(progress__lte=100)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class CalendarYear(models.Model):
    """A year whose official holiday arrangement a street administrator has entered (for years the calendar
    package does not know yet). Until a year is entered, weekends-only applies, with a warning."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    entered = models.BooleanField(_("已录入官方安排"), default=False)
    notice = models.CharField(_("通知文号或来源"), max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    entered_at = models.DateTimeField(_("录入时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("工作日历年度")
        verbose_name_plural = _("工作日历年度")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class WorkdayOverride(models.Model):
    """One day that differs from Monday–Friday in an entered year: a public holiday (is_workday False) or a
    make-up working day on a weekend (调休, is_workday True). Also corrects the package in an emergency."""

    day = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"))
    name = models.CharField(_("说明"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("工作日调整")
        verbose_name_plural = _("工作日调整")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.name}"


class NoticeLevel(models.TextChoices):
    INFO = "info", _("通知")
    YELLOW = "yellow", _("黄色预警")
    RED = "red", _("红色预警")


class Notification(models.Model):
    """A message in one user's in-app inbox (a demand about to be late, a whistle arriving …).

    `key` makes a notice idempotent: the periodic job may run many times, a user hears about one thing once.
    Other channels (email, a WeCom robot) are sent by `ningju.core.notify` and leave no row of their own.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="notifications"
    )
    level = models.CharField(_("级别"), max_length=10, choices=NoticeLevel.choices, default=NoticeLevel.INFO)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    key = models.CharField(_("去重键"), max_length=120)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_user")]
        indexes = [
            # The unread count in every page's header.
            models.Index(fields=["user", "read_at"], name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return self.title

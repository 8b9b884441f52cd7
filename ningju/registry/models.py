"""数据底座: street → residential area → compound → building → household → resident, with tags and patrol sites.

Each model names, in `SCOPE_AREA`, the path from it to its residential area: the scoping helper
(`ningju.core.scoping`) filters every query through it, so nothing here needs to know about roles.
"""

from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ningju.core.fields import EncryptedField, LookupHashField

street_code_validator = RegexValidator(r"^\d{9}$", _("街道代码应为9位数字"))
area_code_validator = RegexValidator(r"^\d{12}$", _("居民区代码应为12位数字（统计用区划代码）"))
LAT_VALIDATORS = [MinValueValidator(-90), MaxValueValidator(90)]
LNG_VALIDATORS = [MinValueValidator(-180), MaxValueValidator(180)]


class Street(models.Model):
    """A sub-district (街道), e.g. 江宁路街道 310106006."""

    SCOPE_AREA: ClassVar[str] = ""

    code = models.CharField(_("街道代码"), max_length=9, unique=True, validators=[street_code_validator])
    name = models.CharField(_("名称"), max_length=50)
    office_address = models.CharField(_("办公地址"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("街道")
        verbose_name_plural = _("街道")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ResidentialArea(models.Model):
    """A residential area (居民区) with its residents' committee (居委会); the office is where walks start."""

    SCOPE_AREA: ClassVar[str] = "self"

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="areas")
    code = models.CharField(_("居民区代码"), max_length=12, unique=True, validators=[area_code_validator])
    name = models.CharField(_("名称"), max_length=50)
    office_address = models.CharField(_("居委会地址"), max_length=100, blank=True)
    office_lat = models.FloatField(_("居委会纬度"), null=True, blank=True, validators=LAT_VALIDATORS)
    office_lng = models.FloatField(_("居委会经度"), null=True, blank=True, validators=LNG_VALIDATORS)
    phone = models.CharField(_("居委会电话"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("居民区")
        verbose_name_plural = _("居民区")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="area_unique_name_in_street"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def short_code(self) -> str:
        """The last three digits, as used in demo account names (head-006)."""
        return self.code[-3:]


class Grid(models.Model):
    """A grid (网格) or, with a parent, a sub-grid (次格) of the street: an optional grouping of buildings."""

    SCOPE_AREA: ClassVar[str] = ""

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="grids")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级网格"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    name = models.CharField(_("名称"), max_length=50)

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["street", "name"]
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="grid_unique_name_in_street"),
        ]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id and self.parent else self.name


class Compound(models.Model):
    """A compound (小区) with its owners' committee (业委会) and property company (物业) — two of the troika."""

    SCOPE_AREA: ClassVar[str] = "area"

    area = models.ForeignKey(
        ResidentialArea, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="compounds"
    )
    name = models.CharField(_("小区名称"), max_length=80)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    owners_committee = models.CharField(_("业委会"), max_length=100, blank=True)
    # "name mobile" lines (the committee members are residents): encrypted at rest, `str()` is "张三 138****5678",
    # the clear text goes through registry.services.compound_contact_reveal with a reason.
    owners_committee_contact = EncryptedField(_("业委会联系人"), kind="contact")
    property_company = models.CharField(_("物业公司"), max_length=100, blank=True)
    property_contact = EncryptedField(_("物业联系人"), kind="contact")
    built_year = models.PositiveSmallIntegerField(_("建成年份"), null=True, blank=True)

    class Meta:
        verbose_name = _("小区")
        verbose_name_plural = _("小区")
        ordering = ["area", "name"]
        constraints = [
            models.UniqueConstraint(fields=["area", "name"], name="compound_unique_name_in_area"),
        ]

    def __str__(self) -> str:
        return self.name


class Building(models.Model):
    """A building (楼栋) at a road address: 常德路633弄5号, or 江宁路509号 where there is no lane.

    Coordinates are WGS-84 as stored; maps on Chinese tiles convert them to GCJ-02 for display.
    """

    SCOPE_AREA: ClassVar[str] = "compound__area"

    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="buildings"
    )
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("网格"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="buildings",
    )
    road = models.CharField(_("路名"), max_length=30)
    lane = models.CharField(_("弄"), max_length=10, blank=True)
    number = models.CharField(_("号"), max_length=20)
    floors = models.PositiveSmallIntegerField(_("层数"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), validators=LAT_VALIDATORS)
    lng = models.FloatField(_("经度"), validators=LNG_VALIDATORS)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["road", "lane", "number"]
        constraints = [
            models.UniqueConstraint(fields=["road", "lane", "number"], name="building_unique_address"),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return format_address(self.road, self.lane, self.number)


def format_address(road: str, lane: str, number: str) -> str:
    return f"{road}{lane}弄{number}号" if lane else f"{road}{number}号"


class TagCategory(models.TextChoices):
    MUST_VISIT = "must_visit", _("必访对象")
    CARE = "care", _("关爱服务")
    OTHER = "other", _("其他")


class Tag(models.Model):
    """A label on households and residents. The seven must-visit categories (7类必访对象) ship as editable
    defaults; a street administrator adds others. `high_risk` marks tags whose households are visited weekly.

    Each street owns its tags (the defaults are copied in when the street is created), so one street's
    administrator renaming or switching off a tag changes nothing for another street."""

    SCOPE_AREA: ClassVar[str] = ""  # street configuration: read by everyone of the street, edited by its admin

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="tags")
    name = models.CharField(_("名称"), max_length=30)
    category = models.CharField(_("类别"), max_length=20, choices=TagCategory.choices, default=TagCategory.OTHER)
    high_risk = models.BooleanField(_("高风险"), default=False)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("标签")
        verbose_name_plural = _("标签")
        ordering = ["sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="tag_unique_name_in_street"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def must_visit(self) -> bool:
        return self.category == TagCategory.MUST_VISIT


class Tenure(models.TextChoices):
    OWNER = "owner", _("自有产权")
    PUBLIC_RENT = "public_rent", _("公房租赁")
    TENANT = "tenant", _("租户")
    VACANT = "vacant", _("空置")
    OTHER = "other", _("其他")


class Household(models.Model):
    """A household (户) in one room of a building. Every change is kept in its history."""

    SCOPE_AREA: ClassVar[str] = "building__compound__area"

    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="households"
    )
    room = models.CharField(_("室号"), max_length=20)
    tenure = models.CharField(_("居住类型"), max_length=20, choices=Tenure.choices, default=Tenure.OWNER)
    tags = models.ManyToManyField(Tag, verbose_name=_("标签"), blank=True, related_name="households")
    notes = models.TextField(_("备注"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords(m2m_fields=[tags], excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["building", "room"]
        constraints = [
            models.UniqueConstraint(fields=["building", "room"], name="household_unique_room"),
        ]

    def __str__(self) -> str:
        return f"{self.building.address}{self.room}室"

    @property
    def address(self) -> str:
        return f"{self.building.address}{self.room}室"


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙辈")
    SIBLING = "sibling", _("兄弟姐妹")
    TENANT = "tenant", _("租客")
    OTHER = "other", _("其他")


class ResidentQuerySet(models.QuerySet["Resident"]):
    def current(self) -> "ResidentQuerySet":
        """Residents still living in the household (moved-out and deceased ones stay for history)."""
        return self.filter(active=True)


class Resident(models.Model):
    """A resident (居民). The ID and phone numbers are encrypted; their keyed hashes allow exact look-up and
    duplicate detection without decrypting anything."""

    SCOPE_AREA: ClassVar[str] = "household__building__compound__area"

    household = models.ForeignKey(
        Household, verbose_name=_("户"), on_delete=models.PROTECT, related_name="residents"
    )
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    id_number = EncryptedField(_("身份证号"), kind="id_number", hash_field="id_number_hash")
    id_number_hash = LookupHashField(source="id_number")
    phone = EncryptedField(_("手机号"), kind="phone", hash_field="phone_hash")
    phone_hash = LookupHashField(source="phone")
    relation = models.CharField(_("与户主关系"), max_length=20, choices=Relation.choices, default=Relation.HEAD)
    tags = models.ManyToManyField(Tag, verbose_name=_("标签"), blank=True, related_name="residents")
    notes = models.TextField(_("备注"), blank=True)
    active = models.BooleanField(_("在住"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords(m2m_fields=[tags], excluded_fields=["updated_at"])

    objects = ResidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["household", "id"]
        constraints = [
            # One person, one record: the same ID number cannot be registered twice.
            models.UniqueConstraint(
                fields=["id_number_hash"],
                condition=~models.Q(id_number_hash=""),
                name="resident_unique_id_number",
            ),
        ]
        indexes = [
            # Search by full phone number goes through this hash (no clear-text phone is ever stored).
            models.Index(fields=["phone_hash"], name="resident_phone_hash_idx"),
            models.Index(fields=["name"], name="resident_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def age(self) -> int | None:
        if not self.birth_date:
            return None
        today = timezone.localdate()
        born = self.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class Department(models.Model):
    """A functional department (职能部门) the street dispatches whistled demands to: 城管, 市场监管 …"""

    street = models.ForeignKey(
        Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="departments"
    )
    name = models.CharField(_("名称"), max_length=50)
    slug = models.SlugField(_("简称代码"), max_length=30)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("职能部门")
        verbose_name_plural = _("职能部门")
        ordering = ["street", "name"]
        constraints = [
            models.UniqueConstraint(fields=["street", "slug"], name="department_unique_slug_in_street"),
        ]

    def __str__(self) -> str:
        return self.name


class PatrolSiteType(models.Model):
    """A must-patrol place type (4类必巡区域) of a street; the four defaults are copied in, editable, when the
    street is created."""

    SCOPE_AREA: ClassVar[str] = ""  # street configuration, like tags

    street = models.ForeignKey(
        Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="patrol_site_types"
    )
    name = models.CharField(_("名称"), max_length=30)
    must_patrol = models.BooleanField(_("必巡区域"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("巡查点类型")
        verbose_name_plural = _("巡查点类型")
        ordering = ["sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="patrol_site_type_unique_name_in_street"),
        ]

    def __str__(self) -> str:
        return self.name


class PatrolSite(models.Model):
    """A place cadres patrol (巡查): a stairwell, a bicycle shed with chargers, a garbage room, a street shop."""

    SCOPE_AREA: ClassVar[str] = "area"

    area = models.ForeignKey(
        ResidentialArea, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="patrol_sites"
    )
    compound = models.ForeignKey(
        Compound,
        verbose_name=_("小区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patrol_sites",
    )
    site_type = models.ForeignKey(
        PatrolSiteType, verbose_name=_("类型"), on_delete=models.PROTECT, related_name="sites"
    )
    name = models.CharField(_("名称"), max_length=80)
    address = models.CharField(_("地址"), max_length=120, blank=True)
    lat = models.FloatField(_("纬度"), validators=LAT_VALIDATORS)
    lng = models.FloatField(_("经度"), validators=LNG_VALIDATORS)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("巡查点")
        verbose_name_plural = _("巡查点")
        ordering = ["area", "site_type", "name"]

    def __str__(self) -> str:
        return self.name

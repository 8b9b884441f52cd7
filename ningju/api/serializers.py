"""What the API reads and writes: Input serializers validate a request, Output serializers shape a record.

Output serializers are plain `Serializer`s with every field spelled out, so a new model field never leaks into
the API by accident. ID and phone numbers only ever leave as their masked form (`MaskedField`); the clear text is
reached through the audited reveal endpoint alone.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ningju.api.fields import FilterIdField
from ningju.core.fields import SensitiveValue
from ningju.registry.models import Gender, Relation, TagCategory, Tenure
from ningju.registry.services import REVEALABLE_FIELDS

AREA_CODE_REGEX = r"^\d{12}$"


class MaskedField(serializers.CharField):
    """An encrypted identifier, always masked (138****5678); null when none is registered."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        if not isinstance(value, SensitiveValue):
            # Anything else here would be clear text reaching a client: refuse loudly rather than leak.
            raise TypeError(f"MaskedField expects a SensitiveValue, got {type(value).__name__}")
        return value.masked


# --- shared pieces ------------------------------------------------------------------------------------------


class TagOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=TagCategory.choices)
    high_risk = serializers.BooleanField(help_text=_("高风险标签的户每周走访。"))


class StreetRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class AreaRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(help_text=_("12位统计用区划代码。"))
    name = serializers.CharField()


class CompoundRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class BuildingRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    address = serializers.CharField()
    lat = serializers.FloatField(help_text=_("纬度（WGS-84）。"))
    lng = serializers.FloatField(help_text=_("经度（WGS-84）。"))


# --- the registry, top down -------------------------------------------------------------------------------


class AreaOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(help_text=_("12位统计用区划代码。"))
    name = serializers.CharField()
    street = StreetRefOutput()
    office_address = serializers.CharField()
    office_lat = serializers.FloatField(allow_null=True, help_text=_("居委会纬度（WGS-84）。"))
    office_lng = serializers.FloatField(allow_null=True, help_text=_("居委会经度（WGS-84）。"))
    phone = serializers.CharField(help_text=_("居委会电话。"))
    compound_count = serializers.IntegerField()
    building_count = serializers.IntegerField()
    household_count = serializers.IntegerField()
    resident_count = serializers.IntegerField(help_text=_("在住居民数。"))
    must_visit_count = serializers.IntegerField(help_text=_("有必访标签（户或居民）的户数。"))


class CompoundOutput(serializers.Serializer):
    id = serializers.IntegerField()
    area = AreaRefOutput()
    name = serializers.CharField()
    address = serializers.CharField()
    owners_committee = serializers.CharField()
    owners_committee_contact = serializers.CharField(allow_null=True)
    property_company = serializers.CharField()
    property_contact = serializers.CharField(allow_null=True)
    built_year = serializers.IntegerField(allow_null=True)
    building_count = serializers.IntegerField()
    household_count = serializers.IntegerField()


class BuildingOutput(serializers.Serializer):
    id = serializers.IntegerField()
    compound = CompoundRefOutput()
    area_code = serializers.CharField(source="compound.area.code")
    address = serializers.CharField(help_text=_("例如：常德路633弄5号。"))
    road = serializers.CharField()
    lane = serializers.CharField(help_text=_("弄号，没有弄时为空。"))
    number = serializers.CharField()
    floors = serializers.IntegerField(allow_null=True)
    lat = serializers.FloatField(help_text=_("纬度（WGS-84）。"))
    lng = serializers.FloatField(help_text=_("经度（WGS-84）。"))
    household_count = serializers.IntegerField()


class HouseholdOutput(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.CharField()
    address = serializers.CharField(help_text=_("例如：常德路633弄5号302室。"))
    tenure = serializers.ChoiceField(choices=Tenure.choices)
    tenure_display = serializers.CharField(source="get_tenure_display")
    tags = TagOutput(many=True, source="tags.all")
    building = BuildingRefOutput()
    area_code = serializers.CharField(source="building.compound.area.code")
    resident_count = serializers.IntegerField(help_text=_("在住居民数。"))
    notes = serializers.CharField()
    updated_at = serializers.DateTimeField()


class ResidentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    household = serializers.IntegerField(source="household_id")
    name = serializers.CharField()
    gender = serializers.ChoiceField(choices=Gender.choices)
    gender_display = serializers.CharField(source="get_gender_display")
    birth_date = serializers.DateField(allow_null=True)
    age = serializers.IntegerField(allow_null=True)
    relation = serializers.ChoiceField(choices=Relation.choices)
    relation_display = serializers.CharField(source="get_relation_display")
    id_number = MaskedField(help_text=_("身份证号，已脱敏；明文须经 reveal 接口并记入审计。"))
    phone = MaskedField(help_text=_("手机号，已脱敏；明文须经 reveal 接口并记入审计。"))
    tags = TagOutput(many=True, source="tags.all")
    active = serializers.BooleanField(help_text=_("仍在住（迁出、去世的居民保留以备查）。"))
    notes = serializers.CharField()


# --- query filters (validated like any other input) ------------------------------------------------------


class CompoundFilterInput(serializers.Serializer):
    area = serializers.RegexField(
        AREA_CODE_REGEX,
        required=False,
        help_text=_("居民区代码（12位）。"),
        error_messages={"invalid": _("居民区代码应为12位数字。")},
    )


class BuildingFilterInput(serializers.Serializer):
    compound = FilterIdField(help_text=_("小区编号。"))


class HouseholdFilterInput(serializers.Serializer):
    area = serializers.RegexField(
        AREA_CODE_REGEX,
        required=False,
        help_text=_("居民区代码（12位）。"),
        error_messages={"invalid": _("居民区代码应为12位数字。")},
    )
    building = FilterIdField(help_text=_("楼栋编号。"))
    tag = serializers.CharField(
        required=False,
        max_length=30,
        help_text=_("标签编号或名称；户本身或其在住居民带有该标签即算。"),
    )


class ResidentFilterInput(serializers.Serializer):
    household = FilterIdField(help_text=_("户编号。"))


# --- reveal and token ---------------------------------------------------------------------------------------


class RevealInput(serializers.Serializer):
    field = serializers.ChoiceField(choices=[(name, name) for name in REVEALABLE_FIELDS])
    reason = serializers.CharField(max_length=200, help_text=_("查看事由，记入审计日志，例如：电话回访。"))


class RevealOutput(serializers.Serializer):
    value = serializers.CharField(help_text=_("明文；未登记时为空字符串。"))


class TokenInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text=_("两步验证码：验证器应用显示的6位数字，或一个恢复码。街道管理员及已启用两步验证的账号必填。"),
    )
    name = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text=_("设备名称，显示在“我的设备”页，例如：张三的手机。"),
    )


class TokenOutput(serializers.Serializer):
    token = serializers.CharField(help_text=_("请求时放在请求头中：Authorization: Token <token>。只显示这一次。"))
    expiry = serializers.DateTimeField(help_text=_("过期时间；每次使用后顺延。"))

"""What the visits API reads and writes: the upload of one visit from a phone, and a stored visit."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ningju.api.fields import BoundedDateTimeField, FilterIdField, IdField
from ningju.registry.models import Tenure
from ningju.visits.forms import MAX_FINDINGS
from ningju.visits.models import Finding, Mood, VisitMode


class CorrectionsInput(serializers.Serializer):
    """Household data corrected during the visit; leave a field out to keep it. Written with the reason 走访更正
    into the household's history, and only on the first upload of the visit."""

    tenure = serializers.ChoiceField(choices=Tenure.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    tags = serializers.ListField(
        child=IdField(),
        required=False,
        max_length=50,
        help_text=_("户的全部标签编号（替换原有标签）。"),
    )


class VisitInput(serializers.Serializer):
    id = serializers.UUIDField(help_text=_("手机端生成的编号（UUID）：同一条走访重复上传不会产生重复记录。"))
    household = IdField(required=False, allow_null=True, help_text=_("户编号；与巡查点二选一。"))
    patrol_site = IdField(required=False, allow_null=True, help_text=_("巡查点编号；与户二选一。"))
    visited_at = BoundedDateTimeField(help_text=_("走访时间（带时区，ISO 8601），2000年至2100年之间。"))
    mode = serializers.ChoiceField(choices=VisitMode.choices, help_text=_("巡查只用于巡查点。"))
    way = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")
    met = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    mood = serializers.ChoiceField(choices=Mood.choices, required=False, allow_blank=True, default="")
    needs = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    lat = serializers.FloatField(
        required=False, allow_null=True, min_value=-90, max_value=90, default=None, help_text=_("纬度（WGS-84）。")
    )
    lng = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=-180,
        max_value=180,
        default=None,
        help_text=_("经度（WGS-84）。"),
    )
    findings = serializers.ListField(
        child=serializers.CharField(max_length=2000, allow_blank=True),
        required=False,
        default=list,
        max_length=MAX_FINDINGS,
        help_text=_(
            "走访发现，一条一项；保存走访时每条登记为一条诉求（问题，来源走访或巡查，首问负责人为记录人）。"
        ),
    )
    corrections = CorrectionsInput(required=False)

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("household")) == bool(attrs.get("patrol_site")):
            raise serializers.ValidationError(_("请指定一户或一个巡查点（二者选一）。"))
        return attrs


class VisitFilterInput(serializers.Serializer):
    household = FilterIdField(help_text=_("户编号。"))
    patrol_site = FilterIdField(help_text=_("巡查点编号。"))


class FindingOutput(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    demand = serializers.SerializerMethodField(help_text=_("这条发现登记成的诉求编号（保存走访时登记）。"))

    def get_demand(self, finding: Finding) -> int | None:
        # From the prefetched rows (one demand per finding, by constraint): no query per finding.
        return next((demand.pk for demand in finding.demands.all()), None)


class CadreOutput(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(source="display_name")


class VisitOutput(serializers.Serializer):
    id = serializers.UUIDField()
    area_code = serializers.CharField(source="area.code")
    household = serializers.IntegerField(source="household_id", allow_null=True)
    patrol_site = serializers.IntegerField(source="patrol_site_id", allow_null=True)
    cadre = CadreOutput()
    visited_at = serializers.DateTimeField()
    mode = serializers.ChoiceField(choices=VisitMode.choices)
    mode_display = serializers.CharField(source="get_mode_display")
    way = serializers.CharField()
    met = serializers.CharField()
    notes = serializers.CharField()
    mood = serializers.ChoiceField(choices=Mood.choices, allow_blank=True)
    needs = serializers.CharField()
    lat = serializers.FloatField(allow_null=True)
    lng = serializers.FloatField(allow_null=True)
    distance_m = serializers.IntegerField(allow_null=True, help_text=_("定位点到楼栋（或巡查点）的距离，米。"))
    far_from_target = serializers.BooleanField(help_text=_("定位距离超过街道设置的提示距离（默认300米）。"))
    findings = FindingOutput(many=True, source="findings.all")
    created_at = serializers.DateTimeField(help_text=_("服务器收到的时间。"))

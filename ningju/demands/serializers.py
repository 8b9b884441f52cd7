"""What the demands API reads and writes: a new demand, the inputs of each workflow step, and a demand's story."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ningju.api.fields import CountField, IdField, IdListField
from ningju.api.serializers import AREA_CODE_REGEX, MaskedField
from ningju.demands.models import EVENT_ACTIONS, Kind, Source
from ningju.demands.workflow import CallbackResult, DispatchState, State

CLIENT_KEY_MAX = 64  # Demand.client_key's length


class DemandFilterInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=State.choices, required=False, help_text=_("状态。"))
    area = serializers.RegexField(
        AREA_CODE_REGEX,
        required=False,
        help_text=_("居民区代码（12位）。"),
        error_messages={"invalid": _("居民区代码须为12位数字。")},
    )
    mine = serializers.BooleanField(required=False, help_text=_("为 1 时只列出我是首问负责人的诉求。"))


class DemandCreateInput(serializers.Serializer):
    area = serializers.RegexField(
        AREA_CODE_REGEX,
        help_text=_("诉求所在居民区的代码（12位）。"),
        error_messages={"invalid": _("居民区代码须为12位数字。")},
    )
    kind = serializers.ChoiceField(choices=Kind.choices)
    source = serializers.ChoiceField(choices=Source.choices)  # type: ignore[assignment]  # a field named like Field.source
    text = serializers.CharField(max_length=5000, help_text=_("诉求内容。"))
    category = IdField(required=False, allow_null=True, help_text=_("分类编号。"))
    household = IdField(required=False, allow_null=True, help_text=_("户编号。"))
    building = IdField(required=False, allow_null=True, help_text=_("楼栋编号。"))
    compound = IdField(required=False, allow_null=True, help_text=_("小区编号。"))
    patrol_site = IdField(required=False, allow_null=True, help_text=_("巡查点编号。"))
    reporter = IdField(required=False, allow_null=True, help_text=_("反映人（居民）编号。"))
    visit = serializers.UUIDField(required=False, allow_null=True, help_text=_("发现该诉求的走访记录。"))
    finding = IdField(required=False, allow_null=True, help_text=_("走访发现编号（一条发现只能登记一次）。"))
    external_id = serializers.CharField(
        required=False, allow_blank=True, max_length=50, default="", help_text=_("12345工单编号。")
    )
    client_key = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=CLIENT_KEY_MAX,
        default="",
        help_text=_(
            "客户端生成的幂等键（也可放在请求头 Idempotency-Key）：同一键重复提交返回已登记的诉求，不会重复登记。"
        ),
    )


# --- workflow steps -------------------------------------------------------------------------------------------


class ActionInput(serializers.Serializer):
    """What every step takes: an optional note, and the version the client saw (to refuse acting on a stale view)."""

    expected_version = CountField(
        required=False,
        allow_null=True,
        help_text=_("客户端看到的诉求版本；若他人已在此后处理过，本次操作被拒绝（409），不会覆盖。"),
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, default="", help_text=_("说明。")
    )


class ReasonActionInput(ActionInput):
    reason = serializers.CharField(max_length=2000, help_text=_("原因（必填）。"))


class CallbackActionInput(ActionInput):
    callback_result = serializers.ChoiceField(
        choices=CallbackResult.choices, help_text=_("回访结果：满意、基本满意结案；不满意转再次处置。")
    )


class DispatchActionInput(ActionInput):
    departments = IdListField(
        min_length=1,
        max_length=50,
        help_text=_("派往的职能部门编号，至少一个。"),
    )


class ExtensionActionInput(ReasonActionInput):
    days = serializers.IntegerField(min_value=1, max_value=60, help_text=_("申请延期的工作日数。"))


class MergeActionInput(ReasonActionInput):
    target = IdField(help_text=_("本诉求重复的那一条诉求的编号。"))


# --- a demand and its story -----------------------------------------------------------------------------------


class UserRefOutput(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(source="display_name")


class ReporterOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = MaskedField(help_text=_("手机号，已脱敏。"))


class DemandOutput(serializers.Serializer):
    id = serializers.IntegerField()
    area_code = serializers.CharField(source="area.code")
    kind = serializers.ChoiceField(choices=Kind.choices)
    kind_display = serializers.CharField(source="get_kind_display")
    source = serializers.ChoiceField(choices=Source.choices)  # type: ignore[assignment]  # a field named like Field.source
    source_display = serializers.CharField(source="get_source_display")
    text = serializers.CharField()
    category = serializers.IntegerField(source="category_id", allow_null=True)
    category_name = serializers.CharField(source="category.name", allow_null=True, default=None)
    household = serializers.IntegerField(source="household_id", allow_null=True)
    building = serializers.IntegerField(source="building_id", allow_null=True)
    compound = serializers.IntegerField(source="compound_id", allow_null=True)
    patrol_site = serializers.IntegerField(source="patrol_site_id", allow_null=True)
    reporter = ReporterOutput(allow_null=True)
    visit = serializers.UUIDField(source="visit_id", allow_null=True)
    finding = serializers.IntegerField(source="finding_id", allow_null=True)
    external_id = serializers.CharField()
    owner = UserRefOutput(help_text=_("首问负责人。"))
    state = serializers.ChoiceField(choices=State.choices)
    state_display = serializers.CharField(source="get_state_display")
    version = serializers.IntegerField(help_text=_("每一步加一；操作时作为 expected_version 传回。"))
    whistle_round = serializers.IntegerField()
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True, help_text=_("当前时限；无时限的环节为空。"))
    created_at = serializers.DateTimeField()


class EventOutput(serializers.Serializer):
    actor = UserRefOutput(allow_null=True)
    at = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=EVENT_ACTIONS)
    action_display = serializers.CharField(source="get_action_display")
    # Plain strings: the same values as the demand's `state` (one enum in the schema, not three).
    from_state = serializers.CharField(help_text=_("原状态（取值同 state；登记时为空）。"))
    from_state_display = serializers.CharField(source="get_from_state_display")
    to_state = serializers.CharField(help_text=_("新状态（取值同 state）。"))
    to_state_display = serializers.CharField(source="get_to_state_display")
    reason = serializers.CharField()
    note = serializers.CharField()
    params = serializers.DictField(help_text=_("这一步的参数：派往的部门、回访结果、延期天数、合并目标。"))


class DispatchOutput(serializers.Serializer):
    department = serializers.IntegerField(source="department_id")
    department_name = serializers.CharField(source="department.name")
    round = serializers.IntegerField(help_text=_("吹哨轮次。"))
    # Not `state`: the schema names enums by field name, and this is the department's own progress.
    dispatch_state = serializers.ChoiceField(source="state", choices=DispatchState.choices)
    dispatch_state_display = serializers.CharField(source="get_state_display")
    dispatched_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    returned_at = serializers.DateTimeField(allow_null=True)
    returned_reason = serializers.CharField()


class DemandDetailOutput(DemandOutput):
    events = EventOutput(many=True, source="events.all", help_text=_("处理经过，按时间先后。"))
    dispatches = DispatchOutput(many=True, source="dispatches.all")

"""Forms of the meeting and action-list pages: each validates input only; the rules live in services."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ningju.core.bounds import MAX_WORKDAYS, validate_date_in_range
from ningju.core.models import User
from ningju.demands.attachments import ACCEPT_ATTRIBUTE
from ningju.meetings.models import ActionStatus, MeetingKind, MeetingStatus, Party
from ningju.meetings.selectors import ActionTab, AgendaFilter
from ningju.registry.models import Compound, Department, Grid, ResidentialArea

MAX_TEXT = 5000


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class MeetingFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("会议类型"), required=False, choices=[("", _("全部")), *MeetingKind.choices])
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *MeetingStatus.choices])
    month = forms.DateField(
        label=_("月份"),
        required=False,
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        validators=[validate_date_in_range],
    )


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(label=_("会议类型"), choices=MeetingKind.choices)
    title = forms.CharField(label=_("会议名称"), max_length=200)
    held_at = forms.DateTimeField(
        label=_("时间"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    status = forms.ChoiceField(label=_("状态"), choices=MeetingStatus.choices, initial=MeetingStatus.PLANNED)
    area = forms.ModelChoiceField(label=_("居民区"), queryset=ResidentialArea.objects.none(), required=False)
    compound = forms.ModelChoiceField(label=_("小区"), queryset=Compound.objects.none(), required=False)
    subgrid = forms.ModelChoiceField(label=_("次格"), queryset=Grid.objects.none(), required=False)
    inspected = forms.CharField(label=_("现场查看"), required=False, max_length=MAX_TEXT, widget=forms.Textarea)
    minutes = forms.CharField(label=_("会议纪要"), required=False, max_length=MAX_TEXT, widget=forms.Textarea)
    decisions = forms.CharField(label=_("会议决定"), required=False, max_length=MAX_TEXT, widget=forms.Textarea)

    def __init__(self, *args: Any, street_id: int, area_id: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        areas = ResidentialArea.objects.filter(street=street_id).order_by("code")
        compounds = Compound.objects.filter(area__street=street_id).order_by("area__code", "name")
        if area_id is not None:  # an area user records their own area's meetings
            areas = areas.filter(pk=area_id)
            compounds = compounds.filter(area=area_id)
            self.fields["kind"].choices = [  # type: ignore[attr-defined]
                c for c in MeetingKind.choices if c[0] != MeetingKind.ANALYSIS
            ]
        self.fields["area"].queryset = areas  # type: ignore[attr-defined]
        self.fields["compound"].queryset = compounds  # type: ignore[attr-defined]
        self.fields["subgrid"].queryset = Grid.objects.filter(  # type: ignore[attr-defined]
            street=street_id, parent__isnull=False
        )


class AttendeeForm(forms.Form):
    person = UserChoiceField(label=_("平台用户"), queryset=User.objects.none(), required=False)
    name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    party = forms.ChoiceField(label=_("单位/身份"), choices=Party.choices)
    organisation = forms.CharField(label=_("所在单位"), max_length=100, required=False)

    def __init__(self, *args: Any, people: "QuerySet[User]", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("person") and not (data.get("name") or "").strip():
            raise forms.ValidationError(_("请填写参会人姓名或选择平台用户。"))
        return data


class AgendaFilterForm(forms.Form):
    show = forms.ChoiceField(
        label=_("筛选"), required=False, choices=AgendaFilter.choices, initial=AgendaFilter.OPEN
    )


class AgendaPickForm(forms.Form):
    demands = forms.TypedMultipleChoiceField(label=_("诉求"), coerce=int, choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The choices are checked against the user's scope by the service; here only that they are numbers.
        raw = self.data.getlist("demands") if hasattr(self.data, "getlist") else []
        self.fields["demands"].choices = [(value, value) for value in raw if str(value).isdigit()]  # type: ignore[attr-defined]
        self.fields["demands"].error_messages["required"] = _("请至少选择一条诉求。")


class MeetingFileForm(forms.Form):
    file = forms.FileField(label=_("文件"), widget=forms.ClearableFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}))


class ActionForm(forms.Form):
    """A new action item: a deadline as a date or as working days from today (five by default)."""

    title = forms.CharField(label=_("事项"), max_length=200)
    description = forms.CharField(label=_("说明"), required=False, max_length=MAX_TEXT, widget=forms.Textarea)
    owner = UserChoiceField(label=_("责任人"), queryset=User.objects.none(), required=False)
    department = forms.ModelChoiceField(label=_("责任部门"), queryset=Department.objects.none(), required=False)
    days = forms.IntegerField(
        label=_("完成时限（工作日）"), required=False, min_value=1, max_value=MAX_WORKDAYS, initial=5
    )
    deadline = forms.DateField(
        label=_("或指定日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_date_in_range],
    )
    demands = forms.TypedMultipleChoiceField(label=_("对应诉求"), coerce=int, required=False, choices=[])

    def __init__(self, *args: Any, people: "QuerySet[User]", street_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people  # type: ignore[attr-defined]
        self.fields["department"].queryset = Department.objects.filter(  # type: ignore[attr-defined]
            street=street_id, active=True
        )
        raw = self.data.getlist("demands") if hasattr(self.data, "getlist") else []
        initial = self.initial.get("demands") or []
        values = [*raw, *initial]
        self.fields["demands"].choices = [(v, v) for v in values if str(v).isdigit()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("owner") and not data.get("department"):
            raise forms.ValidationError(_("请指定责任人或责任部门。"))
        return data


class ProgressForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), choices=ActionStatus.choices)
    note = forms.CharField(label=_("进展"), required=False, max_length=MAX_TEXT, widget=forms.Textarea)
    result = forms.CharField(label=_("完成情况"), required=False, max_length=MAX_TEXT, widget=forms.Textarea)
    deadline = forms.DateField(
        label=_("完成时限"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_date_in_range],
    )


def tab_or_default(value: str | None) -> str:
    return value if value in ActionTab.values else ActionTab.MINE

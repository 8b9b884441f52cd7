"""Forms of the insight pages: the clusters page's window and filter, the split of a cluster, and a standing
mechanism's form (created from a confirmed cluster, edited later)."""

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core.models import User
from ningju.insights.clusters import (
    MAX_WINDOW_DAYS,
    Measure,
    MechanismData,
    owner_choices,
    window_last,
)
from ningju.insights.models import ClusterStatus, Rhythm
from ningju.registry.models import Department, ResidentialArea, Street

DATE_WIDGET = {"type": "date"}


class AnalyseForm(forms.Form):
    """重新分析: the last 30 or 90 days, or a window of one's own."""

    WINDOWS = (("30", gettext_lazy("近30天")), ("90", gettext_lazy("近90天")), ("custom", gettext_lazy("自定义")))

    window = forms.ChoiceField(
        label=gettext_lazy("统计区间"), choices=WINDOWS, initial="90", widget=forms.RadioSelect
    )
    start = forms.DateField(
        label=gettext_lazy("起始日期"), required=False, widget=forms.DateInput(DATE_WIDGET, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=gettext_lazy("截止日期"), required=False, widget=forms.DateInput(DATE_WIDGET, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        window = data.get("window")
        if window in ("30", "90"):
            data["start"], data["end"] = window_last(int(window))
            return data
        start, end = data.get("start"), data.get("end")
        if not start or not end:
            raise forms.ValidationError(_("自定义区间请填写起始和截止日期。"))
        if start > end:
            raise forms.ValidationError(_("统计起始日期不能晚于截止日期。"))
        if end > timezone.localdate():
            raise forms.ValidationError(_("截止日期不能晚于今天。"))
        if (end - start).days + 1 > MAX_WINDOW_DAYS:
            raise forms.ValidationError(_("统计区间最长一年，请缩短区间。"))
        return data


class ClusterFilterForm(forms.Form):
    STATUSES = (("", gettext_lazy("待确认和已确认")), *ClusterStatus.choices, ("all", gettext_lazy("全部")))

    status = forms.ChoiceField(label=gettext_lazy("状态"), choices=STATUSES, required=False)


class SplitForm(forms.Form):
    """拆分: the members to take out, and whether they form a group of their own."""

    demands = forms.TypedMultipleChoiceField(
        label=gettext_lazy("拆出的诉求"),
        coerce=int,
        error_messages={"required": gettext_lazy("请先勾选要拆出的诉求。")},
    )
    new_cluster = forms.BooleanField(label=gettext_lazy("拆出的诉求另立一组"), required=False)

    def __init__(self, *args: Any, demand_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["demands"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [(str(pk), f"#{pk}") for pk in demand_ids]


class UserChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        user: User = obj
        where = user.area.name if user.area else _("街道")
        return f"{user.display_name}（{where} · {user.get_role_display()}）"


class MechanismForm(forms.Form):
    """A standing mechanism. Choices are limited to the street; owners to its administrators and the people of the
    mechanism's areas (the cluster's, when it is new)."""

    name = forms.CharField(label=gettext_lazy("机制名称"), max_length=200)
    measures = forms.MultipleChoiceField(
        label=gettext_lazy("措施"), choices=Measure.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    other_measures = forms.CharField(
        label=gettext_lazy("其他措施（多项用顿号或逗号分隔）"), max_length=200, required=False
    )
    description = forms.CharField(
        label=gettext_lazy("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    owners = UserChoices(
        label=gettext_lazy("责任人"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    departments = forms.ModelMultipleChoiceField(
        label=gettext_lazy("责任部门"),
        queryset=Department.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    areas = forms.ModelMultipleChoiceField(
        label=gettext_lazy("涉及居民区"),
        queryset=ResidentialArea.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    rhythm = forms.ChoiceField(label=gettext_lazy("巡查频次"), choices=Rhythm.choices)
    started_on = forms.DateField(
        label=gettext_lazy("启动日期"), widget=forms.DateInput(DATE_WIDGET, format="%Y-%m-%d")
    )
    keywords = forms.CharField(
        label=gettext_lazy("匹配关键词（空格分隔；来源同类诉求被删除时用于识别复发）"),
        max_length=300,
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        street: Street,
        areas: list[ResidentialArea],
        owners: Iterable[int] = (),
        edit: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owners"].queryset = owner_choices(street, areas, owners)  # type: ignore[attr-defined]
        self.fields["departments"].queryset = Department.objects.filter(  # type: ignore[attr-defined]
            street=street, active=True
        ).order_by("name")
        self.fields["areas"].queryset = ResidentialArea.objects.filter(street=street).order_by(  # type: ignore[attr-defined]
            "code"
        )
        if edit:
            self.fields["active"] = forms.BooleanField(label=gettext_lazy("运行中"), required=False)

    def clean_other_measures(self) -> list[str]:
        raw: str = self.cleaned_data.get("other_measures") or ""
        for mark in ("、", "，", ";", "；"):
            raw = raw.replace(mark, ",")
        return [part.strip() for part in raw.split(",") if part.strip()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("measures") and not data.get("other_measures") and "measures" not in self.errors:
            self.add_error("measures", _("请至少选择或填写一项措施。"))
        started: date | None = data.get("started_on")
        if started and started > timezone.localdate() + timedelta(days=366):
            self.add_error("started_on", _("启动日期不能晚于一年以后。"))
        return data

    def data_object(self) -> MechanismData:
        data = self.cleaned_data
        return MechanismData(
            name=data["name"],
            measures=[*data["measures"], *data["other_measures"]],
            description=data.get("description") or "",
            owners=list(data["owners"]),
            departments=list(data["departments"]),
            areas=list(data["areas"]),
            rhythm=data["rhythm"],
            started_on=data["started_on"],
            keywords=data.get("keywords") or "",
        )


def mechanism_edit_initial(measures: list[str]) -> dict[str, Any]:
    """Split stored measures back into the article's checkboxes and the free text."""
    known = set(Measure.values)
    return {
        "measures": [m for m in measures if m in known],
        "other_measures": "、".join(m for m in measures if m not in known),
    }

"""Forms of the demand pages: one workflow step (exactly the inputs its rule requires) and the intake desk form."""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ningju.core import scoping
from ningju.core.bounds import validate_date_in_range
from ningju.core.errors import ApplicationError
from ningju.core.identifiers import validate_phone
from ningju.demands import rates
from ningju.demands.attachments import ACCEPT_ATTRIBUTE, check_upload
from ningju.demands.models import Category, Kind, Source
from ningju.demands.workflow import (
    DEPARTMENT_NOTE_MIN,
    MISSING,
    TRANSITIONS,
    Action,
    CallbackResult,
    Field,
    State,
)
from ningju.registry.models import Building, Compound, Department, Resident, ResidentialArea

MAX_FILES = 9  # a phone's photo picker: enough for one visit, not a whole album
MAX_TEXT = 2000


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several photos or files in one input; each is checked (type, content, size) before anything is written."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        uploads = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if len(uploads) > MAX_FILES:
            raise forms.ValidationError(_("一次最多上传%(max)s个文件。") % {"max": MAX_FILES})
        cleaned = [super(MultipleFileField, self).clean(upload, initial) for upload in uploads]
        for upload in cleaned:
            try:
                check_upload(upload)
            except ApplicationError as error:
                raise forms.ValidationError(error.message) from None
        return cleaned


# What each input of a step is called on the page, where a plain "原因" would not say what is asked.
REASON_LABELS = {
    Action.WHISTLE: _("吹哨原因（居民区为何无法解决）"),
    Action.CLOSE: _("不经回访结案的原因"),
    Action.RETURN_ORDER: _("退单原因"),
    Action.REQUEST_EXTENSION: _("延期原因"),
    Action.DENY_EXTENSION: _("不同意的理由"),
    Action.MERGE: _("合并说明"),
}


class StepForm(forms.Form):
    """One workflow step: the version the page showed, the inputs `TRANSITIONS[(state, action)].requires` names,
    a note (optional unless the step requires it) and optional photos. A missing input reads as the workflow's own
    message. A whistle may name the department the head suggests (`suggested_department`); a dispatch's
    `department_hints` say, next to a pre-ticked department, why it is ticked."""

    version = forms.IntegerField(
        widget=forms.HiddenInput, error_messages={"required": _("页面已过期，请刷新后重试。")}
    )

    def __init__(
        self,
        *args: Any,
        action: Action,
        state: str,
        departments: "QuerySet[Department] | None" = None,
        department_hints: dict[int, str] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_id", f"id_{action.value}_%s")
        super().__init__(*args, **kwargs)
        self.action = action
        self.department_hints = department_hints or {}
        rule = TRANSITIONS.get((State(state), action))
        self.requires = rule.requires if rule is not None else frozenset()

        def missing(needed: Field) -> dict[str, str]:
            return {"required": str(MISSING[needed]) % {"action": action.label}}

        if Field.REASON in self.requires:
            self.fields["reason"] = forms.CharField(
                label=REASON_LABELS.get(action, _("原因")),
                max_length=MAX_TEXT,
                widget=forms.Textarea(attrs={"rows": 2}),
                error_messages=missing(Field.REASON),
            )
        if Field.DEPARTMENTS in self.requires:
            self.fields["departments"] = forms.ModelMultipleChoiceField(
                label=_("派给哪些部门"),
                queryset=departments if departments is not None else Department.objects.none(),
                widget=forms.CheckboxSelectMultiple,
                error_messages=missing(Field.DEPARTMENTS),
            )
        if Field.CALLBACK_RESULT in self.requires:
            self.fields["callback_result"] = forms.ChoiceField(
                label=_("回访结果"),
                choices=CallbackResult.choices,
                widget=forms.RadioSelect,
                error_messages=missing(Field.CALLBACK_RESULT),
            )
        if Field.TARGET in self.requires:
            self.fields["target"] = forms.IntegerField(
                label=_("重复的是哪条诉求（诉求编号）"), min_value=1, error_messages=missing(Field.TARGET)
            )
        if Field.DAYS in self.requires:
            self.fields["days"] = forms.IntegerField(
                label=_("延期几个工作日"), min_value=1, max_value=60, error_messages=missing(Field.DAYS)
            )
        if action == Action.WHISTLE:
            self.fields["suggested_department"] = forms.ModelChoiceField(
                label=_("建议派往部门（选填）"),
                queryset=departments if departments is not None else Department.objects.none(),
                required=False,
                empty_label=_("（由街道决定）"),
                error_messages={"invalid_choice": _("所选部门无效或已停用。")},
            )
        if Field.NOTE in self.requires:
            self.fields["note"] = forms.CharField(
                label=_("办理情况（做了什么、结果如何）"),
                min_length=DEPARTMENT_NOTE_MIN,
                max_length=MAX_TEXT,
                widget=forms.Textarea(attrs={"rows": 3}),
                error_messages={
                    "required": str(MISSING[Field.NOTE]) % {"action": action.label},
                    "min_length": _("办理情况请至少写%(limit_value)d个字：做了什么、结果如何"),
                },
            )
        else:
            self.fields["note"] = forms.CharField(
                label=_("说明（选填）"),
                required=False,
                max_length=MAX_TEXT,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        self.fields["files"] = MultipleFileField(label=_("照片或文件（选填）"))

    def department_boxes(self) -> list[tuple[Any, str]]:
        """The dispatch's department checkboxes, each with why it is ticked ("" where it is not suggested)."""
        if "departments" not in self.fields:
            return []
        return [(box, self.department_hints.get(int(str(box.data["value"])), "")) for box in self["departments"]]

    def step_inputs(self) -> dict[str, Any]:
        """The keyword arguments of `services.demand_act` this form collected."""
        data = self.cleaned_data
        return {
            "reason": data.get("reason", ""),
            "note": data.get("note", ""),
            "departments": [department.pk for department in data.get("departments", [])],
            "callback_result": data.get("callback_result") or None,
            "target": data.get("target"),
            "days": data.get("days"),
            "suggested_department": suggested.pk if (suggested := data.get("suggested_department")) else None,
        }


def category_choices(categories: Sequence[Category]) -> list[tuple[str, Any]]:
    """Active categories grouped under their top-level category, the top-level one first in its group."""
    by_id = {category.pk: category for category in categories}

    def path(category: Category) -> list[Category]:
        chain = [category]
        while chain[-1].parent_id is not None and chain[-1].parent_id in by_id and len(chain) < 10:
            chain.append(by_id[chain[-1].parent_id])
        return chain[::-1]

    groups: dict[int, list[tuple[str, str]]] = {}
    roots: dict[int, Category] = {}
    for category in categories:
        if not category.active:
            continue
        chain = path(category)
        root = chain[0]
        roots[root.pk] = root
        label = " / ".join(c.name for c in chain[1:]) or root.name
        groups.setdefault(root.pk, []).append((str(category.pk), label))
    choices: list[tuple[str, Any]] = [("", _("（暂不分类）"))]
    for root_id, options in sorted(groups.items(), key=lambda item: roots[item[0]].name):
        options.sort(key=lambda option: (option[0] != str(root_id), option[1]))
        choices.append((roots[root_id].name, options))
    return choices


class ResidentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)  # the name only: never an ID or phone number on this page


class CompoundChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.area.name} · {obj.name}"


class BuildingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.compound.name} · {obj.address}"


class IntakeForm(forms.Form):
    """The 来访登记 desk and the general create form: only the text is required, everything else is one tap.

    `areas`: the areas the user may choose (a street administrator without a given place), else None and the
    view decides the area. `residents`: the household's residents when a household is given. `compounds` and
    `buildings`: offered when no place is given (a room number with a building finds the household). The address
    and the reporter's name and phone are free text for what the registry does not hold. `user` scopes every
    picker: an id outside it gets the one "not found or out of scope" answer. `client_key` is made when the form is
    first shown, so a double submit stores once.
    """

    kind = forms.ChoiceField(label=_("类型"), choices=Kind.choices, initial=Kind.PROBLEM, widget=forms.RadioSelect)
    text = forms.CharField(
        label=_("诉求内容"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("居民反映了什么？在哪里？")}),
        error_messages={"required": _("请填写诉求内容。")},
    )
    source = forms.ChoiceField(
        label=_("来源"),
        # 12345 orders come in through the hotline import, with their order numbers.
        choices=[(value, label) for value, label in Source.choices if value != Source.HOTLINE],
        initial=Source.WALK_IN,
    )
    category = forms.ChoiceField(label=_("分类（选填）"), required=False)
    address = forms.CharField(
        label=_("详细地址（选填）"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("如：常德路633弄5号楼下、沿街商铺门口")}),
    )
    reporter_name = forms.CharField(label=_("反映人姓名（选填）"), required=False, max_length=50)
    reporter_phone = forms.CharField(
        label=_("反映人电话（选填）"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        help_text=_("加密保存，页面上只显示部分号码。"),
    )
    photos = MultipleFileField(label=_("照片或文件（选填）"))
    client_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(
        self,
        *args: Any,
        categories: Sequence[Category] = (),
        areas: "QuerySet[ResidentialArea] | None" = None,
        residents: "QuerySet[Resident] | None" = None,
        compounds: "QuerySet[Compound] | None" = None,
        buildings: "QuerySet[Building] | None" = None,
        user: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client_key"].initial = uuid.uuid4().hex
        self.categories = {str(category.pk): category for category in categories}
        self.fields["category"].choices = category_choices(categories)  # type: ignore[attr-defined]
        if areas is not None:
            self.fields["area"] = forms.ModelChoiceField(
                label=_("居民区"), queryset=areas, empty_label=None if areas.count() == 1 else "---------"
            )
        if residents is not None:
            self.fields["reporter"] = ResidentChoiceField(
                label=_("反映人（选填）"), queryset=residents, required=False, empty_label=_("（不指定）")
            )
        if compounds is not None:
            self.fields["compound"] = CompoundChoiceField(
                label=_("小区（选填）"), queryset=compounds, required=False, empty_label=_("（不指定）")
            )
        if buildings is not None:
            self.fields["building"] = BuildingChoiceField(
                label=_("楼栋（选填）"), queryset=buildings, required=False, empty_label=_("（不指定）")
            )
            self.fields["room"] = forms.CharField(
                label=_("室号（选填，需先选楼栋）"), required=False, max_length=20
            )
        if user is not None:
            scoping.scope_form_fields(self, user, "area", "compound", "building", "reporter")
        self.order_fields(
            [
                "kind",
                "text",
                "area",
                "compound",
                "building",
                "room",
                "address",
                "reporter",
                "reporter_name",
                "reporter_phone",
                "source",
                "category",
                "photos",
            ]
        )

    def clean_reporter_phone(self) -> str:
        raw: str = self.cleaned_data.get("reporter_phone", "").strip()
        return validate_phone(raw) if raw else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        compound, building = data.get("compound"), data.get("building")
        if building is not None and compound is not None and building.compound_id != compound.pk:
            self.add_error("building", _("所选楼栋不在所选小区内。"))
        if data.get("room") and building is None and "building" not in self.errors:
            self.add_error("room", _("填写室号前请先选择楼栋。"))
        return data

    def clean_category(self) -> Category | None:
        value = self.cleaned_data.get("category") or ""
        return self.categories.get(value)


# The longest custom statistics period: figures over more than a few years say little, and the queries grow with it.
MAX_PERIOD_DAYS = 5 * 366
# Typing a date means a custom period: the select follows, so the dates are not ignored for the named period.
# (ningju/static/ningju/ningju.js does it for data-set-on-change: no inline handler under the CSP.)
PICK_CUSTOM = "period=custom"


class StatsPeriodForm(forms.Form):
    """A statistics period: a named one (this month … last year) or a custom start and end, every field optional.

    The rates page, the dashboards and the scorecards add their own fields (a grouping, a drill-down) on top."""

    period = forms.ChoiceField(
        label=_("统计期间"),
        required=False,
        choices=list(rates.PERIODS.items()),
        error_messages={"invalid_choice": _("请选择有效的统计期间。")},
    )
    start = forms.DateField(
        label=_("开始日期"),
        required=False,
        widget=forms.DateInput({"type": "date", "data-set-on-change": PICK_CUSTOM}, format="%Y-%m-%d"),
        error_messages={"invalid": _("请输入有效的日期，格式为 YYYY-MM-DD。")},
        validators=[validate_date_in_range],
    )
    end = forms.DateField(
        label=_("结束日期"),
        required=False,
        widget=forms.DateInput({"type": "date", "data-set-on-change": PICK_CUSTOM}, format="%Y-%m-%d"),
        error_messages={"invalid": _("请输入有效的日期，格式为 YYYY-MM-DD。")},
        validators=[validate_date_in_range],
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        # Dates typed without choosing "自定义" mean a custom period all the same.
        period = data.get("period") or (rates.CUSTOM if start or end else rates.THIS_MONTH)
        if period == rates.CUSTOM:
            if start is None and "start" not in self.errors:
                self.add_error("start", _("自定义期间须填写开始日期。"))
            if end is None and "end" not in self.errors:
                self.add_error("end", _("自定义期间须填写结束日期。"))
            if start and end:
                if start > end:
                    self.add_error("start", _("开始日期不能晚于结束日期。"))
                elif (end - start).days > MAX_PERIOD_DAYS:
                    self.add_error("start", _("统计期间最长五年。"))
        else:
            start, end = rates.period_dates(period, self.today)
        data["period"], data["start"], data["end"] = period, start, end
        return data

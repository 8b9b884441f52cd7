"""Forms of the pairing, visit-rule and working-day calendar pages."""

import json
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ningju.core.models import User
from ningju.registry.models import PatrolSiteType, Street, Tag
from ningju.visits.models import Interval, VisitRule, VisitSettings
from ningju.visits.pairing import BUILDING, SITE, ItemKey, PairingRow
from ningju.visits.rule_services import RuleChange


class CadreChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return _("%(name)s（%(username)s）") % {"name": obj.display_name, "username": obj.username}


def _item_key(value: str) -> ItemKey | None:
    """ "b-12" → ("b", 12); anything else → None."""
    kind, _sep, pk = value.partition("-")
    if kind in (BUILDING, SITE) and pk.isdigit():
        return (kind, int(pk))
    return None


class PairingTableForm(forms.Form):
    """The pairing table: a cadre select per building/site ("b-12", "s-3"), and a bulk reassignment of the ticked
    rows (`pick`) to one cadre (`to`)."""

    action = forms.ChoiceField(choices=[("save", "save"), ("bulk", "bulk")])

    def __init__(self, *args: Any, rows: Sequence[PairingRow], cadres: Sequence[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        cadre_choices = [("", "—"), *((str(c.pk), c.display_name) for c in cadres)]
        for row in rows:
            self.fields[row.field_name] = forms.ChoiceField(choices=cadre_choices, required=False)
        self.fields["pick"] = forms.MultipleChoiceField(
            choices=[(row.field_name, row.label) for row in rows], required=False
        )
        self.fields["to"] = forms.ChoiceField(label=_("改派给"), choices=cadre_choices, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "bulk":
            if not data.get("pick"):
                raise forms.ValidationError(_("请先勾选要改派的楼栋或巡查点。"))
            if not data.get("to"):
                raise forms.ValidationError(_("请选择接手的干部。"))
        return data

    def assignment(self) -> dict[ItemKey, int]:
        """What to change: for "bulk", every ticked row to `to`; for "save", every row whose select differs from
        its current cadre (an emptied select leaves the row as it is: a place always has someone)."""
        data = self.cleaned_data
        if data["action"] == "bulk":
            cadre = int(data["to"])
            return {key: cadre for value in data["pick"] if (key := _item_key(value)) is not None}
        result = {}
        for row in self.rows:
            chosen = data.get(row.field_name)
            if chosen and int(chosen) != row.cadre_id:
                result[(row.kind, row.pk)] = int(chosen)
        return result


class ProposalAcceptForm(forms.Form):
    """Accepting the previewed proposal: the preview's assignment travels in the form, so what is saved is what
    the area head saw, even if the numbers move in between."""

    plan = forms.CharField(widget=forms.HiddenInput)

    def clean_plan(self) -> dict[ItemKey, int]:
        try:
            raw = json.loads(self.cleaned_data["plan"])
            result = {}
            for value, cadre in raw.items():
                key = _item_key(value)
                if key is None or not isinstance(cadre, int):
                    raise ValueError(value)
                result[key] = cadre
        except (ValueError, AttributeError, TypeError) as error:
            raise forms.ValidationError(_("方案数据无效，请重新生成方案。")) from error
        if not result:
            raise forms.ValidationError(_("方案为空，请重新生成方案。"))
        return result

    @staticmethod
    def encode(assignment: dict[ItemKey, int]) -> str:
        return json.dumps({f"{kind}-{pk}": cadre for (kind, pk), cadre in sorted(assignment.items())})


class HandOverForm(forms.Form):
    """干部离岗，移交包联: to one successor, or (no successor) a new proposal among the remaining cadres."""

    leaving = CadreChoiceField(label=_("离岗干部"), queryset=User.objects.none())
    successor = CadreChoiceField(
        label=_("接手干部"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("不指定：在其余干部中重新生成方案"),
    )

    def __init__(self, *args: Any, cadres: Sequence[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        queryset = User.objects.filter(pk__in=[c.pk for c in cadres]).order_by("username")
        self.fields["leaving"].queryset = queryset  # type: ignore[attr-defined]
        self.fields["successor"].queryset = queryset  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        leaving, successor = data.get("leaving"), data.get("successor")
        if leaving is not None and successor is not None and leaving.pk == successor.pk:
            raise forms.ValidationError(_("接手的干部不能是离岗干部本人。"))
        return data


class RulesForm(forms.Form):
    """Every rule of the street (interval and active per row) and the street's visit settings, saved together."""

    min_households_per_day = forms.IntegerField(label=_("每人每个工作日至少走访户数"), min_value=0, max_value=999)
    max_households_per_day = forms.IntegerField(label=_("每人每个工作日最多走访户数"), min_value=0, max_value=999)
    gps_flag_metres = forms.IntegerField(label=_("定位偏离提示距离（米）"), min_value=0, max_value=100_000)

    def __init__(self, *args: Any, rules: Sequence[VisitRule], settings: VisitSettings, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "min_households_per_day": settings.min_households_per_day,
                "max_households_per_day": settings.max_households_per_day,
                "gps_flag_metres": settings.gps_flag_metres,
                **{f"interval-{r.pk}": r.interval for r in rules},
                **{f"active-{r.pk}": r.active for r in rules},
            },
        )
        super().__init__(*args, **kwargs)
        self.rules = rules
        for rule in rules:
            self.fields[f"interval-{rule.pk}"] = forms.ChoiceField(
                label=_("频次"), choices=Interval.choices, required=True
            )
            self.fields[f"active-{rule.pk}"] = forms.BooleanField(label=_("启用"), required=False)

    def rows(self) -> list[tuple[VisitRule, forms.BoundField, forms.BoundField]]:
        return [(r, self[f"interval-{r.pk}"], self[f"active-{r.pk}"]) for r in self.rules]

    def changes(self) -> dict[int, RuleChange]:
        data = self.cleaned_data
        return {
            r.pk: RuleChange(interval=data[f"interval-{r.pk}"], active=bool(data[f"active-{r.pk}"]))
            for r in self.rules
        }


class RuleCreateForm(forms.Form):
    """A rule for a tag or patrol site type that has none yet ("t-5" or "p-2")."""

    subject = forms.ChoiceField(label=_("适用对象"))
    interval = forms.ChoiceField(label=_("频次"), choices=Interval.choices, initial=Interval.MONTH)

    def __init__(self, *args: Any, street: Street, rules: Sequence[VisitRule], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ruled_tags = {r.tag_id for r in rules if r.tag_id}
        ruled_types = {r.patrol_type_id for r in rules if r.patrol_type_id}
        # Only the street's own tags and types: another street's configuration is not offered, nor accepted.
        tags = Tag.objects.filter(street=street, active=True).exclude(pk__in=ruled_tags)
        self.tags = {t.pk: t for t in tags}
        self.types = {t.pk: t for t in PatrolSiteType.objects.filter(street=street).exclude(pk__in=ruled_types)}
        self.fields["subject"].choices = [  # type: ignore[attr-defined]
            (_("标签"), [(f"t-{pk}", t.name) for pk, t in self.tags.items()]),
            (_("巡查点类型"), [(f"p-{pk}", t.name) for pk, t in self.types.items()]),
        ]

    @property
    def has_choices(self) -> bool:
        return bool(self.tags or self.types)

    def chosen(self) -> tuple[Tag | None, PatrolSiteType | None]:
        kind, _sep, pk = self.cleaned_data["subject"].partition("-")
        if kind == "t":
            return self.tags[int(pk)], None
        return None, self.types[int(pk)]


class CalendarYearForm(forms.Form):
    year = forms.IntegerField(label=_("年份"), min_value=2000, max_value=2100)
    holidays = forms.CharField(
        label=_("节假日（每行：开始日期 结束日期 名称；单日可只写一个日期）"),
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": _("2027-01-01 2027-01-03 元旦")}),
    )
    workdays = forms.CharField(
        label=_("调休上班日（每行：日期 名称）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": _("2027-02-07 春节调休")}),
    )
    notice = forms.CharField(
        label=_("通知文号或来源"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如：国务院办公厅关于2027年部分节假日安排的通知")}),
    )

"""Forms for the registry pages: household and resident corrections, reveal reasons, tags."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ningju.core import scoping
from ningju.core.identifiers import validate_id_number, validate_phone
from ningju.registry.models import Gender, Household, Relation, Tag, TagCategory, Tenure


class TagChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Tag) -> str:
        return obj.name


def active_tags(user: Any) -> forms.ModelMultipleChoiceField:
    """The active tags of the user's street (each street has its own)."""
    return TagChoiceField(
        queryset=scoping.visible(user, Tag.objects.filter(active=True)),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("标签"),
    )


class HouseholdForm(forms.Form):
    room = forms.CharField(label=_("室号"), max_length=20)
    tenure = forms.ChoiceField(label=_("居住类型"), choices=Tenure.choices)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    change_reason = forms.CharField(label=_("修改原因"), max_length=100, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tags"] = active_tags(user)

    @classmethod
    def for_household(cls, household: Household, *, user: Any) -> "HouseholdForm":
        return cls(
            user=user,
            initial={
                "room": household.room,
                "tenure": household.tenure,
                "notes": household.notes,
                "tags": list(household.tags.all()),
            },
        )


class ResidentForm(forms.Form):
    """Correcting a resident. Leave ID or phone empty to keep the stored (encrypted) number unchanged."""

    name = forms.CharField(label=_("姓名"), max_length=50)
    gender = forms.ChoiceField(label=_("性别"), choices=Gender.choices)
    birth_date = forms.DateField(
        label=_("出生日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices)
    id_number = forms.CharField(
        label=_("身份证号（留空表示不修改）"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("手机号（留空表示不修改）"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    active = forms.BooleanField(label=_("在住"), required=False)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    change_reason = forms.CharField(label=_("修改原因"), max_length=100, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tags"] = active_tags(user)

    def clean_id_number(self) -> str:
        value = self.cleaned_data["id_number"]
        return validate_id_number(value) if value else ""

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"]
        return validate_phone(value) if value else ""


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=[("id_number", _("身份证号")), ("phone", _("手机号"))])
    reason = forms.CharField(label=_("查看事由"), min_length=2, max_length=200)


class ContactRevealForm(forms.Form):
    field = forms.ChoiceField(
        choices=[("owners_committee_contact", _("业委会联系人")), ("property_contact", _("物业联系人"))]
    )
    reason = forms.CharField(label=_("查看事由"), min_length=2, max_length=200)


class TagForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=30)
    category = forms.ChoiceField(label=_("类别"), choices=TagCategory.choices)
    high_risk = forms.BooleanField(label=_("高风险（每周走访）"), required=False)
    description = forms.CharField(label=_("说明"), max_length=200, required=False)
    sort_order = forms.IntegerField(label=_("排序"), min_value=0, max_value=1000, initial=100)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

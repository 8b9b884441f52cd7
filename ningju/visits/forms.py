"""The visit form of the phone page: one screen, sensible defaults (入户面对面, now), household corrections folded away."""

import uuid
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ningju.registry.forms import TagChoiceField
from ningju.registry.models import Household, Tag, Tenure
from ningju.visits.models import Mood, VisitMode
from ningju.visits.services import Corrections

# Ways of visiting that 江宁路 cadres use; the field stays free text, these are one-tap suggestions.
WAY_SUGGESTIONS = (
    _("跟着宠物访"),
    _("盯着垃圾桶访"),
    _("晒着太阳访"),
    _("围着儿童乐园访"),
    _("哪里人多就去哪里访"),
)

HOUSEHOLD_MODES = [(value, label) for value, label in VisitMode.choices if value != VisitMode.PATROL]
PATROL_MODES = [(VisitMode.PATROL.value, VisitMode.PATROL.label)]
MAX_FINDINGS = 20


def finding_lines(text: str) -> list[str]:
    """One finding per non-empty line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class VisitForm(forms.Form):
    """Validates the page's form when it is posted without JavaScript; with JavaScript the same fields travel as
    JSON through the offline outbox to the API. `patrol` forms offer only 巡查 and no household corrections."""

    id = forms.UUIDField(widget=forms.HiddenInput)
    visited_at = forms.DateTimeField(
        label=_("走访时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    mode = forms.ChoiceField(label=_("方式"), widget=forms.RadioSelect)
    way = forms.CharField(
        label=_("走访形式"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"list": "way-suggestions", "autocomplete": "off"}),
    )
    met = forms.CharField(label=_("见到的人"), max_length=100, required=False)
    mood = forms.ChoiceField(
        label=_("居民情绪"), choices=[("", _("未记录")), *Mood.choices], required=False, widget=forms.RadioSelect
    )
    notes = forms.CharField(label=_("情况记录"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    needs = forms.CharField(label=_("需求"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    findings = forms.CharField(
        label=_("发现问题 → 转为诉求（一行一条）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("保存走访时，每行登记为一条诉求（问题，来源“走访”），您是首问负责人；空行不登记。"),
    )
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)

    def __init__(self, *args: Any, household: Household | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.household = household
        self.fields["mode"].choices = HOUSEHOLD_MODES if household is not None else PATROL_MODES  # type: ignore[attr-defined]
        if household is None:
            self.fields["findings"].help_text = _(
                "保存巡查时，每行登记为一条诉求（问题，来源“巡查”），您是首问负责人；空行不登记。"
            )
        if household is not None:
            self.fields["tenure"] = forms.ChoiceField(label=_("居住类型"), choices=Tenure.choices)
            self.fields["household_notes"] = forms.CharField(
                label=_("户备注"), required=False, widget=forms.Textarea(attrs={"rows": 2})
            )
            self.fields["tags"] = TagChoiceField(  # the tags of the household's own street
                queryset=Tag.objects.filter(active=True, street=household.building.compound.area.street_id),
                required=False,
                widget=forms.CheckboxSelectMultiple,
                label=_("标签"),
            )

    @classmethod
    def blank(cls, household: Household | None) -> "VisitForm":
        """A new visit: a fresh id, now, face to face (or patrol), and the household's data as it is."""
        initial: dict[str, Any] = {
            "id": uuid.uuid4(),
            "visited_at": timezone.localtime().replace(second=0, microsecond=0),
            "mode": VisitMode.FACE_TO_FACE if household is not None else VisitMode.PATROL,
            "mood": "",
        }
        if household is not None:
            initial |= {
                "tenure": household.tenure,
                "household_notes": household.notes,
                "tags": list(household.tags.all()),
            }
        return cls(initial=initial, household=household)

    def clean_findings(self) -> list[str]:
        lines = finding_lines(self.cleaned_data["findings"])
        if len(lines) > MAX_FINDINGS:
            raise forms.ValidationError(_("一次最多记录%(n)d条发现。") % {"n": MAX_FINDINGS})
        return lines

    def corrections(self) -> Corrections | None:
        """The household fields as submitted; the service writes only those that differ from the registry."""
        if self.household is None:
            return None
        return Corrections(
            tenure=self.cleaned_data["tenure"],
            notes=self.cleaned_data["household_notes"],
            tags=list(self.cleaned_data["tags"]),
        )

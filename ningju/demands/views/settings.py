"""The street administrator's demand settings: working-day limits per stage and the category taxonomy."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.demands import street_settings
from ningju.demands.models import Category
from ningju.demands.services import stage_limits
from ningju.demands.workflow import DEFAULT_DEADLINES, DeadlineStage
from ningju.registry.models import Department

_LIMIT_MESSAGE = gettext_lazy("请填写1至60之间的整数（工作日）。")


class DeadlinesForm(forms.Form):
    """One whole number of working days per stage, named by the stage."""

    def __init__(self, *args: Any, limits: dict[DeadlineStage, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for stage in DeadlineStage:
            self.fields[stage.value] = forms.IntegerField(
                label=stage.label,
                initial=limits[stage],
                min_value=street_settings.MIN_WORKDAYS,
                max_value=street_settings.MAX_WORKDAYS,
                error_messages={
                    "required": _LIMIT_MESSAGE,
                    "invalid": _LIMIT_MESSAGE,
                    "min_value": _LIMIT_MESSAGE,
                    "max_value": _LIMIT_MESSAGE,
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "style": "max-width:7rem"}),
            )

    def rows(self) -> list[tuple[forms.BoundField, int]]:
        """(field, the DOMAIN.md default) for each stage, in the workflow's order."""
        return [(self[stage.value], DEFAULT_DEADLINES[stage]) for stage in DeadlineStage]


@login_required
def demand_deadlines(request: AuthedRequest) -> HttpResponse:
    scoping.require_street_admin(request.user)
    assert request.user.street_id is not None
    form = DeadlinesForm(request.POST or None, limits=stage_limits(request.user.street_id))
    if request.method == "POST" and form.is_valid():
        try:
            changed = street_settings.deadline_limits_update(user=request.user, limits=form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("办理时限已保存（%(n)d项有变动），新开始计时的环节按新时限计算。") % {"n": changed}
            )
            return redirect("demand_deadlines")
    return render(request, "demands/settings_deadlines.html", {"form": form, "street": request.user.street})


class CategoryForm(forms.Form):
    """Name and usual department. The departments are read once per page and handed to every row's form."""

    name = forms.CharField(label=gettext_lazy("名称"), max_length=50)
    default_department = forms.TypedChoiceField(label=gettext_lazy("默认派单部门"), required=False, coerce=int)

    def __init__(self, *args: Any, departments: list[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.departments = {department.pk: department for department in departments}
        field = self.fields["default_department"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("（不指定）")), *((d.pk, d.name) for d in departments)]

    def clean_default_department(self) -> Department | None:
        value = self.cleaned_data["default_department"]
        return self.departments.get(value) if value not in ("", None) else None


class CategoryCreateForm(CategoryForm):
    parent = forms.ModelChoiceField(
        label=gettext_lazy("上级分类"),
        queryset=Category.objects.filter(parent__isnull=True),
        required=False,
        empty_label=gettext_lazy("（无，作为一级分类）"),
    )

    field_order = ["parent", "name", "default_department"]

    def __init__(self, *args: Any, departments: list[Department], street_id: int, **kwargs: Any) -> None:
        super().__init__(*args, departments=departments, **kwargs)
        parent = self.fields["parent"]
        assert isinstance(parent, forms.ModelChoiceField)
        parent.queryset = Category.objects.filter(street=street_id, parent__isnull=True)  # the street's own


class CategoryEditForm(CategoryForm):
    active = forms.BooleanField(label=gettext_lazy("启用"), required=False)


def _street_departments(request: AuthedRequest) -> list[Department]:
    """The administrator's street's active departments (refusing anyone else)."""
    scoping.require_street_admin(request.user)
    return list(Department.objects.filter(street=request.user.street_id, active=True))


@login_required
def demand_categories(request: AuthedRequest) -> HttpResponse:
    """The taxonomy, parents with their children, each editable in place; a form to add one."""
    departments = _street_departments(request)
    assert request.user.street_id is not None  # a street administrator (checked above) has a street
    create_form = CategoryCreateForm(
        request.POST or None, departments=departments, street_id=request.user.street_id
    )
    if request.method == "POST" and create_form.is_valid():
        data = create_form.cleaned_data
        try:
            category = street_settings.category_create(
                user=request.user,
                name=data["name"],
                parent=data["parent"],
                default_department=data["default_department"],
            )
        except ApplicationError as error:
            create_form.add_error("name", error.message)
        else:
            messages.success(request, _("已添加分类“%(name)s”。") % {"name": category})
            return redirect("demand_categories")
    return _render_categories(request, departments, create_form=create_form)


@login_required
@require_POST
def demand_category_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    departments = _street_departments(request)
    # Another street's category is refused like any record out of scope.
    category = scoping.get_for_user(request.user, Category.objects.select_related("parent"), pk=pk)
    form = CategoryEditForm(request.POST, departments=departments, prefix=f"c{pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            street_settings.category_update(
                user=request.user,
                category=category,
                name=data["name"],
                default_department=data["default_department"],
                active=data["active"],
            )
        except ApplicationError as error:
            form.add_error("name", error.message)
        else:
            messages.success(request, _("分类“%(name)s”已保存。") % {"name": category})
            return redirect("demand_categories")
    return _render_categories(request, departments, edited=(pk, form))


def _render_categories(
    request: AuthedRequest,
    departments: list[Department],
    *,
    create_form: CategoryCreateForm | None = None,
    edited: tuple[int, CategoryEditForm] | None = None,
) -> HttpResponse:
    street_id = request.user.street_id
    assert street_id is not None  # only street administrators get here (`_street_departments`)
    children = Prefetch("children", queryset=Category.objects.select_related("default_department"))
    parents = list(
        Category.objects.filter(street=street_id, parent__isnull=True)
        .select_related("default_department")
        .prefetch_related(children)
    )

    def edit_form(category: Category) -> CategoryEditForm:
        if edited is not None and edited[0] == category.pk:
            return edited[1]
        initial = {
            "name": category.name,
            "default_department": category.default_department_id,
            "active": category.active,
        }
        return CategoryEditForm(initial=initial, departments=departments, prefix=f"c{category.pk}")

    tree = [
        (parent, edit_form(parent), [(child, edit_form(child)) for child in parent.children.all()])
        for parent in parents
    ]
    return render(
        request,
        "demands/settings_categories.html",
        {
            "tree": tree,
            "create_form": create_form or CategoryCreateForm(departments=departments, street_id=street_id),
            "edited_pk": edited[0] if edited else None,
        },
    )


urlpatterns = [
    path("deadlines/", demand_deadlines, name="demand_deadlines"),
    path("categories/", demand_categories, name="demand_categories"),
    path("categories/<int:pk>/", demand_category_edit, name="demand_category_edit"),
]

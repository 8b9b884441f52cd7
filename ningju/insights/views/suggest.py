"""The intake desk's live suggestion panel (category and similar open demands) and the street's classifier page."""

import os

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ningju.core import scoping
from ningju.core.http import AuthedRequest
from ningju.core.jobs import job_start
from ningju.core.models import Job, JobKind, User
from ningju.demands import permissions as demand_permissions
from ningju.demands.forms import MAX_TEXT
from ningju.insights import engine, training
from ningju.insights.models import TextModel

# Fewer characters say too little to suggest anything from; the panel stays empty while the person starts typing.
MIN_TEXT = 6
ALLOWED_EXTENSIONS = (".xlsx", ".csv")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
RECENT_JOBS = 5


def _require_intake_role(user: User) -> None:
    if not demand_permissions.is_area_or_street_staff(user):
        raise PermissionDenied(_("只有街道和居民区的工作人员可以查看分类建议。"))


def _area_id(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None


@login_required
@require_GET
def insights_suggest(request: AuthedRequest) -> HttpResponse:
    """The htmx partial under the intake text: a suggested category with its reasons and up to three similar open
    demands of the street. Only a suggestion: the person decides, by a click, whether to take the category."""
    user = request.user
    _require_intake_role(user)
    text = request.GET.get("text", "").strip()[:MAX_TEXT]
    street_id = scoping.user_street_id(user)
    suggestion = None
    similar: list[engine.SimilarDemand] = []
    if len(text) >= MIN_TEXT and street_id is not None:
        suggestion = engine.suggest_category(street_id, text)
        similar = engine.similar_for_panel(user, text, k=3)
    return render(
        request,
        "insights/_suggest.html",
        {"suggestion": suggestion, "similar": similar, "area_id": _area_id(request.GET.get("area", ""))},
    )


class BootstrapForm(forms.Form):
    """A labelled file to start the classifier from: which columns hold the text and which the category name."""

    file = forms.FileField(
        label=gettext_lazy("已分类的诉求表（.xlsx 或 .csv）"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ALLOWED_EXTENSIONS)}),
    )
    text_cols = forms.CharField(
        label=gettext_lazy("内容所在列（多列用逗号分隔，主题在前）"), max_length=200, initial="诉求内容"
    )
    label_col = forms.CharField(label=gettext_lazy("分类所在列"), max_length=50, initial="分类")

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(ALLOWED_EXTENSIONS):
            raise forms.ValidationError(_("不支持的文件类型：请上传 .xlsx 或 .csv 文件。"))
        if not upload.size:
            raise forms.ValidationError(_("文件是空的。"))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件超过20MB：请分成几个文件导入。"))
        return upload

    def clean_text_cols(self) -> list[str]:
        raw = self.cleaned_data["text_cols"].replace("，", ",").replace("、", ",")
        columns = [column.strip() for column in raw.split(",") if column.strip()]
        if not columns:
            raise forms.ValidationError(_("请填写内容所在的列名。"))
        return columns

    def clean_label_col(self) -> str:
        column: str = self.cleaned_data["label_col"].strip()
        if not column:
            raise forms.ValidationError(_("请填写分类所在的列名。"))
        return column


@login_required
def insights_model(request: AuthedRequest) -> HttpResponse:
    """The street's classifier: the active model and how it was trained, corrections since, and two buttons that
    start a training job (retrain from the street's demands, or bootstrap from a labelled file)."""
    user = request.user
    scoping.require_street_admin(user)
    street = user.street
    if street is None:
        raise PermissionDenied(_("您的账号没有所属街道。"))
    form = BootstrapForm()
    if request.method == "POST":
        if request.POST.get("action") == "bootstrap":
            form = BootstrapForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                name = os.path.basename(upload.name or "upload")
                job = job_start(
                    kind=JobKind.TEXT_TRAIN,
                    handler=training.text_train_handler,
                    user=user,
                    params={
                        "street": street.pk,
                        "mode": "bootstrap",
                        "filename": name,
                        "text_cols": form.cleaned_data["text_cols"],
                        "label_col": form.cleaned_data["label_col"],
                    },
                    input_file=upload,
                    input_name=name,
                )
                return redirect("job_detail", job_id=job.pk)
        else:
            job = job_start(
                kind=JobKind.TEXT_TRAIN,
                handler=training.text_train_handler,
                user=user,
                params={"street": street.pk, "mode": "train"},
            )
            return redirect("job_detail", job_id=job.pk)
    active = training.active_model(street)
    models = list(TextModel.objects.filter(street=street).order_by("-trained_at", "-id")[: training.KEEP_MODELS])
    return render(
        request,
        "insights/_suggest_model.html",
        {
            "active": active,
            "models": models,
            "corrections": training.corrections(street, active.trained_at if active else None).count(),
            "categorised": training.categorised_demands(street).count(),
            "retrain_after": training.RETRAIN_AFTER_CORRECTIONS,
            "first_train_from": training.FIRST_TRAIN_FROM,
            "form": form,
            "jobs": list(
                Job.objects.filter(created_by=user, kind=JobKind.TEXT_TRAIN).order_by("-created_at")[:RECENT_JOBS]
            ),
        },
        status=400 if form.errors else 200,
    )


urlpatterns: list[URLPattern] = [
    path("suggest/", insights_suggest, name="insights_suggest"),
    path("model/", insights_model, name="insights_model"),
]

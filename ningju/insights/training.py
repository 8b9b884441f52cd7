"""Training a street's category classifier, the background retraining that corrections trigger, and the record of
what was suggested at intake.

A model learns from the street's own categorised demands (label: the category's id, leaf categories only: a parent
would compete with its own children) plus, when the administrator imported one, a labelled file (`bootstrap`):
a new platform has no categorised demands yet, and the file's rows keep counting after later retrains. The newest
model is the active one; the files of all but the last `KEEP_MODELS` are deleted.
"""

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from sklearn.metrics import f1_score

from ningju.core.errors import ApplicationError
from ningju.core.models import Job, User
from ningju.demands.hotline import Categories
from ningju.demands.models import Category, Demand
from ningju.demands.workflow import State
from ningju.insights import engine
from ningju.insights.models import Suggestion, TextModel
from ningju.insights.text import classifier as text_classifier
from ningju.insights.text.io import read_demands
from ningju.registry.models import Street

log = logging.getLogger("ningju.insights")

MIN_SAMPLES_PER_LABEL = 3
# With fewer of the street's own demands a held-out fifth says more about chance than about the model.
HOLDOUT_FROM = 200
HOLDOUT_SHARE = 0.2
KEEP_MODELS = 3
RETRAIN_AFTER_CORRECTIONS = 20
FIRST_TRAIN_FROM = 50
MAX_LISTED_LABELS = 20

ProgressFn = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, message: str = "") -> None:
    return None


def models_dir() -> Path:
    return Path(settings.VAR_DIR) / "models"


def leaf_categories(street: Street | int | None = None) -> "QuerySet[Category]":
    """Active categories without active children: the labels a classifier learns (of one street, where given:
    each street has its own taxonomy)."""
    leaves = Category.objects.filter(active=True).exclude(
        Exists(Category.objects.filter(parent=OuterRef("pk"), active=True))
    )
    return leaves if street is None else leaves.filter(street=street)


def categorised_demands(street: Street | int) -> "QuerySet[Demand]":
    # Merged demands repeat the demand they were merged into: counting them twice would skew the labels.
    return Demand.objects.filter(area__street=street, category__in=leaf_categories(street)).exclude(
        state=State.MERGED
    )


def bootstrap_path(street: Street) -> Path:
    return models_dir() / f"bootstrap-{street.code}.json"


def _bootstrap_rows(street: Street) -> list[tuple[str, str]]:
    """The imported labelled rows, without those whose category is no longer a leaf to learn."""
    path = bootstrap_path(street)
    if not path.exists():
        return []
    rows = [(str(text), str(label)) for text, label in json.loads(path.read_text(encoding="utf-8"))]
    leaves = {str(pk) for pk in leaf_categories(street).values_list("pk", flat=True)}
    return [(text, label) for text, label in rows if label in leaves]


def _holdout(labels: list[str]) -> tuple[list[int], list[int]]:
    """Indices (train, test): a fifth of each label's rows held out, none of a label too rare to spare one."""
    rng = np.random.default_rng(0)
    by_label: dict[str, list[int]] = {}
    for position, label in enumerate(labels):
        by_label.setdefault(label, []).append(position)
    train: list[int] = []
    test: list[int] = []
    for positions in by_label.values():
        shuffled = [positions[i] for i in rng.permutation(len(positions))]
        spare = int(len(shuffled) * HOLDOUT_SHARE) if len(shuffled) - MIN_SAMPLES_PER_LABEL >= 1 else 0
        test.extend(shuffled[:spare])
        train.extend(shuffled[spare:])
    return sorted(train), sorted(test)


def _train(
    *, street: Street, extra: list[tuple[str, str]], progress: ProgressFn
) -> tuple[text_classifier.TextClassifier, int, int, float | None]:
    """Fit on the street's demands plus `extra` rows; (classifier, samples, labels, macro-F1 or None)."""
    progress(5, 100, _("读取已分类的诉求…"))
    own = [
        (text, str(category_id))
        for text, category_id in categorised_demands(street).order_by("pk").values_list("text", "category_id")
        if (text or "").strip()
    ]
    counts = Counter(label for _t, label in [*own, *extra])
    kept = {label for label, n in counts.items() if n >= MIN_SAMPLES_PER_LABEL}
    own = [(t, y) for t, y in own if y in kept]
    extra = [(t, y) for t, y in extra if y in kept]
    rows = [*own, *extra]
    if len(kept) < 2:
        raise ApplicationError(
            _("训练数据不足：至少需要2个分类、每个分类至少%(min)s条已分类的诉求（目前可用 %(samples)s 条）。")
            % {"min": MIN_SAMPLES_PER_LABEL, "samples": len(rows)}
        )
    macro_f1 = None
    if len(own) >= HOLDOUT_FROM:
        progress(15, 100, _("留出部分诉求评估准确率…"))
        train_at, test_at = _holdout([y for _t, y in own])
        if test_at:
            trial = text_classifier.train(
                [own[i][0] for i in train_at] + [t for t, _y in extra],
                [own[i][1] for i in train_at] + [y for _t, y in extra],
            )
            truth = [own[i][1] for i in test_at]
            predicted = [label for label, _score in trial.predict([own[i][0] for i in test_at])]
            macro_f1 = float(
                f1_score(truth, predicted, labels=sorted(set(truth)), average="macro", zero_division=0)
            )
    progress(55, 100, _("用全部 %(samples)s 条样本训练…") % {"samples": len(rows)})
    model = text_classifier.train([t for t, _y in rows], [y for _t, y in rows])
    return model, len(rows), len(kept), macro_f1


def _save(
    *, street: Street, model: text_classifier.TextClassifier, samples: int, labels: int, macro_f1: float | None
) -> TextModel:
    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    name = f"classifier-{street.code}-{timezone.localtime(now):%Y%m%d-%H%M%S-%f}.pkl"
    model.save(folder / name)
    try:
        with transaction.atomic():
            TextModel.objects.filter(street=street, active=True).update(active=False)
            text_model = TextModel.objects.create(
                street=street,
                file=str(Path("models") / name),
                trained_at=now,
                samples=samples,
                labels=labels,
                macro_f1=macro_f1,
                corrections_seen=corrections(street).count(),
                active=True,
            )
    except Exception:
        (folder / name).unlink(missing_ok=True)
        raise
    _purge(street)
    engine.forget(street.pk)
    return text_model


def _purge(street: Street) -> None:
    """Models beyond the newest `KEEP_MODELS`: their files and rows go (suggestions keep their text, not the link)."""
    stale = list(TextModel.objects.filter(street=street).order_by("-trained_at", "-id")[KEEP_MODELS:])
    for text_model in stale:
        engine.model_path(text_model).unlink(missing_ok=True)
    TextModel.objects.filter(pk__in=[m.pk for m in stale]).delete()


def classifier_train(*, street: Street, user: User | None = None, progress: ProgressFn | None = None) -> TextModel:
    """Train the street's classifier on its categorised demands (and its imported labelled rows), make it active.

    Raises ApplicationError, saving nothing, when there are fewer than two labels with enough examples."""
    progress = progress or _no_progress
    model, samples, labels, macro_f1 = _train(street=street, extra=_bootstrap_rows(street), progress=progress)
    progress(90, 100, _("保存模型…"))
    text_model = _save(street=street, model=model, samples=samples, labels=labels, macro_f1=macro_f1)
    log.info("classifier %s trained for street %s by %s", text_model.pk, street.code, user or "task")
    return text_model


def classifier_bootstrap(
    *,
    street: Street,
    file: str | Path,
    text_cols: list[str],
    label_col: str,
    user: User | None = None,
    progress: ProgressFn | None = None,
) -> TextModel:
    """Train from an imported labelled file (labels are category names, e.g. 噪音扰民/施工噪音) plus the street's own
    categorised demands. Every label must name a leaf category: otherwise an ApplicationError lists the labels
    that do not and nothing is saved. The file's rows are kept for later retrains."""
    progress = progress or _no_progress
    progress(2, 100, _("读取文件…"))
    table = read_demands(file, text_cols=text_cols, label_col=label_col)
    categories = Categories(street.pk)  # labels name the street's own categories
    leaves = set(leaf_categories(street).values_list("pk", flat=True))
    rows: list[tuple[str, str]] = []
    unknown: dict[str, int] = {}
    not_leaf: dict[str, int] = {}
    for text, label, number in zip(table.texts, table.labels, table.row_numbers, strict=True):
        label = label.strip()
        if not label or not text.strip():
            continue
        found = categories.find(label)
        if found is None:
            unknown.setdefault(label, number)
        elif found.pk not in leaves:
            not_leaf.setdefault(label, number)
        else:
            rows.append((text, str(found.pk)))
    if unknown or not_leaf:
        errors = [
            {"row": number, "column": label_col, "message": _("系统中没有分类“%(label)s”。") % {"label": label}}
            for label, number in unknown.items()
        ] + [
            {
                "row": number,
                "column": label_col,
                "message": _("“%(label)s”下还有细分类，请写到最细一级（如“噪音扰民/施工噪音”）。")
                % {"label": label},
            }
            for label, number in not_leaf.items()
        ]
        names = [*unknown, *not_leaf]
        listed = "、".join(names[:MAX_LISTED_LABELS]) + ("…" if len(names) > MAX_LISTED_LABELS else "")
        raise ApplicationError(
            _("有 %(count)s 个分类无法对应到系统中的诉求分类，未保存任何数据：%(labels)s")
            % {"count": len(names), "labels": listed},
            extra={"errors": errors},
        )
    if not rows:
        raise ApplicationError(_("文件中没有同时填写了内容和分类的行。"))
    model, samples, labels, macro_f1 = _train(street=street, extra=rows, progress=progress)
    progress(90, 100, _("保存模型…"))
    text_model = _save(street=street, model=model, samples=samples, labels=labels, macro_f1=macro_f1)
    bootstrap_path(street).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    log.info("classifier %s bootstrapped for street %s by %s", text_model.pk, street.code, user or "task")
    return text_model


# --- corrections and background retraining --------------------------------------------------------------------


def corrections(street: Street | int, since: Any = None) -> "QuerySet[Suggestion]":
    """Suggestions the person overrode with another category (of the street, made after `since` if given)."""
    found = Suggestion.objects.filter(
        demand__area__street=street, suggested__isnull=False, chosen__isnull=False
    ).exclude(chosen=F("suggested"))
    return found.filter(created_at__gt=since) if since is not None else found


def active_model(street: Street | int) -> TextModel | None:
    return TextModel.objects.filter(street=street, active=True).order_by("-trained_at", "-id").first()


def streets_due() -> list[Street]:
    """Streets whose classifier should be retrained now: `RETRAIN_AFTER_CORRECTIONS` corrections since their model
    was trained, or no model yet and at least `FIRST_TRAIN_FROM` categorised demands."""
    newest = TextModel.objects.filter(street=OuterRef("demand__area__street"), active=True).order_by("-trained_at")
    corrected = (
        Suggestion.objects.filter(suggested__isnull=False, chosen__isnull=False)
        .exclude(chosen=F("suggested"))
        .annotate(since=Subquery(newest.values("trained_at")[:1]))
        .filter(created_at__gt=F("since"))
        .values("demand__area__street")
        .annotate(n=Count("pk"))
    )
    due = {row["demand__area__street"] for row in corrected if row["n"] >= RETRAIN_AFTER_CORRECTIONS}
    modelled = TextModel.objects.filter(active=True).values("street")
    first = (
        Demand.objects.filter(category__in=leaf_categories())
        .exclude(state=State.MERGED)
        .exclude(area__street__in=modelled)
        .values("area__street")
        .annotate(n=Count("pk"))
    )
    due |= {row["area__street"] for row in first if row["n"] >= FIRST_TRAIN_FROM}
    return list(Street.objects.filter(pk__in=due).order_by("code"))


def classifiers_retrain_due() -> list[TextModel]:
    """Retrain every street that is due (the hourly task); a street that cannot be trained is logged and skipped."""
    trained = []
    for street in streets_due():
        try:
            trained.append(classifier_train(street=street))
        except ApplicationError as error:
            log.warning("classifier of street %s not retrained: %s", street.code, error.message)
    return trained


def suggestion_record(*, demand: Demand) -> Suggestion | None:
    """Record, for a demand just created, what the classifier suggests for its final text and what was chosen.

    Never stops an intake: without a usable model nothing is recorded (there is nothing to correct)."""
    try:
        suggestion = engine.suggest_category(demand.area.street_id, demand.text)
    except Exception:  # a damaged model file must not lose a resident's demand
        log.exception("suggestion for demand %s failed", demand.pk)
        return None
    if suggestion is None:
        return None
    record, _created = Suggestion.objects.get_or_create(
        demand=demand,
        defaults={
            "suggested": suggestion.category,
            "suggested_department": suggestion.department,
            "score": suggestion.score,
            "chosen": demand.category,
            "model": suggestion.model,
        },
    )
    return record


# --- the training job -----------------------------------------------------------------------------------------


def text_train_handler(job: Job, progress: ProgressFn) -> dict[str, Any]:
    """The job behind the model page's buttons: retrain, or bootstrap from the uploaded labelled file."""
    params = job.params
    street = Street.objects.get(pk=params["street"])
    user = job.created_by
    started = time.monotonic()
    if params.get("mode") == "bootstrap":
        try:
            text_model = classifier_bootstrap(
                street=street,
                file=job.input_file.path,
                text_cols=list(params.get("text_cols") or []),
                label_col=str(params.get("label_col") or ""),
                user=user,
                progress=progress,
            )
        finally:
            # the rows that count are kept in the bootstrap file; the upload itself is not kept
            job.input_file.delete(save=False)
            job.save(update_fields=["input_file"])
    else:
        text_model = classifier_train(street=street, user=user, progress=progress)
    summary = [
        _("样本 %(samples)s 条，分类 %(labels)s 个")
        % {"samples": text_model.samples, "labels": text_model.labels},
        _("宏平均F1：%(f1)s") % {"f1": f"{text_model.macro_f1:.3f}" if text_model.macro_f1 is not None else "—"},
        _("用时 %(seconds)s 秒") % {"seconds": f"{time.monotonic() - started:.1f}"},
    ]
    return {"message": _("分类模型已更新并启用。"), "summary": summary, "model": text_model.pk}

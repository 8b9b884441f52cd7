"""What the intake desk asks the text engine: a category suggestion and the street's similar open demands.

Both answer from per-process caches, because one keystroke must cost milliseconds, not a model load or an index
build. The classifier of a street is the newest active `TextModel`, loaded once and swapped when a newer one
appears (looked up at most every `MODEL_RECHECK_SECONDS`: a retrained model reaches every worker within that).
The similar-demand index holds the street's open demands; demands created since it was built are added to it on
the next lookup (a primary-key range query), and it is rebuilt when too many of the demands it holds were closed,
merged or deleted since (checked at most every `INDEX_RECHECK_SECONDS`).

Everything here is a suggestion: nothing is set, merged or sent without a person's click.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.models import User
from ningju.demands.hotline import mask_identifiers
from ningju.demands.models import Category, Demand
from ningju.demands.workflow import TERMINAL_STATES
from ningju.insights.models import TextModel
from ningju.insights.text.classifier import TextClassifier, word_tokens
from ningju.insights.text.similar import SimilarIndex
from ningju.registry.models import Department

log = logging.getLogger("ningju.insights")

MODEL_RECHECK_SECONDS = 30
INDEX_RECHECK_SECONDS = 60
# Rebuild the index once fewer than this share of the demands it holds are still open: a closed demand only
# costs a wasted candidate, but an index of mostly closed demands would find nothing open.
REBUILD_BELOW_OPEN_SHARE = 0.7
# Below this calibrated probability the classifier is guessing; a wrong suggestion costs the person a correction.
SUGGEST_MIN_SCORE = 0.2
# An alternative is offered as a one-click choice only when it is a real contender, not a 1 % also-ran.
ALTERNATIVE_MIN_SCORE = 0.1
# Cosine of the similarity vectors, chosen on the demo street: a re-worded report of the same matter at the same
# place scores 0.5–0.65, while a different matter at the same address or the same topic elsewhere stays under 0.35.
SIMILAR_MIN_SCORE = 0.4
EXCERPT_CHARS = 60
DRIVING_WORDS = 4


@dataclass
class CategorySuggestion:
    """The classifier's best category for a text, the department such demands usually go to, and why."""

    category: Category
    score: float
    department: Department | None
    words: list[str] = field(default_factory=list)
    alternatives: list[tuple[Category, float]] = field(default_factory=list)
    model: TextModel | None = None

    @property
    def percent(self) -> int:
        return round(self.score * 100)


@dataclass
class SimilarDemand:
    """One similar open demand as the intake panel shows it: in scope with a link, else only what the area's
    business is (area, category, date, state and a masked excerpt), never who reported it."""

    demand: Demand
    score: float
    in_scope: bool
    excerpt: str


# --- the street's classifier ----------------------------------------------------------------------------------


@dataclass
class _LoadedModel:
    model: TextModel | None
    classifier: TextClassifier | None
    checked_at: float


_lock = threading.Lock()
_models: dict[int, _LoadedModel] = {}


def model_path(text_model: TextModel) -> Path:
    """Model files are stored relative to VAR_DIR, so a copied var/ folder keeps working."""
    path = Path(text_model.file)
    return path if path.is_absolute() else Path(settings.VAR_DIR) / path


def forget(street_id: int | None = None) -> None:
    """Drop the cached classifier and index (of one street, or all): the next lookup reads them afresh."""
    with _lock:
        if street_id is None:
            _models.clear()
            _indexes.clear()
        else:
            _models.pop(street_id, None)
            _indexes.pop(street_id, None)


def current_classifier(street_id: int) -> tuple[TextModel | None, TextClassifier | None]:
    """The street's newest active model and its loaded classifier, or (None, None) without a usable one."""
    now = time.monotonic()
    loaded = _models.get(street_id)
    if loaded is not None and now - loaded.checked_at < MODEL_RECHECK_SECONDS:
        return loaded.model, loaded.classifier
    newest = TextModel.objects.filter(street=street_id, active=True).order_by("-trained_at", "-id").first()
    if (
        loaded is not None
        and newest is not None
        and loaded.model is not None
        and (loaded.model.pk, loaded.model.file) == (newest.pk, newest.file)
    ):
        loaded.checked_at = now
        return loaded.model, loaded.classifier
    classifier = None
    if newest is not None:
        try:
            classifier = TextClassifier.load(model_path(newest))
        except ApplicationError as error:
            # Intake must go on without suggestions; the model page shows the administrator what to retrain.
            log.warning("classifier %s of street %s unusable: %s", newest.pk, street_id, error.message)
    with _lock:
        _models[street_id] = _LoadedModel(newest, classifier, now)
    return newest, classifier


def warm_up() -> int:
    """Do now what a process's first suggestion would otherwise wait for (seconds: jieba's dictionary, each
    street's classifier, each street's similar-demand index). `ningju/wsgi.py` calls it in gunicorn's master
    before the workers fork, so every worker starts with them; it closes the database connections it opened, which
    a forked worker must not share. Returns how many streets were warmed; a failure only costs the first request
    its wait."""
    from django.db import connections

    from ningju.insights.text.segment import tokenizer

    warmed = 0
    try:
        tokenizer()
        streets = set(TextModel.objects.filter(active=True).values_list("street_id", flat=True))
        for street_id in sorted(streets):
            current_classifier(street_id)
            similar_index(street_id)
            warmed += 1
    except Exception:  # a database not migrated yet, a model file missing: serve anyway
        log.warning("text engine warm-up failed", exc_info=True)
    finally:
        connections.close_all()
    return warmed


def suggest_category(street: object, text: str) -> CategorySuggestion | None:
    """The best category for `text` by the street's classifier, or None without a model or a confident guess."""
    street_id = int(getattr(street, "pk", street))  # type: ignore[call-overload]
    text = (text or "").strip()
    if not text:
        return None
    text_model, classifier = current_classifier(street_id)
    if classifier is None:
        return None
    ranked = classifier.top_labels(text, k=3)
    ids = [int(label) for label, _score in ranked if label.isdigit()]
    categories = (
        Category.objects.filter(street=street_id)  # only the street's own taxonomy, whatever the model file says
        .select_related("default_department", "parent__default_department")
        .in_bulk(ids)
    )
    # A category deactivated or deleted since training is never suggested.
    usable = [(categories[int(label)], score) for label, score in ranked if int(label) in categories]
    usable = [(category, score) for category, score in usable if category.active]
    if not usable or usable[0][1] < SUGGEST_MIN_SCORE:
        return None
    best, score = usable[0]
    department = best.default_department or (best.parent.default_department if best.parent else None)
    if department is not None and department.street_id != street_id:
        department = None
    return CategorySuggestion(
        category=best,
        score=score,
        department=department,
        words=driving_words(classifier, text, str(best.pk)),
        alternatives=[(category, score) for category, score in usable[1:] if score >= ALTERNATIVE_MIN_SCORE],
        model=text_model,
    )


def driving_words(classifier: TextClassifier, text: str, label: str) -> list[str]:
    """The strongest reasons for the label that are words of the text (酒吧, 夜间): a character n-gram such as "里充"
    explains nothing to a person. Other n-grams only when no word made the list."""
    reasons = [name for name, _weight in classifier.explain(text, k=12, label=label)]
    segmented = set(word_tokens(text))
    words = [name for name in reasons if len(name) >= 2 and name in segmented]
    if not words:
        words = [name for name in reasons if len(name) >= 2 and all(ch.isalnum() for ch in name)]
    return words[:DRIVING_WORDS]


# --- the street's similar open demands ------------------------------------------------------------------------


@dataclass
class _StreetIndex:
    index: SimilarIndex | None
    max_id: int
    size: int
    checked_at: float


_indexes: dict[int, _StreetIndex] = {}


def open_demands(street_id: int) -> "QuerySet[Demand]":
    return Demand.objects.filter(area__street=street_id).exclude(state__in=TERMINAL_STATES)


def _build(street_id: int) -> _StreetIndex:
    rows = list(open_demands(street_id).order_by("pk").values_list("pk", "text"))
    index = SimilarIndex.build([pk for pk, _t in rows], [t for _p, t in rows]) if rows else None
    return _StreetIndex(index, rows[-1][0] if rows else 0, len(rows), time.monotonic())


def _worn(street_id: int, entry: _StreetIndex) -> bool:
    still_open = open_demands(street_id).filter(pk__lte=entry.max_id).count()
    return still_open < REBUILD_BELOW_OPEN_SHARE * entry.size


def similar_index(street_id: int) -> SimilarIndex | None:
    """The street's index of open demands, brought up to date (built on first use in this process)."""
    entry = _indexes.get(street_id)
    now = time.monotonic()
    if entry is not None and now - entry.checked_at >= INDEX_RECHECK_SECONDS:
        entry.checked_at = now
        if _worn(street_id, entry):
            entry = None
    if entry is None:
        entry = _build(street_id)
        with _lock:
            _indexes[street_id] = entry
        return entry.index
    new = list(open_demands(street_id).filter(pk__gt=entry.max_id).order_by("pk").values_list("pk", "text"))
    if new:
        with _lock:
            if entry.index is None:
                entry.index = SimilarIndex.build([pk for pk, _t in new], [t for _p, t in new])
            else:
                # several threads may race here: only demands beyond what another thread added go in
                new = [(pk, t) for pk, t in new if pk > entry.max_id]
                entry.index.add([pk for pk, _t in new], [t for _p, t in new])
            if new:
                entry.max_id, entry.size = new[-1][0], entry.size + len(new)
    return entry.index


def similar_open_demands(user: User, text: str, k: int = 3) -> list[tuple[Demand, float]]:
    """The k open demands of the user's street most similar to `text`, best first, above `SIMILAR_MIN_SCORE`.

    Street-wide on purpose: the same bar reported in two other areas is exactly what the desk should know. What the
    user may read of each is decided by `similar_for_panel`."""
    street_id = scoping.user_street_id(user)
    text = (text or "").strip()
    if street_id is None or not text:
        return []
    index = similar_index(street_id)
    if index is None:
        return []
    with _lock:
        found = [(pk, score) for pk, score in index.search(text, k=4 * k + 6) if score >= SIMILAR_MIN_SCORE]
    if not found:
        return []
    demands = (
        open_demands(street_id).select_related("area", "category__parent").in_bulk([pk for pk, _score in found])
    )
    return [(demands[pk], score) for pk, score in found if pk in demands][:k]


def excerpt(text: str, length: int = EXCERPT_CHARS) -> str:
    """The start of a demand's text with phone and ID numbers masked (a resident may have dictated one)."""
    flat = " ".join(mask_identifiers(text or "").split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def similar_for_panel(user: User, text: str, k: int = 3) -> list[SimilarDemand]:
    """`similar_open_demands` with what the user may see of each: a link only to demands in their scope."""
    pairs = similar_open_demands(user, text, k)
    if not pairs:
        return []
    visible = set(
        scoping.visible(user, Demand.objects.filter(pk__in=[d.pk for d, _s in pairs])).values_list("pk", flat=True)
    )
    return [
        SimilarDemand(demand=demand, score=score, in_scope=demand.pk in visible, excerpt=excerpt(demand.text))
        for demand, score in pairs
    ]

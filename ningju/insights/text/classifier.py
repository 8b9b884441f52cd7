"""The category classifier: jieba words and character n-grams, a linear model with calibrated scores.

`train(texts, labels)` is a pure function of its inputs (no globals, no database), so a background job can
retrain from the platform's own categorised demands and swap the saved file. A text is a string or a tuple of
fields, subject first ("留言主题", "留言详情"): the fields are read joined, and the subject once more on its own,
because a short subject names the matter while a long detail dilutes it with circumstance. Scores are calibrated
probabilities over the known labels (they sum to 1); `explain` lists the words and n-grams that pushed a text
towards its label (coefficient × tf-idf weight).
"""

import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from django.utils.translation import gettext as _
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from ningju.core.errors import ApplicationError
from ningju.insights.text.features import normalize
from ningju.insights.text.segment import words

# Bump when the saved layout or the features change: an older file must be retrained, not half-read.
FORMAT_VERSION = 2
FORMAT_NAME = "ningju-text-classifier"

# One text: a plain string, or its fields (subject first, then detail …).
Text = str | tuple[str, ...] | list[str]


def fields_of(text: Text) -> tuple[str, ...]:
    """The fields of a text as a tuple of strings (a plain string is one field)."""
    if isinstance(text, str) or text is None:
        return (text or "",)
    return tuple(str(f or "") for f in text)


def joined(text: Text) -> str:
    """All non-empty fields joined with "。", normalised: what the word and character views read."""
    return normalize("。".join(f for f in fields_of(text) if f.strip()))


def word_tokens(text: str) -> list[str]:
    """Segmented words without punctuation (module-level so that a saved model can be loaded again)."""
    return [w for w in words(normalize(text)) if any(c.isalnum() for c in w)]


def joined_words(text: Text) -> list[str]:
    return word_tokens(joined(text))


def subject_chars(text: Text) -> list[str]:
    """Character 1–3-grams of the first field alone (the subject)."""
    subject = normalize(fields_of(text)[0])
    return [subject[i : i + n] for n in (1, 2, 3) for i in range(len(subject) - n + 1)]


def _features(*, word_weight: float = 1.0, subject_weight: float = 0.0) -> FeatureUnion:
    views: list[tuple[str, Any]] = [
        ("w", TfidfVectorizer(analyzer=joined_words, sublinear_tf=True, min_df=1, dtype=np.float32)),
        (
            "c",
            TfidfVectorizer(
                analyzer="char",
                ngram_range=(1, 3),
                sublinear_tf=True,
                min_df=1,
                preprocessor=joined,
                dtype=np.float32,
            ),
        ),
    ]
    weights = {"w": word_weight, "c": 1.0}
    if subject_weight:
        views.append(("s", TfidfVectorizer(analyzer=subject_chars, sublinear_tf=True, min_df=1, dtype=np.float32)))
        weights["s"] = subject_weight
    return FeatureUnion(views, transformer_weights=weights)


class TextClassifier:
    """A trained classifier: `predict`, `top_labels`, `explain`, `save` / `load`."""

    def __init__(self, features: FeatureUnion, model: Any, coef: np.ndarray, classes: list[str]) -> None:
        self.features = features
        self.model = model
        # one row per class (for a two-label model the single decision row is mirrored), for `explain`
        self.coef = coef
        self.classes = classes
        self._names: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_names"] = None
        return state

    def probabilities(self, texts: Sequence[Text]) -> np.ndarray:
        if len(self.classes) == 1:
            return np.ones((len(texts), 1))
        return np.asarray(self.model.predict_proba(self.features.transform([fields_of(t) for t in texts])))

    def predict(self, texts: Sequence[Text]) -> list[tuple[str, float]]:
        """(label, score) for each text, score the calibrated probability of that label."""
        if not len(texts):
            return []
        probabilities = self.probabilities(texts)
        best = probabilities.argmax(axis=1)
        return [(self.classes[i], float(probabilities[row, i])) for row, i in enumerate(best)]

    def top_labels(self, text: Text, k: int = 3) -> list[tuple[str, float]]:
        probabilities = self.probabilities([text])[0]
        order = np.argsort(-probabilities)[:k]
        return [(self.classes[i], float(probabilities[i])) for i in order]

    def explain(self, text: Text, k: int = 8, label: str | None = None) -> list[tuple[str, float]]:
        """The words / n-grams that pushed the text towards `label` (default: the predicted one), strongest first."""
        if label is None:
            label = self.predict([text])[0][0]
        row = self.features.transform([fields_of(text)]).tocsr()
        contribution = row.data * self.coef[self.classes.index(label)][row.indices]
        if self._names is None:
            self._names = np.array([name.split("__", 1)[1] for name in self.features.get_feature_names_out()])
        merged: dict[str, float] = {}
        for name, value in zip(self._names[row.indices], contribution, strict=True):
            if value > 0 and name.strip():
                merged[name] = merged.get(name, 0.0) + float(value)
        # a word and the character n-gram spelling it are one reason, not two: keep the stronger spelling
        ranked = sorted(merged.items(), key=lambda item: -item[1])
        kept: list[tuple[str, float]] = []
        for name, value in ranked:
            if any(name in other or other in name for other, _v in kept):
                continue
            kept.append((str(name), round(value, 4)))
            if len(kept) == k:
                break
        return kept

    def save(self, path: str | Path) -> None:
        joblib.dump(
            {"format": FORMAT_NAME, "version": FORMAT_VERSION, "sklearn": sklearn.__version__, "model": self},
            path,
            compress=3,
        )

    @classmethod
    def load(cls, path: str | Path) -> "TextClassifier":
        try:
            data = joblib.load(path)
        except FileNotFoundError as error:
            raise ApplicationError(_("找不到模型文件：%(path)s") % {"path": path}) from error
        except Exception as error:
            raise ApplicationError(
                _("无法读取模型文件 %(path)s：文件损坏或不是宁聚的分类模型。") % {"path": path}
            ) from error
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise ApplicationError(_("文件 %(path)s 不是宁聚的分类模型。") % {"path": path})
        if data.get("version") != FORMAT_VERSION or data.get("sklearn") != sklearn.__version__:
            raise ApplicationError(
                _("模型文件 %(path)s 由另一版本生成（格式 %(found)s，当前 %(current)s），请重新训练。")
                % {
                    "path": path,
                    "found": f"{data.get('version')}/sklearn {data.get('sklearn')}",
                    "current": f"{FORMAT_VERSION}/sklearn {sklearn.__version__}",
                }
            )
        model = data["model"]
        if not isinstance(model, cls):
            raise ApplicationError(_("文件 %(path)s 不是宁聚的分类模型。") % {"path": path})
        return model


def train(
    texts: Sequence[Text],
    labels: Sequence[str],
    *,
    method: str = "svm",
    c: float = 1.0,
    word_weight: float = 1.0,
    subject_weight: float | None = None,
) -> TextClassifier:
    """Fit a classifier on texts and their labels (empty texts and labels are skipped).

    Texts given as fields (subject, detail, …) get the subject view too, weighted `subject_weight` (default 1.0:
    chosen on a tuning split carved from the teddy2020c training part, see benchmarks/text.py); plain strings
    have no subject of their own (default 0).

    method "svm": LinearSVC with sigmoid calibration over stratified folds (as many folds as the rarest label
    allows, at most 5); a label with a single example cannot be split into folds, so then, and for "logistic",
    a multinomial logistic regression gives the probabilities directly."""
    pairs = [
        (fields_of(t), str(y).strip())
        for t, y in zip(texts, labels, strict=True)
        if joined(t).strip() and str(y).strip()
    ]
    if not pairs:
        raise ApplicationError(_("没有可用于训练的数据：每行都需要文本和标签。"))
    xs = [t for t, _y in pairs]
    ys = [y for _t, y in pairs]
    if subject_weight is None:
        subject_weight = 1.0 if any(len(t) > 1 for t in xs) else 0.0
    features = _features(word_weight=word_weight, subject_weight=subject_weight)
    matrix = features.fit_transform(xs)
    counts = Counter(ys)
    classes = sorted(counts)
    if len(classes) == 1:
        return TextClassifier(features, None, np.zeros((1, matrix.shape[1]), dtype=np.float32), classes)
    rarest = min(counts.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on tiny sets says nothing a user can act on
        if method == "svm" and rarest >= 2:
            model: Any = CalibratedClassifierCV(LinearSVC(C=c), method="sigmoid", cv=min(5, rarest), ensemble=True)
            model.fit(matrix, ys)
            coef = np.mean([m.estimator.coef_ for m in model.calibrated_classifiers_], axis=0)
        else:
            model = LogisticRegression(C=c * 20, max_iter=2000)
            model.fit(matrix, ys)
            coef = model.coef_
    if coef.shape[0] == 1:  # two labels: sklearn keeps one row, for the second class
        coef = np.vstack([-coef[0], coef[0]])
    assert list(model.classes_) == classes
    return TextClassifier(features, model, coef.astype(np.float32), classes)

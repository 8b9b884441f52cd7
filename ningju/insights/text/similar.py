"""The similar-demand index: top-k similar texts in milliseconds, also at a million demands.

Representation: `SimilarityVectorizer.dense` — hashed IDF-weighted character unigrams/bigrams plus weighted
place keys, randomly projected to 256 dimensions, reduced to their 128 leading singular directions (learnt on a
sample) and L2-normalised, float32, so a score is a cosine in [-1, 1].
Search: an inverted-file index (IVF). A spherical k-means coarse quantiser cuts the vectors into about 4·√N lists
(small lists: a query reads few vectors per list it opens), stored contiguously by list; a query scores the
centroids, opens the `nprobe` best lists and ranks their members exactly. `nprobe` is tuned at build time so
that recall@10 against exact brute force over the same vectors stays ≥ 0.97 on a sample. Below `FLAT_BELOW` vectors the search is exact brute force. `add` appends to a small
exactly-scanned tail that is folded into the lists when it grows, so intake never waits for a rebuild.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from django.utils.translation import gettext as _
from threadpoolctl import ThreadpoolController

from ningju.core.errors import ApplicationError
from ningju.insights.text.features import SimilarityVectorizer

FORMAT_NAME = "ningju-similar-index"
FORMAT_VERSION = 2
FLAT_BELOW = 20_000
TARGET_RECALL = 0.97
LISTS_PER_ROOT = 4


_threads = ThreadpoolController()


def _one_blas_thread() -> Any:
    """One query is a few small matrix-vector products: BLAS threads only fight the web workers for the cores."""
    return _threads.limit(limits=1, user_api="blas")


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first."""
    if len(scores) <= k:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def spherical_kmeans(vectors: np.ndarray, k: int, *, iterations: int = 10, seed: int = 0) -> np.ndarray:
    """k unit centroids for unit vectors (cosine k-means); empty clusters are re-seeded from random points."""
    rng = np.random.default_rng(seed)
    centroids = vectors[rng.choice(len(vectors), size=k, replace=False)].copy()
    for _round in range(iterations):
        assigned = assign(vectors, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assigned, vectors)
        empty = np.bincount(assigned, minlength=k) == 0
        sums[empty] = vectors[rng.choice(len(vectors), size=int(empty.sum()), replace=False)]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        norms[norms == 0] = 1
        centroids = (sums / norms).astype(np.float32)
    return centroids


def assign(vectors: np.ndarray, centroids: np.ndarray, batch: int = 8192) -> np.ndarray:
    out = np.empty(len(vectors), dtype=np.int32)
    for first in range(0, len(vectors), batch):
        out[first : first + batch] = (vectors[first : first + batch] @ centroids.T).argmax(axis=1)
    return out


class SimilarIndex:
    """Build with `SimilarIndex.build(ids, texts)`; `search(text, k)` → [(id, score)], best first."""

    def __init__(self, vectorizer: SimilarityVectorizer) -> None:
        self.vectorizer = vectorizer
        self.ids: np.ndarray = np.array([], dtype=object)
        self.vectors = np.zeros((0, vectorizer.width), dtype=np.float32)
        self.centroids = np.zeros((0, vectorizer.width), dtype=np.float32)
        self.offsets = np.zeros(1, dtype=np.int64)
        self.nprobe = 0
        self.tail_ids: list[Any] = []
        self.tail_vectors = np.zeros((0, vectorizer.width), dtype=np.float32)
        self.tail_lists = np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.ids) + len(self.tail_ids)

    @classmethod
    def build(
        cls,
        ids: Sequence[Any],
        texts: Sequence[str],
        *,
        dims: int = 256,
        reduced: int | None = 128,
        nlist: int | None = None,
        nprobe: int | None = None,
        vectorizer: SimilarityVectorizer | None = None,
    ) -> "SimilarIndex":
        if len(ids) != len(texts):
            raise ValueError("ids and texts differ in length")
        vectorizer = vectorizer or SimilarityVectorizer(dims=dims, reduced=reduced)
        vectorizer.fit(texts)
        index = cls(vectorizer)
        index.build_from_vectors(np.asarray(list(ids)), vectorizer.dense(texts), nlist=nlist, nprobe=nprobe)
        return index

    def build_from_vectors(
        self, ids: np.ndarray, vectors: np.ndarray, *, nlist: int | None = None, nprobe: int | None = None
    ) -> None:
        n = len(vectors)
        if nlist is None:
            nlist = 0 if n < FLAT_BELOW else int(LISTS_PER_ROOT * np.sqrt(n))
        if nlist <= 1:
            self.ids, self.vectors = ids, vectors
            self.centroids = np.zeros((0, vectors.shape[1]), dtype=np.float32)
            self.offsets = np.array([0, n], dtype=np.int64)
            self.nprobe = 0
            return
        rng = np.random.default_rng(1)
        sample = vectors[rng.choice(n, size=min(n, 32 * nlist), replace=False)]
        self.centroids = spherical_kmeans(sample, nlist)
        lists = assign(vectors, self.centroids)
        order = np.argsort(lists, kind="stable")
        self.ids, self.vectors = ids[order], vectors[order]
        self.offsets = np.concatenate([[0], np.cumsum(np.bincount(lists, minlength=nlist))]).astype(np.int64)
        self.nprobe = nprobe or self.tune()

    def tune(self, queries: int = 200, k: int = 10, target: float = TARGET_RECALL) -> int:
        """The smallest nprobe (steps of about √2) whose recall@k (database points as queries) reaches `target`."""
        rng = np.random.default_rng(2)
        sample = self.vectors[rng.choice(len(self.vectors), size=min(queries, len(self.vectors)), replace=False)]
        exact = [s for _i, s in (self.exact_search(q, k) for q in sample)]
        nlist = len(self.centroids)
        for nprobe in (4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512):
            if nprobe >= nlist:
                break
            self.nprobe = nprobe
            found = [self.search_vector(q, k)[1] for q in sample]
            if np.mean([recall(f, e) for f, e in zip(found, exact, strict=True)]) >= target:
                return nprobe
        self.nprobe = nlist
        return nlist

    # -- search ---------------------------------------------------------------------------------------------------

    def search(self, text: str, k: int = 10) -> list[tuple[Any, float]]:
        """The k most similar indexed texts: (id, cosine score), best first."""
        if not len(self):
            return []
        with _one_blas_thread():
            positions, scores = self.search_vector(self.vectorizer.query(text), k)
        return [(self.id_at(p), float(s)) for p, s in zip(positions, scores, strict=True)]

    def id_at(self, position: int) -> Any:
        """Ids are positions into the lists, then into the tail."""
        if position < len(self.ids):
            return self.ids[position].item() if hasattr(self.ids[position], "item") else self.ids[position]
        return self.tail_ids[position - len(self.ids)]

    def search_vector(self, query: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(positions, scores) of the k best vectors for a unit query vector."""
        if self.nprobe == 0:
            candidates = np.arange(len(self.vectors))
            scores = self.vectors @ query
        else:
            lists = _top(self.centroids @ query, self.nprobe)
            starts, ends = self.offsets[lists], self.offsets[lists + 1]
            scores = np.concatenate([self.vectors[a:b] @ query for a, b in zip(starts, ends, strict=True)])
            candidates = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
        if len(self.tail_ids):
            scores = np.concatenate([scores, self.tail_vectors @ query])
            candidates = np.concatenate([candidates, len(self.ids) + np.arange(len(self.tail_ids))])
        best = _top(scores, k)
        return candidates[best], scores[best]

    def exact_search(self, query: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Brute force over every vector: the reference the index's recall is measured against."""
        scores = self.vectors @ query
        if len(self.tail_ids):
            scores = np.concatenate([scores, self.tail_vectors @ query])
        best = _top(scores, k)
        return best, scores[best]

    # -- incremental ------------------------------------------------------------------------------------------------

    def add(self, ids: Sequence[Any], texts: Sequence[str]) -> None:
        """Index new texts now (exactly scanned tail); fold the tail into the lists once it is large."""
        if not len(ids):
            return
        vectors = self.vectorizer.dense(texts)
        self.tail_ids.extend(ids)
        self.tail_vectors = np.vstack([self.tail_vectors, vectors])
        lists = assign(vectors, self.centroids) if len(self.centroids) else np.zeros(len(vectors), dtype=np.int32)
        self.tail_lists = np.concatenate([self.tail_lists, lists])
        if len(self.tail_ids) > max(10_000, len(self.ids) // 20):
            self.compact()

    def compact(self) -> None:
        """Merge the tail into the lists (no re-clustering: the centroids still describe the data)."""
        tail_ids = np.empty(len(self.tail_ids), dtype=object)
        tail_ids[:] = self.tail_ids
        ids = np.concatenate([self.ids.astype(object), tail_ids])
        vectors = np.vstack([self.vectors, self.tail_vectors])
        self.tail_ids, self.tail_lists = [], np.zeros(0, dtype=np.int32)
        self.tail_vectors = np.zeros((0, self.vectorizer.width), dtype=np.float32)
        if not len(self.centroids):
            if len(vectors) >= FLAT_BELOW:
                self.build_from_vectors(ids, vectors)
            else:
                self.ids, self.vectors = ids, vectors
                self.offsets = np.array([0, len(ids)], dtype=np.int64)
            return
        nlist = len(self.centroids)
        lists = np.concatenate(
            [np.repeat(np.arange(nlist), np.diff(self.offsets)), assign(vectors[len(self.ids) :], self.centroids)]
        )
        order = np.argsort(lists, kind="stable")
        self.ids, self.vectors = ids[order], vectors[order]
        self.offsets = np.concatenate([[0], np.cumsum(np.bincount(lists, minlength=nlist))]).astype(np.int64)

    # -- files ------------------------------------------------------------------------------------------------------

    def memory_bytes(self) -> int:
        return int(
            self.vectors.nbytes
            + self.centroids.nbytes
            + self.tail_vectors.nbytes
            + self.vectorizer.idf.nbytes
            + (self.ids.nbytes if self.ids.dtype != object else 8 * len(self.ids))
        )

    def save(self, path: str | Path) -> None:
        joblib.dump({"format": FORMAT_NAME, "version": FORMAT_VERSION, "index": self}, path)

    @classmethod
    def load(cls, path: str | Path) -> "SimilarIndex":
        try:
            data = joblib.load(path)
        except FileNotFoundError as error:
            raise ApplicationError(_("找不到索引文件：%(path)s") % {"path": path}) from error
        except Exception as error:
            raise ApplicationError(_("无法读取索引文件 %(path)s：文件已损坏。") % {"path": path}) from error
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT_NAME
            or not isinstance(data.get("index"), cls)
        ):
            raise ApplicationError(_("文件 %(path)s 不是宁聚的相似诉求索引。") % {"path": path})
        if data.get("version") != FORMAT_VERSION:
            raise ApplicationError(_("索引文件 %(path)s 由另一版本生成，请重新建立索引。") % {"path": path})
        return data["index"]


def recall(found_scores: np.ndarray, exact_scores: np.ndarray, tolerance: float = 1e-5) -> float:
    """recall@k counting ties: a hit is any result scoring at least the k-th exact score (identical texts tie)."""
    k = len(exact_scores)
    if not k:
        return 1.0
    return min(k, int(np.sum(found_scores >= exact_scores[-1] - tolerance))) / k

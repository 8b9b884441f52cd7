"""Text features: normalisation, place names (roads, compounds, shops) and the place-aware similarity vectors.

Two representations are built here. The classifier's words and character n-grams live in `classifier.py`; this
module holds what similar search and clustering share: hashed character unigrams and bigrams plus place keys,
weighted by inverse document frequency, as a sparse L2-normalised matrix (clustering: exact cosine) and, through a
fixed signed random projection followed by a learnt reduction (the leading singular directions of a sample), as a
dense float32 embedding (similar search over a million demands).
"""

import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

# A place name is a name part of two to six characters followed by one of these endings. The longest endings are
# tried first so that 小区 wins over 区 and 便利店 over 店.
ROAD_ENDINGS = ("大道", "路", "街", "巷")
COMPOUND_ENDINGS = ("小区", "新村", "花园", "公寓", "大厦", "大楼", "苑", "里", "村", "坊")
SHOP_ENDINGS = (
    "便利店",
    "酒吧",
    "餐厅",
    "饭店",
    "酒店",
    "超市",
    "菜场",
    "菜市场",
    "网吧",
    "浴室",
    "工地",
    "幼儿园",
    "学校",
    "医院",
    "店",
)
ENDINGS = sorted({*ROAD_ENDINGS, *COMPOUND_ENDINGS, *SHOP_ENDINGS}, key=len, reverse=True)
MAX_NAME = 6

# Characters that cannot be part of a name: function words, pronouns and positions ("在常德路", "家门口的酒吧").
STOP_CHARS = set(
    "的在和与于到从是了对向把被给跟及或请有个这那我你他她它们要将就都也还又很太已并但而且等因为所以如果虽然"
    "近边旁前后对面附门口处内外上下间的之每各该此某些多少几二一楼层户室家"
    # the end of an earlier place: "常德路88号酒吧" has no name of its own before 酒吧
    "路街巷弄号"
)
# A name part that ends like this is a generic word, not a name: "小区里", "这里", "楼里", "村里".
GENERIC_TAILS = ("区", "楼", "家", "院", "城", "房", "屋", "心", "夜", "晚", "天", "年", "月", "日", "这", "那")

# part-of-speech flags (jieba/ICTCLAS) of words that start a clause, not a name: verbs, adverbs, pronouns, …
LEADING_FLAGS = set("vdrpcumqtfyzs")

_NAME_CHAR = re.compile(r"[\u4e00-\u9fff]")
_ENDING = re.compile("|".join(re.escape(e) for e in ENDINGS))
_NUMBERED = re.compile(r"(\d{1,5})(弄|号|支弄)")
_NOT_TEXT = re.compile(r"[^\u4e00-\u9fff0-9a-z]+")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, single spaces: "１２３４５" and "12345" are the same token."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()


def _name_parts(text: str) -> Iterable[tuple[int, int, str]]:
    """(start of the longest possible name part, position of the ending, ending) for every place ending."""
    for match in _ENDING.finditer(text):
        end = match.start()
        start = end
        while start > 0 and end - start < MAX_NAME:
            char = text[start - 1]
            if char in STOP_CHARS or not _NAME_CHAR.match(char):
                break
            start -= 1
        part = text[start:end]
        if len(part) < 2 or part.endswith(GENERIC_TAILS):
            continue
        yield start, end, match.group()


def place_keys(text: str) -> list[str]:
    """Every plausible place name in a text, in each length the name part may have (fast: no segmentation).

    Without word boundaries "反映常德路" could be a road name; emitting 常德路, 映常德路 and 反映常德路 lets two
    texts about 常德路 share at least the true name while texts about other roads share none."""
    text = normalize(text)
    keys: list[str] = []
    for start, end, ending in _name_parts(text):
        for first in range(end - 2, start - 1, -1):
            keys.append(text[first:end] + ending)
    for match in _NUMBERED.finditer(text):
        # "88号" alone is everywhere; with the road before it it is an address
        before = text[max(0, match.start() - 4) : match.start()]
        if len(before) >= 3 and before.endswith(ROAD_ENDINGS):
            keys.append(before[-3:] + match.group())
    return keys


def extract_places(text: str) -> list[str]:
    """The place names in a text, once each, in order of appearance: "常德路", "恒德里小区", "全家便利店".

    The name part is the longest run before the ending; leading words that the part-of-speech tagger calls
    verbs, adverbs, pronouns and the like are dropped, so "反映延安中路" gives 延安中路."""
    from ningju.insights.text.segment import tagger

    text = normalize(text)
    found: list[str] = []
    for start, end, ending in _name_parts(text):
        tagged = [(w.word, w.flag) for w in tagger().lcut(text[start:end], HMM=False)]
        while len(tagged) > 1 and tagged[0][1][:1] in LEADING_FLAGS and sum(len(w) for w, _f in tagged[1:]) >= 2:
            tagged.pop(0)
        name = "".join(w for w, _f in tagged) + ending
        if name not in found:
            found.append(name)
    return found


def similarity_tokens(text: str, place_repeat: int = 3) -> list[str]:
    """Character unigrams and bigrams of the text and its place keys, the keys repeated to weigh more."""
    clean = _NOT_TEXT.sub("", normalize(text))
    tokens = list(clean)
    tokens += [clean[i : i + 2] for i in range(len(clean) - 1)]
    places = ["@" + key for key in place_keys(text)]
    return tokens + places * place_repeat


# the reduction is learnt from at most this many texts, and only when there are enough of them to learn from
REDUCE_SAMPLE = 20_000
REDUCE_MIN_TEXTS = 1_000


class SimilarityVectorizer:
    """Hashed, IDF-weighted character n-grams plus weighted place keys; sparse or projected to a dense embedding.

    Hashing keeps the vocabulary out of memory and makes `add` possible without refitting; the IDF table is
    learnt once from the texts the index was built on. The projection is a fixed signed sparse random matrix
    (each bucket lands on two of `dims` dimensions with a random sign), so inner products are kept in
    expectation. A random projection spreads every text evenly over all dimensions, which leaves an inverted
    file nothing to cut along; so `fit` also learns, from a sample, the `reduced` leading singular directions of
    the projected texts (uncentred: cosine stays meaningful) and the embedding is the text's coordinates on them.
    Those directions hold most of the energy (about 85 % at 128 of 256 on demand-like texts), and k-means finds
    real groups in them. With fewer than `REDUCE_MIN_TEXTS` texts there is nothing to learn: no reduction."""

    def __init__(
        self,
        n_features: int = 2**20,
        dims: int = 256,
        place_repeat: int = 3,
        seed: int = 20240605,
        reduced: int | None = 128,
    ):
        self.n_features = n_features
        self.dims = dims
        self.reduced = reduced
        self.place_repeat = place_repeat
        self.seed = seed
        self.idf = np.ones(n_features, dtype=np.float32)
        self.components: np.ndarray | None = None
        self._projection: sp.csr_matrix | None = None
        self._dims = np.zeros((0, 2), dtype=np.int32)
        self._signs = np.zeros((0, 2), dtype=np.float32)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        # rebuilt from the seed: no need to store 2M entries
        state["_projection"] = state["_dims"] = state["_signs"] = None
        return state

    def _hasher(self) -> HashingVectorizer:
        return HashingVectorizer(
            analyzer=self._tokens, n_features=self.n_features, alternate_sign=False, norm=None, dtype=np.float32
        )

    def _tokens(self, text: str) -> list[str]:
        return similarity_tokens(text, self.place_repeat)

    @property
    def width(self) -> int:
        """Dimensions of the dense embedding."""
        return self.dims if self.components is None else int(self.components.shape[1])

    def fit(self, texts: Sequence[str]) -> "SimilarityVectorizer":
        counts = self._hasher().transform(texts)
        df = np.bincount(counts.indices, minlength=self.n_features).astype(np.float64)
        self.idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
        self.components = None
        if self.reduced and self.reduced < self.dims and len(texts) >= REDUCE_MIN_TEXTS:
            rng = np.random.default_rng(self.seed)
            picked = rng.choice(len(texts), size=min(len(texts), REDUCE_SAMPLE), replace=False)
            sample = self.dense([texts[i] for i in np.sort(picked)])
            _u, _s, vt = np.linalg.svd(sample, full_matrices=False)
            self.components = np.ascontiguousarray(vt[: self.reduced].T, dtype=np.float32)
        return self

    def sparse(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Rows: sublinear tf × idf, L2-normalised (cosine = dot product)."""
        matrix = self._hasher().transform(texts).tocsr()
        np.log1p(matrix.data, out=matrix.data)
        matrix.data *= self.idf[matrix.indices]
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        return sp.csr_matrix(sp.diags(1 / norms).dot(matrix), dtype=np.float32)

    def _buckets(self) -> tuple[np.ndarray, np.ndarray]:
        """For every hash bucket its two target dimensions and signed weights (fixed by the seed)."""
        rng = np.random.default_rng(self.seed)
        dims = rng.integers(0, self.dims, size=(self.n_features, 2)).astype(np.int32)
        signs = (
            rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(self.n_features, 2)) / np.sqrt(2)
        ).astype(np.float32)
        return dims, signs

    def projection(self) -> sp.csr_matrix:
        if self._projection is None:
            dims, signs = self._buckets()
            rows = np.repeat(np.arange(self.n_features), 2)
            self._projection = sp.csr_matrix(
                (signs.ravel(), (rows, dims.ravel())), shape=(self.n_features, self.dims)
            )
            self._dims, self._signs = dims, signs
        return self._projection

    def query(self, text: str) -> np.ndarray:
        """`dense([text])[0]` without the batch machinery: what one intake keystroke costs (well under 1 ms)."""
        self.projection()
        hashes = np.array([murmurhash3_32(t, seed=0) for t in self._tokens(text)], dtype=np.int64)
        if not len(hashes):
            return np.zeros(self.width, dtype=np.float32)
        # the same bucket as sklearn's HashingVectorizer gives (abs of the signed 32-bit hash)
        buckets, counts = np.unique(np.abs(hashes) % self.n_features, return_counts=True)
        weights = np.log1p(counts.astype(np.float32)) * self.idf[buckets]
        out = np.zeros(self.dims, dtype=np.float32)
        np.add.at(out, self._dims[buckets].ravel(), (weights[:, None] * self._signs[buckets]).ravel())
        if self.components is not None:
            out = out @ self.components
        norm = float(np.linalg.norm(out))
        return out / norm if norm else out

    def dense(self, texts: Sequence[str], batch: int = 50_000) -> np.ndarray:
        """float32 rows of `width`, L2-normalised: the representation the similar-demand index searches."""
        out = np.empty((len(texts), self.width), dtype=np.float32)
        for first in range(0, len(texts), batch):
            part = (self.sparse(texts[first : first + batch]) @ self.projection()).toarray()
            if self.components is not None:
                part = part @ self.components
            norms = np.linalg.norm(part, axis=1, keepdims=True)
            norms[norms == 0] = 1
            out[first : first + batch] = part / norms
        return out

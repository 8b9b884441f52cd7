"""Clusters of similar demands across a street and a time window, and short topic titles for them.

Representation: the sparse place-aware vectors of `SimilarityVectorizer` (exact cosine). Place awareness is
applied three times: place keys weigh more in the vectors, two texts sharing a place have their similarity
raised by `PLACE_SHARED`, and two texts that both name places but share none have it cut by `PLACE_MISMATCH` — "噪音" at 常德路 and "噪音" at 康定路 are two topics. Clustering is
average-link agglomeration over each text's nearest neighbours (pairs outside the time window never link, and
missing pairs count as zero, which stops chains), merged while the average similarity stays ≥ `threshold`.
"""

import heapq
import math
from collections.abc import Hashable, Sequence
from datetime import datetime

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from ningju.insights.text.features import SimilarityVectorizer, place_keys

# chosen by reading samples of f4_replies_2816 (benchmarks/text.py): at 0.4 only verbatim repeats merged; at 0.2
# with a shared-place boost re-worded follow-ups of one matter merge too ("反对拆五一桥建商铺廊桥" ×3) while
# clusters still read as one matter each
THRESHOLD = 0.2
PLACE_MISMATCH = 0.5
PLACE_SHARED = 1.3
NEIGHBOURS = 20
WINDOW_DAYS = 30

STOPWORDS = set(
    """反映 问题 希望 请求 要求 居民 我们 你们 他们 情况 没有 现在 已经 相关 部门 解决 一直 严重 影响 进行 存在 关于
    市民 您好 你好 领导 政府 非常 可以 什么 这个 那个 为什么 怎么 是否 能否 目前 由于 工作 以及 同时 还是 就是 但是
    因为 所以 如果 而且 并且 不是 这样 这些 那些 很多 一些 自己 大家 有关 相关 能够 需要 应该 造成 导致 时间 期间
    得到 处理 投诉 举报 咨询 请问 尽快 及时 多次 至今 一下 一个 年月 谢谢 感谢 网友 留言 回复 答复 调查 核实 情况下""".split()  # noqa: SIM905
)


def _place_matrix(texts: Sequence[str]) -> sp.csr_matrix:
    hasher = HashingVectorizer(analyzer=place_keys, n_features=2**18, alternate_sign=False, norm=None, binary=True)
    return hasher.transform(texts).tocsr()


def _edges(
    texts: Sequence[str],
    times: Sequence[datetime | None] | None,
    *,
    window_days: int,
    neighbours: int,
    threshold: float,
) -> dict[tuple[int, int], float]:
    matrix = SimilarityVectorizer(n_features=2**20).fit(texts).sparse(texts)
    places = _place_matrix(texts)
    named = np.asarray(places.sum(axis=1)).ravel() > 0
    stamps = None
    if times is not None:
        stamps = np.array([t.timestamp() if t else np.nan for t in times], dtype=np.float64)
    edges: dict[tuple[int, int], float] = {}
    n = len(texts)
    block = 2048
    for first in range(0, n, block):
        rows = slice(first, min(n, first + block))
        scores = (matrix[rows] @ matrix.T).toarray()
        shared = (places[rows] @ places.T).toarray() > 0
        mismatch = named[rows][:, None] & named[None, :] & ~shared
        scores[mismatch] *= PLACE_MISMATCH
        # the same compound, road or shop: the words around it may differ ("噪音", "吵", "音乐") yet it is one matter
        scores[shared] = np.minimum(1.0, scores[shared] * PLACE_SHARED)
        if stamps is not None:
            apart = np.abs(stamps[rows][:, None] - stamps[None, :])
            # an undated message may join by text alone; dated ones only within the window
            scores[apart > window_days * 86400] = 0
        for offset in range(scores.shape[0]):
            i = first + offset
            scores[offset, i] = 0
            row = scores[offset]
            if n == 1:
                continue
            best = np.argpartition(-row, min(neighbours, n - 1) - 1)[:neighbours]
            for j in best:
                if row[j] >= threshold * 0.5:  # weaker pairs still count towards an average link
                    key = (i, int(j)) if i < j else (int(j), i)
                    edges[key] = max(edges.get(key, 0.0), float(row[j]))
    return edges


def cluster(
    ids: Sequence[Hashable],
    texts: Sequence[str],
    times: Sequence[datetime | None] | None = None,
    *,
    threshold: float = THRESHOLD,
    window_days: int = WINDOW_DAYS,
    neighbours: int = NEIGHBOURS,
) -> dict[Hashable, str]:
    """{id: cluster label} with every id once; a text alone is its own cluster. Labels ("C0001" …) are numbered
    in the order clusters first appear in the input, so the same input always gives the same labels."""
    n = len(texts)
    if len(ids) != n or (times is not None and len(times) != n):
        raise ValueError("ids, texts and times differ in length")
    if n == 0:
        return {}
    edges = _edges(texts, times, window_days=window_days, neighbours=neighbours, threshold=threshold)
    size = [1] * n
    alive = [True] * n
    members: list[list[int]] = [[i] for i in range(n)]
    links: list[dict[int, float]] = [{} for _ in range(n)]
    for (i, j), score in edges.items():
        links[i][j] = score
        links[j][i] = score
    heap = [(-score, i, j) for (i, j), score in edges.items() if score >= threshold]
    heapq.heapify(heap)
    while heap:
        negative, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]):
            continue
        current = links[a].get(b, 0.0) / (size[a] * size[b])
        if not math.isclose(current, -negative, abs_tol=1e-9):
            continue  # stale entry: the pair's average changed since it was pushed
        if current < threshold:
            break
        # merge b into a: sums of similarities add up, so averages stay exact over the kept pairs
        alive[b] = False
        size[a] += size[b]
        members[a].extend(members[b])
        members[b] = []
        del links[a][b]
        for c, total in links[b].items():
            if c == a:
                continue
            links[a][c] = links[a].get(c, 0.0) + total
            links[c][a] = links[a][c]
            del links[c][b]
        links[b] = {}
        for c, total in links[a].items():
            average = total / (size[a] * size[c])
            if average >= threshold:
                heapq.heappush(heap, (-average, min(a, c), max(a, c)) if a < c else (-average, c, a))
    groups = sorted((min(m), m) for m in members if m)
    width = max(4, len(str(len(groups))))
    labels: dict[Hashable, str] = {}
    for number, (_first, group) in enumerate(groups, start=1):
        for position in group:
            labels[ids[position]] = f"C{number:0{width}d}"
    return labels


class TopicDescriber:
    """Short titles for clusters, the way a person would write them: the shared place and the problem
    ("静安悦庭苑 夜间噪音", "楼道灯损坏"); see `titles.TitleMaker`.

    With background texts (the street's demands) a word's weight is its inverse document frequency in the
    background, so everyday words ("小区", "噪音" everywhere) carry less than "酒吧"; `places` are known place names
    (the registry's compounds and roads)."""

    def __init__(self, background: Sequence[str] = (), places: Sequence[str] = ()) -> None:
        from ningju.insights.text.titles import TitleMaker

        self.maker = TitleMaker(background, places)

    def describe(self, texts: Sequence[str], words: int = 4, categories: Sequence[str] = ()) -> str:
        """The title of one cluster. `words` is kept for older callers: a title is a place and a phrase now, never a
        list of words."""
        return self.maker.title(texts, categories).text


def _anonymised(word: str) -> bool:
    """Tokens such as "a3区" or "a市" (anonymised place names in public data sets) say nothing."""
    return any(c.isascii() and c.isalpha() for c in word)


def describe(cluster_texts: Sequence[str], words: int = 4) -> str:
    """A short topic title for the texts of one cluster, e.g. "常德路夜猫子酒吧 噪音扰民"."""
    return TopicDescriber().describe(cluster_texts, words)

"""Titles a person would write for a group of similar texts: the place and the problem ("静安悦庭苑 夜间噪音",
"楼道灯损坏", "办理居住证咨询"), never the most frequent words joined by spaces.

The place is the most specific one that at least half of the texts name: a known place (the registry's compounds
and roads, passed in by the caller), a shop in quotes ("“夜猫子酒吧”"), a road with its lane ("康定路101弄"), or a
name found by the governance place patterns of `features.extract_places` (…路, …小区, …苑, …学校). A shop named by
most texts goes after its road when both are shared ("常德路夜猫子酒吧").

The problem is a key phrase: every run of whole words (jieba with the governance user dictionary) inside one
clause of the texts, places taken out, scored by how many texts contain it (squared: shared matters most) times the
information it carries (the sum of its words' inverse document frequencies in the background, so that "楼道灯损坏"
beats "出行不便" which every second demand says), slightly favouring what a text says first. A phrase neither starts
nor ends with a function word ("希望", "有", "把", "附近") and holds no word twice. When no phrase is shared by half
of the texts, the title falls back to the most common category and the most common phrase ("物业管理：增加停车位等").
"""

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ningju.insights.text.features import COMPOUND_ENDINGS, ROAD_ENDINGS, extract_places, normalize

# A title stays readable on a phone line: this many characters at most, the phrase at most `MAX_PHRASE`.
MAX_TITLE = 16
MAX_PHRASE = 12
MAX_WORDS = 6
# A place or phrase must be in at least this share of the texts to name the group.
SHARED = 0.5
# Phrases are read from the first texts of a group and counted in more of them: enough to find what most say.
CANDIDATE_TEXTS = 30
SAMPLE = 120
# A longer phrase holding the best one replaces it when this share of the texts that say the best one say it too.
LONGER_SHARE = 0.6
# A term of the governance dictionary says more than its frequency tells.
GOVERNANCE_WEIGHT = 1.5

# The reporting formula before the matter ("走访中居民反映：", "巡查鸿安邨垃圾厢房时发现：").
_LEAD_IN = re.compile(r"^[^:：]{0,40}?(?:反映|发现|提出|留言|来电|表示|报告|称)[^:：]{0,6}[:：]")
# a shop's name in quotes ends like a shop: "“微醺清吧”", "“拾号酒馆”" (not "“白+黑”")
_QUOTED = re.compile(
    r"[“\"「]([\u4e00-\u9fff0-9a-z]{1,10}(?:吧|馆|店|廊|厅|铺|行|社|屋|轩|阁|楼|院|所|中心))[”\"」]"
)
# "绿化带里", "车棚里": a thing and 里, not a compound named …里
_NOT_LI = re.compile(r"[带道棚车店箱间井池口]里$")
_ROAD = "|".join(ROAD_ENDINGS)
_LANE = re.compile(rf"([\u4e00-\u9fff]{{1,5}}(?:{_ROAD}))(\d{{1,5}})弄")
_ADDRESS = re.compile(
    rf"([\u4e00-\u9fff]{{1,5}}(?:{_ROAD}))\d{{1,5}}(?:-\d{{1,5}})?[弄号](?:\d{{1,5}}号)?(?:\d{{1,5}}室)?"
)
# what is left of an address once its road is out ("1305-1315号", "2号"), and ages ("78岁")
_NUMBERED = re.compile(r"(?:\d{1,5}(?:-\d{1,5})?(?:支弄|弄|号|室|岁))+")
# a company is who, not what: "上海怡景物业管理有限公司"
_COMPANY = re.compile(r"[\u4e00-\u9fff]{2,16}?(?:有限责任公司|有限公司|公司)")
_CLAUSE = re.compile(r"[\s,.;!?:、，。；！？：“”\"'‘’()（）\[\]【】《》|/~—-]+")
_QUESTION = re.compile(r"[?？]|哪些|什么|怎么|如何|多少|能否|是否|吗|咨询|询问")

# Words that may sit inside a phrase but never start or end it.
EDGE_WORDS = set(
    """的 了 和 与 及 或 在 有 把 被 将 对 向 从 给 让 就 都 也 还 又 很 太 更 最 再 才 已 被 由 为 以 于 是 不 没
    我 你 他 她 它 我们 你们 他们 大家 有人 居民 住户 市民 网友 业主 老人 家里 自己
    希望 建议 要求 请求 请 反映 发现 提出 咨询 询问 请问 投诉 举报 表示 认为 觉得 担心 需要 应该 能够 可以 能 会 要
    附近 周边 门口 旁边 对面 这里 那里 这个 那个 这些 那些 哪些 什么 怎么 如何 多少 是否 能否 为什么
    一直 经常 总是 多次 反复 已经 目前 现在 今年 最近 每天 每晚 晚上 白天 有时 还是 但是 而且 并且 因为 所以
    一下 一些 一个 一次 问题 情况 相关 进行 尽快 及时 特别 比较 非常 严重 存在 出现 造成 导致 影响 一并 统一
    走访 时 后 前 中 内 外 上 下 里 等 一带 也能 进一步 帮忙 帮助 解决 处理 协调 核实 更加 以后 正在 不同 所需
    加强 部门 相关部门 对于 关于 做好 一并 实行 加装 所需 长期""".split()  # noqa: SIM905
)
# Words that may end a phrase but not start it ("酒吧夜间巡查", not "巡查楼道").
LEAD_WORDS = {"巡查", "发现", "通过", "来电", "入户"}
# Words too general to be a group's problem on their own.
GENERIC_WORDS = {
    "小区", "大楼", "大厦", "公寓", "物业", "意见", "充电", "楼里", "住户", "沿街", "楼道", "车棚", "增设", "居民", "商铺",
    "车位", "停车", "厢房", "垃圾", "改造", "管理", "服务", "老人", "房屋", "设施", "环境", "安全", "卫生",
}  # fmt: skip
# Words that say nothing about the matter wherever they stand.
NOISE_WORDS = {"居委会", "居民区", "物业说", "楼组长", "平台", "线上", "点对点", "微信群", "热线", "12345"}
# Single characters that may end a phrase: things ("楼道灯", "防盗门"), not a cut-off verb ("乱", "放").
ONE_CHARACTER_ENDS = set("灯门窗树水电气车楼墙路井桥房棚柜箱网线费证卡点站")
# Places too generic to name a group.
GENERIC_PLACES = {"小区", "花园", "大楼", "大厦", "公寓", "新村", "学校", "医院", "工地", "饭店", "超市", "菜场"}
# Leading verbs that the place patterns sometimes keep ("建议静安悦庭苑", "延长常德路").
_PLACE_LEAD = re.compile(r"^(?:建议|希望|要求|反映|巡查|走访|延长|规范|加强|对|在|把|将|请|关于|询问|咨询)+")


@dataclass(frozen=True)
class Title:
    """A group's title and what it is made of: `place` ("" when the texts share none) and `problem`."""

    text: str
    place: str = ""
    problem: str = ""
    fallback: bool = False
    keywords: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text


def strip_lead_in(text: str) -> str:
    """The text without its reporting formula: "居民来电反映：楼道灯坏了" → "楼道灯坏了"."""
    return _LEAD_IN.sub("", text, count=1)


class TitleMaker:
    """Titles for groups of texts from one collection.

    `background` are the texts the groups come from (a street's demands): a word common in them carries little.
    `places` are known place names (a street's compounds and roads): recognised wherever they appear, even where
    the suffix patterns fail ("鸿安邨", "建议静安悦庭苑…")."""

    def __init__(self, background: Sequence[str] = (), places: Iterable[str] = ()) -> None:
        known = {normalize(p) for p in places if p and len(p.strip()) >= 2}
        self.places = sorted(known - GENERIC_PLACES, key=len, reverse=True)
        self._known = re.compile("|".join(re.escape(p) for p in self.places)) if self.places else None
        self.documents = 0
        self.frequency: Counter[str] = Counter()
        for text in background:
            self.documents += 1
            self.frequency.update({w for clause in self._clauses(text)[0] for w in clause})

    # ------------------------------------------------------------------------------------------ places

    def places_in(self, text: str) -> list[str]:
        """The place names of one text, once each, most specific first within a kind: known places, shops in
        quotes, road + lane, then the names the governance patterns find."""
        # a household's own address ("新闸路1301弄4号101室") says who reported, not where the matter is
        text = _ADDRESS.sub(lambda m: " " if m.group().endswith("室") else m.group(), normalize(text))
        found: list[str] = []

        def add(name: str) -> None:
            name = _PLACE_LEAD.sub("", name)
            if len(name) >= 2 and name not in GENERIC_PLACES and not _NOT_LI.search(name) and name not in found:
                found.append(name)

        if self._known is not None:
            for match in self._known.finditer(text):
                add(match.group())
        for match in _QUOTED.finditer(text):
            add(match.group(1))
        for match in _LANE.finditer(text):
            road = self._road(match.group(1))
            add(f"{road}{match.group(2)}弄")
            add(road)
        for name in extract_places(_ADDRESS.sub(lambda m: self._road(m.group(1)) + " ", text)):
            known = next((p for p in self.places if name.endswith(p)), None)
            add(known or name)
        return found

    def _road(self, candidate: str) -> str:
        """The road in "走访常德路" (the part before it is not a name): the known road it ends with, else the
        name the place patterns give."""
        known = next((p for p in self.places if candidate.endswith(p)), None)
        if known:
            return known
        names = extract_places(candidate)
        return names[-1] if names else candidate

    def _shared_place(self, texts: Sequence[str]) -> tuple[str, list[str]]:
        """The title's place: the most specific name at least half of the texts share, a shop after its road."""
        per_text = [self.places_in(t) for t in texts]
        counts = Counter(p for places in per_text for p in set(places))
        needed = max(2, math.ceil(len(texts) * SHARED)) if len(texts) > 1 else 1
        shared = [p for p, n in counts.items() if n >= needed]
        if not shared:
            return "", []
        # the most specific: a name that contains no other shared name's text is less specific than one that does
        ranked = sorted(shared, key=lambda p: (-_specificity(p), -counts[p], -len(p), p))
        place = ranked[0]
        if place.endswith("弄小区"):
            place = place[: -len("小区")]  # "康定路109弄" says it: room for the problem
        roads = [p for p in ranked if p.endswith(ROAD_ENDINGS) and p not in place]
        shop = not place.endswith(ROAD_ENDINGS) and not re.search(r"\d", place) and not _is_compound(place)
        if roads and shop and len(roads[0]) + len(place) <= MAX_TITLE // 2 + 2:
            place = roads[0] + place  # 常德路夜猫子酒吧
        return place, shared

    # ------------------------------------------------------------------------------------------ phrases

    def _clauses(self, text: str) -> tuple[list[list[str]], bool]:
        """The text's clauses as word lists (places and the reporting formula taken out), and whether it asks."""
        from ningju.insights.text.segment import words

        body = strip_lead_in(normalize(text))
        asks = bool(_QUESTION.search(body))
        for place in sorted(self.places_in(body), key=len, reverse=True):
            body = body.replace(place, "|")
        body = _ADDRESS.sub("|", body)
        body = _NUMBERED.sub("|", body)
        body = _COMPANY.sub("|", body)
        clauses = []
        for part in _CLAUSE.split(body):
            if part:
                clauses.append([w for w in words(part) if w.strip()])
        return [c for c in clauses if c], asks

    def _idf(self, word: str) -> float:
        """What a word says: its inverse document frequency, doubled for a governance term (酒吧, 群租, 加装电梯)."""
        if word in EDGE_WORDS or word in NOISE_WORDS:
            return 0.0
        if not self.documents:
            weight = 1.0 + len(word) / 4  # no background: longer words say more
        else:
            weight = math.log((1 + self.documents) / (1 + self.frequency[word])) + 1
        return weight * GOVERNANCE_WEIGHT if word in governance_terms() else weight

    def _phrases(self, texts: Sequence[str], limit: int) -> tuple[list[tuple[float, float, str]], int]:
        """(score, share of texts, phrase) best first, and how many of the texts ask a question.

        A phrase is taken from the words of one text as written; another text has it when it holds each of its
        words in one clause, in any order and however the segmenter cut them ("夜间噪音" is in "夜间噪音扰民" and
        in "噪音在夜间最大")."""
        parsed = [self._clauses(t) for t in texts[:SAMPLE]]
        asking = sum(asks for _clauses, asks in parsed)
        bodies = [["".join(clause) for clause in clauses] for clauses, _asks in parsed]
        info: dict[str, tuple[float, list[str]]] = {}
        for clauses, _asks in parsed[:CANDIDATE_TEXTS]:
            for clause in clauses:
                for phrase, words in _spans(clause, limit):
                    if phrase not in info:
                        content = [w for w in words if w not in EDGE_WORDS] or words
                        info[phrase] = (sum(self._idf(w) for w in words), content)
        holding: dict[str, list[tuple[int, int]]] = {}

        def where(word: str) -> list[tuple[int, int]]:
            if word not in holding:
                holding[word] = [
                    (t, c) for t, body in enumerate(bodies) for c, clause in enumerate(body) if word in clause
                ]
            return holding[word]

        ranked = []
        for phrase, (weight, content) in info.items():
            if weight <= 0:
                continue
            places = set(where(content[0]))
            for word in content[1:]:
                places &= set(where(word))
                if not places:
                    break
            first: dict[int, int] = {}
            for t, c in places:
                first[t] = min(first.get(t, c), c)
            if not first:
                continue
            share = len(first) / len(bodies)
            position = sum(first.values()) / len(first)
            ranked.append((share * share * weight / (1 + 0.3 * position), share, phrase))
        ranked.sort(key=lambda item: (-item[0], -item[1], item[2]))
        return ranked, asking

    # ------------------------------------------------------------------------------------------ titles

    def title(self, texts: Sequence[str], categories: Sequence[str] = ()) -> Title:
        """The title of one group; `categories` are its texts' category names (for the fallback)."""
        texts = [t for t in texts if t and t.strip()]
        if not texts:
            return Title("")
        place, shared = self._shared_place(texts)
        room = min(MAX_PHRASE, MAX_TITLE - (len(place) + 1 if place else 0))
        ranked, asking = self._phrases(texts, max(room, 4))
        needed = SHARED if len(texts) > 1 else 1.0
        # no word twice: a phrase that repeats part of the place ("老船长酒吧 酒吧的夜间经营") is skipped
        ranked = [r for r in ranked if not _overlaps(place, r[2])]
        found = next(((share, p) for score, share, p in ranked if share >= needed and score > 0), None)
        best = ""
        if found:
            # a longer phrase around it that most still say reads better: "增加助餐点", not "助餐点"
            top, best = found
            longer = [
                p
                for _score, share, p in ranked
                if best in p and share >= max(needed, top * LONGER_SHARE) and _plain(p) >= _plain(best)
            ]
            best = max(longer, key=len, default=best)
        keywords = _unique([*shared[:2], best]) if best else list(shared[:2])
        if best:
            if asking * 2 >= len(texts) and not re.search("咨询|询问", best) and len(best) + 2 <= room:
                best += "咨询"
            return Title(_join(place, best), place, best, keywords=keywords)
        # fallback: the most common category and the most common phrase ("物业管理：增加停车位等")
        category = Counter(c for c in categories if c).most_common(1)
        label = category[0][0] if category else ""
        label = label.split(" / ")[-1]
        by_share = sorted(ranked, key=lambda r: (-r[1], -r[0]))
        common = next((p for _score, _share, p in by_share if not _overlaps(label, p)), "")
        problem = f"{label}：{common}等" if label and common else (f"{common}等" if common else label)
        if len(problem) > room:
            problem = label or (common[: max(2, room - 1)] + "等" if common else "")
        if not problem:
            problem = _excerpt(strip_lead_in(normalize(texts[0])), room)
        return Title(_join(place, problem), place, problem, fallback=True, keywords=_unique([*shared[:2], common]))


@functools.cache
def governance_terms() -> frozenset[str]:
    """The terms of the community-governance user dictionary (userdict.txt): what a problem is called."""
    from ningju.insights.text.segment import USERDICT

    lines = USERDICT.read_text(encoding="utf-8").splitlines()
    return frozenset(line.split()[0] for line in lines if line.strip() and not line.startswith("#"))


def _spans(clause: list[str], limit: int) -> Iterable[tuple[str, list[str]]]:
    """Every run of whole words in a clause that may be a phrase: 2 to `limit` characters, at most `MAX_WORDS`
    words, no function word at either end, no word twice, not only digits."""
    for i, first in enumerate(clause):
        if first in EDGE_WORDS or first in LEAD_WORDS or first in NOISE_WORDS or not _cjk(first):
            continue
        length = 0
        for j in range(i, min(len(clause), i + MAX_WORDS)):
            length += len(clause[j])
            if length > limit:
                break
            last = clause[j]
            if last in EDGE_WORDS or last in NOISE_WORDS or not _cjk(last) or length < 2:
                continue
            if len(last) == 1 and j > i and last not in ONE_CHARACTER_ENDS:
                continue  # "经常有人乱" is cut off; "楼道灯" is not
            run = clause[i : j + 1]
            if len(set(run)) < len(run):
                break
            if len(run) == 1 and (last in GENERIC_WORDS or last in LEAD_WORDS):
                continue
            yield "".join(run), run


def _overlaps(place: str, phrase: str) -> bool:
    """Whether the phrase repeats two characters of the place in a row."""
    return any(place[i : i + 2] in phrase for i in range(len(place) - 1))


def _plain(phrase: str) -> bool:
    """A phrase without a question ("需要哪些材料") or a number ("24小时"): what a longer title may add."""
    return not _QUESTION.search(phrase) and not re.search(r"\d", phrase)


def _cjk(word: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in word)


def _specificity(place: str) -> int:
    """Shops in quotes and compounds before a road with its lane, before a bare road."""
    if place.endswith(ROAD_ENDINGS):
        return 0
    if re.search(r"\d", place):
        return 1
    return 2


def _is_compound(place: str) -> bool:
    return place.endswith((*COMPOUND_ENDINGS, "邨", "弄"))


def _join(place: str, problem: str) -> str:
    if not place:
        return problem[: MAX_TITLE + 4]
    if problem.startswith(place):
        return problem
    return f"{place} {problem}"


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def _excerpt(text: str, length: int) -> str:
    text = _CLAUSE.split(text)[0] if _CLAUSE.split(text) else text
    return text if len(text) <= length else text[: length - 1] + "…"


def title_for(texts: Sequence[str], background: Sequence[str] = (), places: Iterable[str] = ()) -> str:
    """One group's title without keeping a maker: "楼道灯损坏"."""
    return TitleMaker(background, places).title(texts).text

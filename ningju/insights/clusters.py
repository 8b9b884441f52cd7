"""Clusters of similar demands across a street (合并同类项) and the standing mechanisms (常态化响应机制) made from
them: proposing clusters with the text engine, a person's decisions (confirm, dismiss, split), creating and editing
mechanisms, and the reads their pages and the yearly report need (cluster rows, recurrence after a mechanism started).

A cluster only groups demands as one problem: confirming it never merges them, and each demand keeps its own
workflow (every resident still gets a callback). Merging a true duplicate stays the demand page's own step.
"""

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from django.core.paginator import Page, Paginator
from django.db import models, transaction
from django.db.models import Count, Max
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from scipy.stats import binomtest
from sklearn.feature_extraction.text import HashingVectorizer

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.jobs import Progress, job_start
from ningju.core.models import AuditAction, Job, JobKind, Role, User
from ningju.demands.models import Demand
from ningju.demands.workflow import State
from ningju.insights.models import Cluster, ClusterMember, ClusterStatus, Mechanism, Rhythm
from ningju.insights.text.cluster import PLACE_MISMATCH, PLACE_SHARED, WINDOW_DAYS, TopicDescriber, cluster
from ningju.insights.text.features import COMPOUND_ENDINGS, SHOP_ENDINGS, SimilarityVectorizer, place_keys
from ningju.registry.models import Building, Compound, Department, ResidentialArea, Street

# A group needs at least this many demands to be worth a person's look.
MIN_SIZE = 2
# The weekly proposal and the page's default look back this far.
WEEKLY_WINDOW_DAYS = 90
# Longer windows are years of unrelated matters; the engine's cost also grows with the square of the neighbours.
MAX_WINDOW_DAYS = 366
PAGE_SIZE = 50
SPARK = "▁▂▃▄▅▆▇█"
# Recency halves a cluster's rank after this many days without a new demand.
RECENCY_DAYS = 30
# A new demand recurs a mechanism's problem when its best similarity to one of the source cluster's demands reaches
# this, or the lower one when it names the shop the cluster is about. Read off the demo street's bar cluster: reports
# of that bar score 0.83–1.0, another bar of the same template 0.48, other matters on the same road up to 0.36,
# while re-worded reports naming the bar ("老船长酒吧加装隔音门窗") score 0.34.
RECURRENCE_THRESHOLD = 0.5
RECURRENCE_SHOP_THRESHOLD = 0.3

# A household's own address ("武定路500弄3号502室") says who reported, not what about: left in, every problem of one
# big compound became one cluster on the demo street (the engine raises the similarity of texts sharing a place).
# Other places (a bar, a road, a patrolled garbage room) stay: they are what a problem is about.
_HOUSEHOLD_ADDRESS = re.compile(r"[\u4e00-\u9fff]{1,6}?(?:路|街|巷|大道)(?:\d+弄)?(?:\d+支弄)?(?:\d+号)?\d+室")


def topic_text(text: str) -> str:
    """The text as clustering and recurrence compare it: without the reporter's household address."""
    return _HOUSEHOLD_ADDRESS.sub(" ", text)


# The audit action of the whole feature. `AuditAction.CLUSTER` ("合并同类项") is asked of core; until it exists the
# same stored value is written, so entries made before and after read the same.
CLUSTER_AUDIT = AuditAction.CLUSTER


class Measure(models.TextChoices):
    """The measures the article names; a mechanism may add its own in free text."""

    WHITE_BLACK = "white_black", gettext_lazy("白+黑")
    PATROL_GUARD = "patrol_guard", gettext_lazy("常态巡查+重点固守")
    EDUCATE_ENFORCE = "educate_enforce", gettext_lazy("宣教整治+执法检查")


def measure_labels(measures: Iterable[str]) -> list[str]:
    """A mechanism's measures as people read them: the article's by their label, free text as written."""
    labels = dict(Measure.choices)
    return [str(labels.get(m, m)) for m in measures]


def day_start(day: date) -> datetime:
    """Midnight of `day` in the project's time zone (Asia/Shanghai)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def window_last(days: int, today: date | None = None) -> tuple[date, date]:
    today = today or timezone.localdate()
    return today - timedelta(days=days - 1), today


def excerpt(text: str, length: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


# ---------------------------------------------------------------------------------------------------- proposing


def _check_window(start: date, end: date) -> None:
    if start > end:
        raise ApplicationError(_("统计起始日期不能晚于截止日期。"))
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise ApplicationError(_("统计区间最长一年，请缩短区间。"))


def _centroid_similarity(
    vectorizer: SimilarityVectorizer, texts: Sequence[str], groups: Sequence[list[int]]
) -> list[list[float]]:
    """Each member's cosine to its group's centroid: how typical it is of the group (the page sorts by it)."""
    out: list[list[float]] = []
    for group in groups:
        rows = vectorizer.sparse([texts[i] for i in group])
        centroid = np.asarray(rows.mean(axis=0)).ravel()
        norm = float(np.linalg.norm(centroid))
        scores = rows @ centroid / norm if norm else np.zeros(len(group))
        out.append([round(float(s), 3) for s in np.asarray(scores).ravel()])
    return out


def _decided(street: Street) -> tuple[set[int], list[frozenset[int]]]:
    """Demands already in a confirmed cluster, and the member sets a person said are not one problem."""
    confirmed: set[int] = set()
    dismissed: dict[int, set[int]] = defaultdict(set)
    rows = ClusterMember.objects.filter(
        cluster__street=street, cluster__status__in=[ClusterStatus.CONFIRMED, ClusterStatus.DISMISSED]
    ).values_list("cluster_id", "cluster__status", "demand_id")
    for cluster_id, status, demand_id in rows:
        if status == ClusterStatus.CONFIRMED:
            confirmed.add(demand_id)
        else:
            dismissed[cluster_id].add(demand_id)
    return confirmed, [frozenset(members) for members in dismissed.values()]


def clusters_propose(
    *,
    street: Street,
    start: date,
    end: date,
    user: User | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[Cluster]:
    """Group the street's demands received from `start` to `end` (both days included) into proposed clusters.

    Merged demands are left out (their original stands for them). A new run replaces the proposed clusters of any
    overlapping window, so the page never shows the same group twice; confirmed and dismissed clusters stay as a
    person left them, and a group is not proposed again when all its demands are already in a confirmed cluster
    or when a person dismissed it (or a larger group holding it) before. `user` is who asked (None: the weekly
    task); the proposals are not audited, the decisions on them are."""
    _check_window(start, end)
    report = progress or (lambda done, total, message: None)
    report(0, 3, _("正在读取诉求…"))
    rows = list(
        Demand.objects.filter(
            area__street=street,
            created_at__gte=day_start(start),
            created_at__lt=day_start(end + timedelta(days=1)),
        )
        .exclude(state=State.MERGED)
        .order_by("created_at", "pk")
        .values_list("pk", "text", "created_at", "category__name")
    )
    ids = [r[0] for r in rows]
    texts = [topic_text(r[1]) for r in rows]
    times = [r[2] for r in rows]
    categories = [r[3] or "" for r in rows]
    report(1, 3, _("正在分析 %(count)d 条诉求…") % {"count": len(rows)})
    # The window a person chose is the time window: a problem that comes back over 90 days is one problem.
    labels = cluster(ids, texts, times, window_days=max(WINDOW_DAYS, (end - start).days + 1)) if rows else {}
    positions: dict[str, list[int]] = defaultdict(list)
    for position, demand_id in enumerate(ids):
        positions[labels[demand_id]].append(position)
    confirmed, dismissed = _decided(street)
    groups = []
    for group in positions.values():
        members = frozenset(ids[i] for i in group)
        if len(group) < MIN_SIZE or members <= confirmed or any(members <= d for d in dismissed):
            continue
        groups.append(group)
    groups.sort(key=lambda g: (-len(g), g[0]))
    report(2, 3, _("正在保存结果…"))
    similarities = _centroid_similarity(SimilarityVectorizer().fit(texts), texts, groups) if groups else []
    describer = TopicDescriber(texts, street_places(street))
    now = timezone.now()
    clusters = [
        Cluster(
            street=street,
            title=_title(describer, [texts[i] for i in group], [categories[i] for i in group]),
            status=ClusterStatus.PROPOSED,
            window_start=start,
            window_end=end,
            created_at=now,
        )
        for group in groups
    ]
    with transaction.atomic():
        Cluster.objects.filter(
            street=street, status=ClusterStatus.PROPOSED, window_start__lte=end, window_end__gte=start
        ).delete()
        Cluster.objects.bulk_create(clusters)
        ClusterMember.objects.bulk_create(
            ClusterMember(cluster=c, demand_id=ids[i], similarity=s)
            for c, group, sims in zip(clusters, groups, similarities, strict=True)
            for i, s in zip(group, sims, strict=True)
        )
    report(3, 3, "")
    return clusters


def street_places(street: Street) -> list[str]:
    """The street's own place names, which titles recognise wherever a text names them: its compounds, the roads
    of its buildings and the residential areas named like a compound (恒德里, 三星坊)."""
    compounds = Compound.objects.filter(area__street=street).values_list("name", flat=True)
    roads = Building.objects.filter(compound__area__street=street).values_list("road", flat=True).distinct()
    areas = ResidentialArea.objects.filter(street=street).values_list("name", flat=True)
    named = (*COMPOUND_ENDINGS, "邨", "坊")
    return sorted({*compounds, *(r for r in roads if r), *(a for a in areas if a.endswith(named))})


def _title(describer: TopicDescriber, texts: list[str], categories: list[str]) -> str:
    """The place and the problem ("静安悦庭苑 夜间噪音"); the first text when the engine finds nothing."""
    title = describer.describe(texts, categories=categories).strip()
    return (title or excerpt(texts[0], 30))[:200]


def clusters_analyse_start(*, user: User, start: date, end: date) -> Job:
    """Queue a proposal run for the administrator's street; its page shows the progress."""
    scoping.require_street_admin(user)
    _check_window(start, end)
    return job_start(
        kind=JobKind.CLUSTERS,
        handler=clusters_job,
        user=user,
        params={"street": user.street_id, "start": start.isoformat(), "end": end.isoformat()},
    )


def clusters_job(job: Job, progress: Progress) -> dict[str, Any]:
    """The job behind "重新分析": propose clusters for one street and window."""
    street = Street.objects.get(pk=job.params["street"])
    start, end = date.fromisoformat(job.params["start"]), date.fromisoformat(job.params["end"])
    found = clusters_propose(street=street, start=start, end=end, user=job.created_by, progress=progress)
    summary = [
        _("%(title)s — %(count)d 条") % {"title": c.title, "count": n}
        for c, n in _sizes(found)[:10]  # the largest: the page lists them all
    ]
    return {
        "message": _("%(start)s 至 %(end)s：发现 %(count)d 组待确认的同类诉求。")
        % {"start": start, "end": end, "count": len(found)},
        "summary": summary,
        "url": reverse("cluster_list"),
        "clusters": len(found),
    }


def _sizes(clusters: list[Cluster]) -> list[tuple[Cluster, int]]:
    counts = dict(
        ClusterMember.objects.filter(cluster__in=clusters)
        .values_list("cluster_id")
        .annotate(n=Count("pk"))
        .values_list("cluster_id", "n")
    )
    return sorted(((c, counts.get(c.pk, 0)) for c in clusters), key=lambda item: -item[1])


def clusters_propose_weekly(*, today: date | None = None) -> int:
    """Every street's last 90 days (the weekly task), and fresh titles for its decided clusters; returns how many
    clusters were proposed."""
    start, end = window_last(WEEKLY_WINDOW_DAYS, today)
    proposed = 0
    for street in Street.objects.all():
        proposed += len(clusters_propose(street=street, start=start, end=end))
        clusters_retitle(street)
    return proposed


def clusters_retitle(street: Street) -> int:
    """Title the street's confirmed and dismissed clusters again from their demands, as new proposals are titled
    (a title is the engine's, never typed by a person; a mechanism keeps the name it was given). Returns how many
    titles changed."""
    decided = list(Cluster.objects.filter(street=street).exclude(status=ClusterStatus.PROPOSED))
    if not decided:
        return 0
    members: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for cluster_id, text, category in ClusterMember.objects.filter(cluster__in=decided).values_list(
        "cluster_id", "demand__text", "demand__category__name"
    ):
        members[cluster_id].append((topic_text(text), category or ""))
    background = [topic_text(t) for t in Demand.objects.filter(area__street=street).values_list("text", flat=True)]
    describer = TopicDescriber(background, street_places(street))
    changed = []
    for c in decided:
        rows = members[c.pk]
        if len(rows) < MIN_SIZE:
            continue
        title = _title(describer, [t for t, _c in rows], [k for _t, k in rows])
        if title != c.title:
            c.title = title
            changed.append(c)
    Cluster.objects.bulk_update(changed, ["title"])
    return len(changed)


# ---------------------------------------------------------------------------------------------------- decisions


def _locked(user: User, cluster_id: int) -> Cluster:
    scoping.require_street_admin(user)
    return scoping.get_for_user(user, Cluster.objects.select_for_update(), pk=cluster_id)


def _decide(cluster: Cluster, status: str, user: User | None) -> None:
    cluster.status = status
    cluster.decided_by = user
    cluster.decided_at = timezone.now()
    cluster.save(update_fields=["status", "decided_by", "decided_at"])


def _audit(user: User | None, cluster: Cluster, request: HttpRequest | None, **detail: Any) -> None:
    if user is not None:
        audit(user=user, action=CLUSTER_AUDIT, target=cluster, detail=detail, request=request)


def _member_ids(cluster: Cluster) -> list[int]:
    return list(
        ClusterMember.objects.filter(cluster=cluster).order_by("demand_id").values_list("demand_id", flat=True)
    )


@transaction.atomic
def cluster_confirm(*, user: User, cluster_id: int, request: HttpRequest | None = None) -> Cluster:
    """确认同类: the demands are one problem. They stay in their own workflows; nothing is merged."""
    cluster = _locked(user, cluster_id)
    if cluster.status == ClusterStatus.CONFIRMED:
        raise ApplicationError(_("该组同类诉求已经确认过了。"))
    _confirm(cluster, user, request)
    return cluster


def _confirm(cluster: Cluster, user: User | None, request: HttpRequest | None) -> None:
    was = cluster.status
    _decide(cluster, ClusterStatus.CONFIRMED, user)
    _audit(user, cluster, request, what="cluster_confirm", was=was, demands=_member_ids(cluster))


@transaction.atomic
def cluster_dismiss(*, user: User, cluster_id: int, request: HttpRequest | None = None) -> Cluster:
    """不是同类: the group is kept (so it is not proposed again) but leaves the list of open proposals."""
    cluster = _locked(user, cluster_id)
    if cluster.status == ClusterStatus.DISMISSED:
        raise ApplicationError(_("该组已经标记为不是同类。"))
    was = cluster.status
    _decide(cluster, ClusterStatus.DISMISSED, user)
    _audit(user, cluster, request, what="cluster_dismiss", was=was, demands=_member_ids(cluster))
    return cluster


@transaction.atomic
def cluster_split(
    *,
    user: User,
    cluster_id: int,
    demand_ids: Sequence[int],
    new_cluster: bool = False,
    request: HttpRequest | None = None,
) -> tuple[Cluster, Cluster | None]:
    """拆分: take the chosen demands out of the cluster, optionally into a new proposed cluster of their own.

    A cluster left with fewer than `MIN_SIZE` demands is no group any more: it becomes dismissed."""
    cluster = _locked(user, cluster_id)
    if cluster.status == ClusterStatus.DISMISSED:
        raise ApplicationError(_("已标记为不是同类的组不能再拆分。"))
    members = _member_ids(cluster)
    chosen = sorted(set(demand_ids))
    if not chosen:
        raise ApplicationError(_("请先勾选要拆出的诉求。"))
    if not set(chosen) <= set(members):
        raise ApplicationError(_("勾选的诉求不在这组同类诉求中，请刷新页面后重试。"))
    if len(chosen) == len(members):
        raise ApplicationError(_("不能拆出全部诉求；如整组都不是同类，请点“不是同类”。"))
    if new_cluster and len(chosen) < MIN_SIZE:
        raise ApplicationError(_("另立一组至少需要勾选 %(min)d 条诉求。") % {"min": MIN_SIZE})
    moved = list(ClusterMember.objects.filter(cluster=cluster, demand_id__in=chosen))
    ClusterMember.objects.filter(pk__in=[m.pk for m in moved]).delete()
    split_off = None
    if new_cluster:
        rows = Demand.objects.filter(pk__in=chosen).values_list("text", "category__name")
        texts, categories = [topic_text(t) for t, _c in rows], [c or "" for _t, c in rows]
        split_off = Cluster.objects.create(
            street=cluster.street,
            title=_title(TopicDescriber(places=street_places(cluster.street)), texts, categories),
            status=ClusterStatus.PROPOSED,
            window_start=cluster.window_start,
            window_end=cluster.window_end,
        )
        ClusterMember.objects.bulk_create(
            ClusterMember(cluster=split_off, demand_id=m.demand_id, similarity=m.similarity) for m in moved
        )
    left = len(members) - len(chosen)
    if left < MIN_SIZE:
        _decide(cluster, ClusterStatus.DISMISSED, user)
    _audit(
        user,
        cluster,
        request,
        what="cluster_split",
        removed=chosen,
        new_cluster=split_off.pk if split_off else None,
        left=left,
        status=cluster.status,
    )
    return cluster, split_off


# ---------------------------------------------------------------------------------------------------- mechanisms


@dataclass(frozen=True)
class MechanismData:
    """What the mechanism form collects, validated against the street by the services below."""

    name: str
    measures: list[str]
    description: str
    owners: list[User]
    departments: list[Department]
    areas: list[ResidentialArea]
    rhythm: str
    started_on: date
    keywords: str


def owner_choices(
    street: Street, areas: Iterable[ResidentialArea], keep: Iterable[int] = ()
) -> "models.QuerySet[User]":
    """Who may own a mechanism: the street's administrators and the heads and cadres of its areas (and whoever
    already owns it, so an edit never drops an owner silently)."""
    return (
        User.objects.filter(is_active=True)
        .filter(
            models.Q(role=Role.STREET_ADMIN, street=street)
            | models.Q(role__in=scoping.AREA_ROLES, area__in=[a.pk for a in areas], area__street=street)
            | models.Q(pk__in=list(keep))
        )
        .select_related("area")
        .order_by("role", "area__code", "username")
    )


def mechanism_initial(cluster: Cluster) -> dict[str, Any]:
    """The form's prefill from a confirmed cluster: its title as the name, its areas, its places and topic words."""
    areas = list(
        ResidentialArea.objects.filter(pk__in=ClusterMember.objects.filter(cluster=cluster).values("demand__area"))
    )
    return {
        "name": cluster.title[:200],
        "areas": areas,
        "keywords": cluster.title[:300],
        "rhythm": Rhythm.WEEKLY,
        "started_on": timezone.localdate(),
        "owners": [],
    }


def _check_mechanism(street: Street, data: MechanismData) -> None:
    if not data.name.strip():
        raise ApplicationError(_("请填写机制名称。"))
    if not data.measures:
        raise ApplicationError(_("请至少选择或填写一项措施。"))
    if any(a.street_id != street.pk for a in data.areas):
        raise ApplicationError(_("涉及居民区必须属于本街道。"))
    if any(d.street_id != street.pk for d in data.departments):
        raise ApplicationError(_("责任部门必须属于本街道。"))
    if any(scoping.user_street_id(u) != street.pk for u in data.owners):
        raise ApplicationError(_("责任人必须是本街道的工作人员。"))
    if data.rhythm not in Rhythm.values:
        raise ApplicationError(_("请选择巡查频次。"))


def _write_mechanism(mechanism: Mechanism, data: MechanismData) -> None:
    mechanism.owners.set(data.owners)
    mechanism.departments.set(data.departments)
    mechanism.areas.set(data.areas)


@transaction.atomic
def mechanism_create(
    *, user: User, cluster_id: int, data: MechanismData, request: HttpRequest | None = None
) -> Mechanism:
    """建立常态化机制 from a confirmed cluster of the administrator's street."""
    cluster = _locked(user, cluster_id)
    if cluster.status != ClusterStatus.CONFIRMED:
        raise ApplicationError(_("只有已确认的同类诉求可以建立常态化机制。"))
    return _create_mechanism(cluster, data, user, request)


def _create_mechanism(
    cluster: Cluster, data: MechanismData, user: User | None, request: HttpRequest | None
) -> Mechanism:
    street = cluster.street
    _check_mechanism(street, data)
    mechanism = Mechanism.objects.create(
        street=street,
        cluster=cluster,
        name=data.name.strip()[:200],
        measures=data.measures,
        description=data.description.strip(),
        rhythm=data.rhythm,
        keywords=data.keywords.strip()[:300],
        started_on=data.started_on,
        created_by=user,
    )
    _write_mechanism(mechanism, data)
    _audit(user, cluster, request, what="mechanism_create", mechanism=mechanism.pk, name=mechanism.name)
    return mechanism


@transaction.atomic
def mechanism_update(
    *, user: User, mechanism_id: int, data: MechanismData, active: bool, request: HttpRequest | None = None
) -> Mechanism:
    """Edit a mechanism, or stop it (`active` False: it stays on the list and in reports, marked stopped)."""
    scoping.require_street_admin(user)
    mechanism = scoping.get_for_user(user, Mechanism.objects.select_for_update(), pk=mechanism_id)
    _check_mechanism(mechanism.street, data)
    mechanism.name = data.name.strip()[:200]
    mechanism.measures = data.measures
    mechanism.description = data.description.strip()
    mechanism.rhythm = data.rhythm
    mechanism.keywords = data.keywords.strip()[:300]
    mechanism.started_on = data.started_on
    mechanism.active = active
    mechanism.save(update_fields=["name", "measures", "description", "rhythm", "keywords", "started_on", "active"])
    _write_mechanism(mechanism, data)
    audit(
        user=user,
        action=CLUSTER_AUDIT,
        target=mechanism,
        detail={"what": "mechanism_update", "active": active},
        request=request,
    )
    return mechanism


# ---------------------------------------------------------------------------------------------------- reads


@dataclass
class ClusterRow:
    """One line of the clusters page: "title — N demands, M areas, trend, status"."""

    cluster: Cluster
    size: int
    areas: int
    latest: datetime | None
    score: float
    trend: "Trend | None" = None

    @property
    def spark(self) -> str:
        return self.trend.spark if self.trend else ""

    @property
    def rising(self) -> bool:
        return self.trend is not None and self.trend.direction == UP


def cluster_rows(user: User, status: str = "", today: date | None = None) -> list[ClusterRow]:
    """The user's clusters ranked by size × recency (a big group still growing first); `status` "" is every one
    but the dismissed, "all" really all. Trends are left to `cluster_trends` for the page being shown."""
    today = today or timezone.localdate()
    queryset = scoping.visible(user, Cluster.objects.all())
    if status == "all":
        pass
    elif status in ClusterStatus.values:
        queryset = queryset.filter(status=status)
    else:
        queryset = queryset.exclude(status=ClusterStatus.DISMISSED)
    queryset = queryset.annotate(
        size=Count("members", distinct=True),
        area_count=Count("members__demand__area", distinct=True),
        latest=Max("members__demand__created_at"),
    ).select_related("decided_by")
    rows = []
    for c in queryset:
        latest = cast(datetime | None, c.latest)
        age = (today - timezone.localtime(latest).date()).days if latest else 365
        size = cast(int, c.size)
        score = size / (1 + max(0, age) / RECENCY_DAYS)
        rows.append(ClusterRow(c, size, cast(int, c.area_count), latest, score))
    rows.sort(key=lambda r: (-r.score, -r.size, -r.cluster.pk))
    return rows


def sparkline(counts: Sequence[int]) -> str:
    """Counts as block characters, ▁ for none: a trend a phone shows without a chart."""
    top = max(counts, default=0)
    if not top:
        return SPARK[0] * len(counts)
    return "".join(SPARK[0] if not n else SPARK[max(1, round(n / top * (len(SPARK) - 1)))] for n in counts)


UP, FLAT, DOWN = "up", "flat", "down"


@dataclass(frozen=True)
class Trend:
    """A cluster's demands over its window: the sparkline's counts and whether the last days rose significantly.

    The test is an exact conditional binomial test: if demands came at a constant rate over the window, the number
    in the last `recent_days`, given the window's total, would be Binomial(total, recent_days / window days).
    上升 when the chance of at least as many is below `TREND_P`, 下降 when the chance of at most as many is, and
    持平 otherwise (also when there are too few demands to tell)."""

    counts: list[int]
    unit: str  # "week" or "month": what one bar counts
    first_bucket: date
    recent: int
    earlier: int
    recent_days: int
    earlier_days: int
    p_value: float
    direction: str

    @property
    def spark(self) -> str:
        return sparkline(self.counts)

    @property
    def label(self) -> str:
        return str(TREND_LABELS[self.direction])

    @property
    def caption(self) -> str:
        """What the bars are, visible next to them: "每周条数（13周）"."""
        if self.unit == "month":
            return _("每月条数（%(n)d个月）") % {"n": len(self.counts)}
        return _("每周条数（%(n)d周）") % {"n": len(self.counts)}

    @property
    def description(self) -> str:
        """The sparkline as text, for a screen reader and the tooltip: every bar's count."""
        counts = "、".join(str(n) for n in self.counts)
        if self.unit == "month":
            return _("自%(start)s起每月诉求条数：%(counts)s") % {
                "start": f"{self.first_bucket:%Y-%m}",
                "counts": counts,
            }
        return _("自%(start)s起每周诉求条数：%(counts)s") % {
            "start": self.first_bucket.isoformat(),
            "counts": counts,
        }

    @property
    def explanation(self) -> str:
        """The numbers behind 上升/持平/下降: "近30天 5 条，此前60天 3 条（p=0.02）"."""
        return _("近%(recent_days)d天 %(recent)d 条，此前%(earlier_days)d天 %(earlier)d 条（p=%(p).2f）") % {
            "recent_days": self.recent_days,
            "recent": self.recent,
            "earlier_days": self.earlier_days,
            "earlier": self.earlier,
            "p": self.p_value,
        }


TREND_LABELS = {UP: gettext_lazy("上升"), FLAT: gettext_lazy("持平"), DOWN: gettext_lazy("下降")}
# The last this many days are compared with the rest of the window (half of a window shorter than twice this).
TREND_RECENT_DAYS = 30
TREND_P = 0.05
# Windows up to this many days draw one bar a week, longer ones one a month.
WEEKLY_BARS_UP_TO = 13 * 7


def cluster_trends(rows: Sequence[ClusterRow]) -> None:
    """Fill each row's trend (sparkline and 上升/持平/下降), with one query for all rows."""
    by_cluster: dict[int, list[date]] = defaultdict(list)
    for cluster_id, created in ClusterMember.objects.filter(cluster__in=[r.cluster for r in rows]).values_list(
        "cluster_id", "demand__created_at"
    ):
        by_cluster[cluster_id].append(timezone.localtime(created).date())
    for row in rows:
        row.trend = trend(row.cluster.window_start, row.cluster.window_end, by_cluster[row.cluster.pk])


def _bars(start: date, end: date, days: Sequence[date]) -> tuple[list[int], str, date]:
    length = (end - start).days + 1
    if length <= WEEKLY_BARS_UP_TO:
        counts = [0] * math.ceil(length / 7)
        for day in days:
            offset = min(max((day - start).days, 0), length - 1)
            counts[offset // 7] += 1
        return counts, "week", start
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    counts = [0] * months
    for day in days:
        day = min(max(day, start), end)
        counts[(day.year - start.year) * 12 + day.month - start.month] += 1
    return counts, "month", start.replace(day=1)


def trend(start: date, end: date, days: Sequence[date]) -> Trend:
    """The trend of demands received on `days` over the window from `start` to `end` (both included)."""
    length = (end - start).days + 1
    recent_days = TREND_RECENT_DAYS if length >= 2 * TREND_RECENT_DAYS else max(1, length // 2)
    earlier_days = length - recent_days
    cut = end - timedelta(days=recent_days - 1)
    recent = sum(1 for d in days if d >= cut)
    earlier = len(days) - recent
    total = recent + earlier
    direction, p_value = FLAT, 1.0
    if total and earlier_days > 0:
        share = recent_days / length
        p_up = float(binomtest(recent, total, share, alternative="greater").pvalue)
        p_down = float(binomtest(recent, total, share, alternative="less").pvalue)
        p_value = min(p_up, p_down)
        if p_up < TREND_P:
            direction = UP
        elif p_down < TREND_P:
            direction = DOWN
    counts, unit, first = _bars(start, end, days)
    return Trend(counts, unit, first, recent, earlier, recent_days, earlier_days, p_value, direction)


def cluster_page(user: User, status: str, number: str | int | None) -> Page[ClusterRow]:
    page = Paginator(cluster_rows(user, status), PAGE_SIZE).get_page(number)
    cluster_trends(list(page.object_list))
    return page


@dataclass(frozen=True)
class MemberRow:
    member: ClusterMember
    demand: Demand
    elsewhere: list[int]  # other confirmed clusters holding this demand


def cluster_members(cluster: Cluster) -> list[MemberRow]:
    """The cluster's demands oldest first, each with the other confirmed clusters it already belongs to."""
    members = list(
        ClusterMember.objects.filter(cluster=cluster)
        .select_related("demand__area", "demand__category")
        .order_by("demand__created_at", "demand_id")
    )
    elsewhere: dict[int, list[int]] = defaultdict(list)
    for demand_id, cluster_id in (
        ClusterMember.objects.filter(
            demand_id__in=[m.demand_id for m in members], cluster__status=ClusterStatus.CONFIRMED
        )
        .exclude(cluster=cluster)
        .values_list("demand_id", "cluster_id")
    ):
        elsewhere[demand_id].append(cluster_id)
    return [MemberRow(m, m.demand, elsewhere[m.demand_id]) for m in members]


@dataclass(frozen=True)
class RecurrenceMatch:
    demand: Demand
    score: float


@dataclass(frozen=True)
class Recurrence:
    """Whether a mechanism's problem comes back: matching demands since it started against the same length before.

    `method` is "similarity" (compared with the source cluster's demands) or "keywords" (the cluster is gone)."""

    since: date
    until: date
    before_since: date
    matches: list[RecurrenceMatch]
    before: int
    months: list[tuple[str, int]]
    method: str
    keywords: list[str] = field(default_factory=list)

    @property
    def after(self) -> int:
        return len(self.matches)


def _place_matrix(texts: Sequence[str]) -> sp.csr_matrix:
    hasher = HashingVectorizer(analyzer=place_keys, n_features=2**18, alternate_sign=False, norm=None, binary=True)
    return hasher.transform(texts).tocsr()


def similarity_to(references: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """For each text its best similarity to any reference text, place-aware like the clustering: a shared place
    raises it, two different named places cut it ("噪音" at 常德路 is not "噪音" at 康定路)."""
    if not references or not texts:
        return np.zeros(len(texts))
    references = [topic_text(t) for t in references]
    texts = [topic_text(t) for t in texts]
    vectorizer = SimilarityVectorizer().fit([*references, *texts])
    scores = (vectorizer.sparse(texts) @ vectorizer.sparse(references).T).toarray()
    places_t, places_r = _place_matrix(texts), _place_matrix(references)
    shared = (places_t @ places_r.T).toarray() > 0
    named_t = np.asarray(places_t.sum(axis=1)).ravel() > 0
    named_r = np.asarray(places_r.sum(axis=1)).ravel() > 0
    scores[named_t[:, None] & named_r[None, :] & ~shared] *= PLACE_MISMATCH
    scores[shared] = np.minimum(1.0, scores[shared] * PLACE_SHARED)
    return np.asarray(scores.max(axis=1)).ravel()


def key_shops(references: Sequence[str]) -> list[str]:
    """The shops (a bar, a restaurant, a building site) named in at least half of the references: what they are about."""
    # place keys, not `extract_places`: no segmenter to load on a page view, and any spelling of the name will do
    counts = Counter(k for text in references for k in set(place_keys(text)) if k.endswith(SHOP_ENDINGS))
    return [k for k, n in counts.items() if n * 2 >= len(references)]


def recurring(references: Sequence[str], texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(score, matched) of each text against a cluster's demands: similar enough, or naming its shop and fairly
    similar."""
    scores = similarity_to(references, texts)
    shops = key_shops(references)
    names_shop = np.array([any(shop in text for shop in shops) for text in texts], dtype=bool)
    matched = (scores >= RECURRENCE_THRESHOLD) | (names_shop & (scores >= RECURRENCE_SHOP_THRESHOLD))
    return scores, matched


def _keyword_scores(keywords: list[str], texts: Sequence[str]) -> np.ndarray:
    """Share of the keywords a text contains; a text that names none of the keyword places does not match."""
    places = [k for k in keywords if place_keys(k)]
    out = np.zeros(len(texts))
    for i, text in enumerate(texts):
        if places and not any(p in text for p in places):
            continue
        hits = sum(1 for k in keywords if k in text)
        if hits >= min(2, len(keywords)):
            out[i] = hits / len(keywords)
    return out


def _months(since: date, until: date, days: Iterable[date]) -> list[tuple[str, int]]:
    counts = Counter(f"{d:%Y-%m}" for d in days)
    out = []
    year, month = since.year, since.month
    while (year, month) <= (until.year, until.month):
        key = f"{year:04d}-{month:02d}"
        out.append((key, counts.get(key, 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def mechanism_recurrence(mechanism: Mechanism, *, today: date | None = None) -> Recurrence:
    """Demands received since the mechanism started, in its areas (or its whole street without areas), that match
    its problem; and how many matched in the same number of days before it started. The source cluster's own
    demands and merged repeats are not counted."""
    today = today or timezone.localdate()
    since = mechanism.started_on
    until = max(today, since)
    length = (until - since).days + 1
    before_since = since - timedelta(days=length)
    demands = Demand.objects.filter(area__street=mechanism.street_id).exclude(state=State.MERGED)
    area_ids = list(mechanism.areas.values_list("pk", flat=True))
    if area_ids:
        demands = demands.filter(area_id__in=area_ids)
    references: list[str] = []
    if mechanism.cluster_id is not None:
        members = ClusterMember.objects.filter(cluster_id=mechanism.cluster_id)
        references = list(members.values_list("demand__text", flat=True))
        demands = demands.exclude(pk__in=members.values("demand_id"))
    candidates = list(
        demands.filter(
            created_at__gte=day_start(before_since), created_at__lt=day_start(until + timedelta(days=1))
        ).values_list("pk", "text", "created_at")
    )
    texts = [c[1] for c in candidates]
    keywords = mechanism.keywords.split()
    if references:
        method = "similarity"
        scores, matched = recurring(references, texts)
    elif keywords:
        method, scores = "keywords", _keyword_scores(keywords, texts)
        matched = scores > 0
    else:
        method, scores, matched = "none", np.zeros(len(texts)), np.zeros(len(texts), dtype=bool)
    start = day_start(since)
    after: dict[int, float] = {}
    before = 0
    for (pk, _text, created), hit, score in zip(candidates, matched, scores, strict=True):
        if not hit:
            continue
        if created >= start:
            after[pk] = float(score)
        else:
            before += 1
    found = (
        Demand.objects.filter(pk__in=list(after)).select_related("area", "category").order_by("-created_at", "-pk")
    )
    matches = [RecurrenceMatch(d, round(after[d.pk], 3)) for d in found]
    months = _months(since, until, (timezone.localtime(m.demand.created_at).date() for m in matches))
    return Recurrence(since, until, before_since, matches, before, months, method, keywords)


def mechanism_rows(user: User) -> "models.QuerySet[Mechanism]":
    return (
        scoping.visible(user, Mechanism.objects.all())
        .select_related("cluster")
        .prefetch_related("areas", "owners", "departments")
        .distinct()
    )


# ---------------------------------------------------------------------------------------------------- demo


def demo_mechanism(street: Street, *, today: date | None = None) -> Mechanism | None:
    """For the demo: propose clusters of the three months before a mechanism started three months ago, confirm the
    largest one about a bar (酒吧) and give it a "白+黑" mechanism owned by the street's administrators and the heads
    of the cluster's areas, so its page compares the months since with the months before. Independent of the
    page's own last-90-days proposals (the windows do not overlap); returns None when the street has no bar cluster
    or it already has a mechanism."""
    today = today or timezone.localdate()
    started = today - timedelta(days=91)
    clusters_propose(
        street=street, start=started - timedelta(days=WEEKLY_WINDOW_DAYS), end=started - timedelta(days=1)
    )
    # about a bar: most of its demands name one (its title names the problem, not always the bar)
    bar = models.Q()
    for word in ("酒吧", "酒馆", "清吧", "酒廊"):
        bar |= models.Q(members__demand__text__contains=word)
    candidates = (
        Cluster.objects.filter(street=street)
        .exclude(status=ClusterStatus.DISMISSED)
        .annotate(
            size=Count("members"), bars=Count("members", filter=bar), before=models.Q(window_end__lt=started)
        )
        .filter(bars__gt=0)
        .order_by("-before", "-size", "pk")
    )
    chosen = next((c for c in candidates if c.bars * 2 >= c.size), None)
    if chosen is None or chosen.mechanisms.exists():
        return None
    admin = User.objects.filter(role=Role.STREET_ADMIN, street=street, is_active=True).order_by("pk").first()
    if chosen.status != ClusterStatus.CONFIRMED:
        _confirm(chosen, admin, None)
    # the earlier window served only to find the bar: its other proposals would crowd the page's current ones
    if chosen.window_end < started:
        Cluster.objects.filter(
            street=street,
            status=ClusterStatus.PROPOSED,
            window_start=chosen.window_start,
            window_end=chosen.window_end,
        ).delete()
    initial = mechanism_initial(chosen)
    areas: list[ResidentialArea] = initial["areas"]
    owners = [u for u in owner_choices(street, areas) if u.role == Role.STREET_ADMIN or u.role == Role.AREA_HEAD]
    departments = list(Department.objects.filter(street=street, active=True, name__contains="城管")[:1])
    data = MechanismData(
        name=_("%(title)s “白+黑”巡查") % {"title": chosen.title},
        measures=[Measure.WHITE_BLACK.value, Measure.PATROL_GUARD.value],
        description=_("白天由居民区干部巡查，夜间由城管、派出所联合巡查，重点时段定点值守。"),
        owners=owners,
        departments=departments,
        areas=areas,
        rhythm=Rhythm.WEEKLY,
        started_on=started,
        keywords=initial["keywords"],
    )
    with transaction.atomic():
        return _create_mechanism(chosen, data, admin, None)

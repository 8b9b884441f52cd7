"""The demo's insights: a trained category classifier, a standing mechanism with the months before and after it,
proposed clusters of the last 90 days, and the daily rollups of the year — so every insight page has data at once."""

import time
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.insights.clusters import clusters_propose, demo_mechanism
from ningju.insights.rollups import rollups_refresh
from ningju.insights.training import classifier_train
from ningju.registry.models import Street

CLUSTER_WINDOW_DAYS = 90


@dataclass(frozen=True)
class InsightsDemoResult:
    samples: int
    labels: int
    mechanism: str
    clusters: int
    rollup_rows: int
    seconds: float

    def lines(self) -> list[str]:
        return [
            _("诉求分类模型：%(samples)d条样本，%(labels)d个分类")
            % {"samples": self.samples, "labels": self.labels},
            _("常态化机制：%(name)s") % {"name": self.mechanism or _("（无）")},
            _("近%(days)d天同类诉求%(clusters)d组；每日汇总%(rows)d行")
            % {"days": CLUSTER_WINDOW_DAYS, "clusters": self.clusters, "rows": self.rollup_rows},
        ]


def demo_insights(*, street: Street, today: date) -> InsightsDemoResult:
    """Build the demo street's insights from its visits and demands (which must exist already)."""
    began = time.monotonic()
    try:
        model = classifier_train(street=street)
        samples, labels = model.samples, model.labels
    except ApplicationError:
        samples = labels = 0  # too few categorised demands (a tiny demo): suggestions stay off
    mechanism = demo_mechanism(street, today=today)
    clusters = clusters_propose(street=street, start=today - timedelta(days=CLUSTER_WINDOW_DAYS - 1), end=today)
    rollups = rollups_refresh(street=street, start=today - timedelta(days=365), end=today)
    return InsightsDemoResult(
        samples=samples,
        labels=labels,
        mechanism=mechanism.name if mechanism else "",
        clusters=len(clusters),
        rollup_rows=rollups.daily_rows,
        seconds=time.monotonic() - began,
    )

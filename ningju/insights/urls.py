"""Insight pages: each views module lists its own URLs."""

from ningju.insights.views import clusters, dashboards, report, suggest

urlpatterns = [*suggest.urlpatterns, *clusters.urlpatterns, *dashboards.urlpatterns, *report.urlpatterns]

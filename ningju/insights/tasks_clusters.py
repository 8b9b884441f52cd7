"""Periodic task of the clusters of similar demands: every Monday night, propose clusters of each street's last 90
days, so the street administrator finds a fresh list when the week starts."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ningju.insights.clusters import clusters_propose_weekly


@db_periodic_task(crontab(day_of_week="1", hour="2", minute="40"))
def propose_clusters_weekly_task() -> None:
    clusters_propose_weekly()

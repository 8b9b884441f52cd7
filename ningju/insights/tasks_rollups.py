"""Periodic refresh of the dashboards' rollups: today every 15 minutes (the dashboard says when), and each night
the last two weeks, so late edits and first-contact deadlines that ran out over a long holiday are counted."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ningju.insights.dashboards import dashboards_warm
from ningju.insights.report import report_warm
from ningju.insights.rollups import refresh_recent, refresh_today
from ningju.registry.models import Street


@db_periodic_task(crontab(minute="*/15"))
def refresh_today_rollups_task() -> None:
    for street in Street.objects.all():
        refresh_today(street=street)
        dashboards_warm(street)  # the refresh started a new cache generation: fill it before readers come
        report_warm(street)  # this year's reports of the street and its areas, likewise


@db_periodic_task(crontab(hour="1", minute="7"))
def refresh_recent_rollups_task() -> None:
    for street in Street.objects.all():
        refresh_recent(street=street)

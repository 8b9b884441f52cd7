"""Huey tasks of the demands app: the overdue check every 15 minutes (the worker started by `ningju serve`)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ningju.demands.overdue import demands_flag_overdue


@db_periodic_task(crontab(minute="*/15"))
def flag_overdue_task() -> None:
    demands_flag_overdue()

"""Huey tasks of the meetings app: the month-end troika reminder (the worker started by `ningju serve`)."""

from django.urls import reverse
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ningju.meetings.troika import troika_remind


@db_periodic_task(crontab(day="20-31", hour="9", minute="0"))
def troika_remind_task() -> None:
    # Runs daily late in the month; the service acts only when 5 working days or fewer remain, and each compound-month
    # is told once (the notice key), so a rerun or a retried day tells nobody twice.
    troika_remind(url=reverse("troika_grid"))

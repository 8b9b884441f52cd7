"""Huey tasks of the meetings app: the month-end troika reminder and the scorecards kept warm (the worker started by
`ningju serve`)."""

from django.urls import reverse
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ningju.meetings.assessment import scorecards_warm
from ningju.meetings.troika import troika_remind
from ningju.registry.models import Street


@db_periodic_task(crontab(day="20-31", hour="9", minute="0"))
def troika_remind_task() -> None:
    # Runs daily late in the month; the service acts only when 5 working days or fewer remain, and each compound-month
    # is told once (the notice key), so a rerun or a retried day tells nobody twice.
    troika_remind(url=reverse("troika_grid"))


@db_periodic_task(crontab(minute="*/5"))
def scorecards_warm_task() -> None:
    # The assessment page reads cached scorecards (`assessment.scorecard_cached`): computing this month and this year
    # here, before an entry expires or after the data moved, keeps the page's first byte fast.
    for street in Street.objects.all():
        scorecards_warm(street)

"""Periodic tasks of the text engine: the hourly retraining of classifiers that corrections made due."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ningju.insights.training import classifiers_retrain_due


@db_periodic_task(crontab(minute="41"))
def retrain_classifiers_task() -> None:
    """Retrain each street after `RETRAIN_AFTER_CORRECTIONS` corrections (or first train once it has enough)."""
    classifiers_retrain_due()

"""Huey tasks of the core app: the one task that runs any Job, and the hourly clean-up of result files."""

from datetime import timedelta

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from ningju.core.jobs import job_purge_outputs, job_run


@db_task()
def run_job_task(job_id: int) -> None:
    job_run(job_id)


@db_periodic_task(crontab(minute="17"))
def purge_job_outputs_task() -> None:
    job_purge_outputs(older_than=timedelta(hours=settings.NINGJU_JOB_OUTPUT_RETENTION_HOURS))

"""Huey tasks of the core app: the one task that runs any Job."""

from huey.contrib.djhuey import db_task

from ningju.core.jobs import job_run


@db_task()
def run_job_task(job_id: int) -> None:
    job_run(job_id)

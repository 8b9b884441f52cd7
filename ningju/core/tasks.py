"""Huey tasks of the core app: the one task that runs any Job, the hourly clean-up of result files, and the daily
audit retention and backup."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from ningju.core.audit import audit_purge
from ningju.core.backup import backup_create, backup_prune
from ningju.core.jobs import job_purge_outputs, job_run


@db_task()
def run_job_task(job_id: int) -> None:
    job_run(job_id)


@db_periodic_task(crontab(minute="17"))
def purge_job_outputs_task() -> None:
    job_purge_outputs(older_than=timedelta(hours=settings.NINGJU_JOB_OUTPUT_RETENTION_HOURS))


@db_periodic_task(crontab(hour="3", minute="41"))
def purge_audit_task() -> None:
    """Daily: delete audit rows older than NINGJU_AUDIT_KEEP_DAYS (never under 180 days), keeping the chain's anchor."""
    audit_purge()


@db_periodic_task(crontab(hour="2", minute="23"))
def backup_task() -> None:
    """Daily, when NINGJU_BACKUP_DIR is set: a backup (without the keys), and backups older than the retention go."""
    if not settings.NINGJU_BACKUP_DIR:
        return
    target = Path(settings.NINGJU_BACKUP_DIR)
    backup_create(target_dir=target)
    backup_prune(target_dir=target, keep_days=settings.NINGJU_BACKUP_KEEP_DAYS)

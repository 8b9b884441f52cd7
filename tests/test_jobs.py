"""Background jobs: progress and outcome recorded on the Job row; the Redis-backed queue when REDIS_URL is set."""

import pytest
from huey import RedisHuey

from ningju.core.errors import ApplicationError
from ningju.core.jobs import Progress, job_run, job_start
from ningju.core.models import Job, JobStatus
from tests.conftest import World

pytestmark = pytest.mark.django_db


def counting_handler(job: Job, progress: Progress) -> dict:
    for done in range(1, 4):
        progress(done, 3, f"第{done}步")
    return {"message": "完成了3步", "summary": ["3 rows"]}


def failing_handler(job: Job, progress: Progress) -> dict:
    raise ApplicationError("第2行「身份证号」：校验位错误", extra={"errors": [{"row": 2, "column": "身份证号"}]})


def crashing_handler(job: Job, progress: Progress) -> dict:
    raise RuntimeError("boom")


def test_job_runs_after_commit_and_records_success(world: World, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="test", handler=counting_handler, user=world.admin)
    job.refresh_from_db()
    assert (job.status, job.progress, job.message) == (JobStatus.SUCCEEDED, 100, "完成了3步")
    assert job.finished_at is not None


def test_job_failure_keeps_the_users_message_and_errors(world: World) -> None:
    job = Job.objects.create(kind="test", handler=f"{__name__}.failing_handler", created_by=world.admin)
    job_run(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "第2行「身份证号」：校验位错误"
    assert job.result["errors"][0]["column"] == "身份证号"


def test_job_crash_shows_a_generic_message(world: World) -> None:
    job = Job.objects.create(kind="test", handler=f"{__name__}.crashing_handler", created_by=world.admin)
    job_run(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "系统内部错误" in job.message


def test_job_page_is_only_for_its_owner(world: World, client) -> None:
    job = Job.objects.create(kind="test", handler=f"{__name__}.counting_handler", created_by=world.admin)
    client.force_login(world.cadre)
    assert client.get(f"/jobs/{job.pk}/").status_code == 403
    client.force_login(world.admin)
    assert client.get(f"/jobs/{job.pk}/").status_code == 200


def test_redis_queue_carries_a_job_to_the_worker(world: World) -> None:
    """The same task through a real Redis server (127.0.0.1:6379), as with REDIS_URL set."""
    huey = RedisHuey("ningju-test", url="redis://127.0.0.1:6379/15", immediate=False)
    huey.flush()
    run = huey.task()(job_run)
    job = Job.objects.create(kind="test", handler=f"{__name__}.counting_handler", created_by=world.admin)
    run(job.pk)
    assert huey.pending_count() == 1
    task = huey.dequeue()
    huey.execute(task)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    huey.flush()


def test_old_result_files_are_purged_but_the_job_row_stays(world: World, settings, tmp_path) -> None:
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from ningju.core.jobs import job_purge_outputs

    settings.MEDIA_ROOT = tmp_path
    old = Job.objects.create(
        kind="registry_export", handler="x", created_by=world.admin, status=JobStatus.SUCCEEDED
    )
    old.output_file.save("old.xlsx", ContentFile(b"clear ids"), save=False)
    old.finished_at = timezone.now() - timedelta(hours=30)
    old.save()
    fresh = Job.objects.create(
        kind="registry_export", handler="x", created_by=world.admin, status=JobStatus.SUCCEEDED
    )
    fresh.output_file.save("new.xlsx", ContentFile(b"clear ids"), save=False)
    fresh.finished_at = timezone.now()
    fresh.save()
    path = old.output_file.path

    assert job_purge_outputs(older_than=timedelta(hours=24)) == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert not old.output_file and fresh.output_file
    import os

    assert not os.path.exists(path)


def test_downloading_an_export_is_audited(world: World, client, settings, tmp_path) -> None:
    from django.core.files.base import ContentFile

    from ningju.core.models import AuditAction, AuditEntry

    settings.MEDIA_ROOT = tmp_path
    job = Job.objects.create(
        kind="registry_export", handler="x", created_by=world.admin, status=JobStatus.SUCCEEDED
    )
    job.output_file.save("e.xlsx", ContentFile(b"xlsx"), save=True)
    client.force_login(world.admin)
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.DOWNLOAD, target_id=str(job.pk)).count() == 1
    client.force_login(world.cadre)
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 403

"""Background jobs with progress: a Job row the web process writes, a huey task that runs it, a page that polls it.

A handler is a plain function `handler(job, progress) -> dict`; it raises `ApplicationError` for a failure the user
can fix (the message is shown as is) and anything else for a bug (logged; the user sees a generic message).

A job runs in the language of the request that started it (its messages, summaries and row errors are stored as
text): `params["_language"]`, written only when that is not the site's default language.
"""

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.core.models import Job, JobStatus

log = logging.getLogger("ningju.jobs")

LANGUAGE_PARAM = "_language"


class Progress:
    """Reports progress to the Job row, at most every half second so a fast loop does not hammer the database."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._last = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last < 0.5 and done < total:
            return
        self._last = now
        self.job.progress = min(100, int(100 * done / total)) if total else 0
        if message:
            self.job.message = message[:300]
        self.job.save(update_fields=["progress", "message"])


def job_start(
    *,
    kind: str,
    handler: Callable[..., dict[str, Any]] | str,
    user: Any,
    params: dict[str, Any] | None = None,
    input_file: File | None = None,
    input_name: str = "",
) -> Job:
    """Create the job and queue it once the surrounding transaction has committed."""
    from ningju.core.tasks import run_job_task

    path = handler if isinstance(handler, str) else f"{handler.__module__}.{handler.__qualname__}"
    params = dict(params or {})
    language = translation.get_language()
    if language and language != settings.LANGUAGE_CODE:
        params[LANGUAGE_PARAM] = language
    job = Job(kind=kind, handler=path, created_by=user, params=params, message=_("排队等待处理…"))
    if input_file is not None:
        job.input_file.save(input_name or getattr(input_file, "name", "input"), input_file, save=False)
    job.save()
    transaction.on_commit(lambda: run_job_task(job.pk))
    return job


def job_run(job_id: int) -> None:
    job = Job.objects.get(pk=job_id)
    language = job.params.get(LANGUAGE_PARAM)
    with translation.override(language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE):
        _run(job)


def _run(job: Job) -> None:
    job.status = JobStatus.RUNNING
    job.message = _("处理中…")
    job.save(update_fields=["status", "message"])
    try:
        handler = import_string(job.handler)
        result = handler(job, Progress(job))
    except ApplicationError as error:
        job.status, job.message, job.result = JobStatus.FAILED, error.message[:300], error.extra
    except Exception:
        log.exception("job %s (%s) failed", job.pk, job.kind)
        job.status, job.message = JobStatus.FAILED, _("处理失败：系统内部错误，请联系管理员。")
    else:
        job.status, job.progress, job.result = JobStatus.SUCCEEDED, 100, result or {}
        job.message = str(job.result.get("message", _("已完成")))[:300]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "progress", "message", "result", "finished_at", "output_file"])


def job_purge_outputs(*, older_than: timedelta) -> int:
    """Delete result files (exports may hold clear ID numbers) of jobs finished longer ago than `older_than`.
    The Job rows stay, so the history of who exported what remains; returns how many files were deleted."""
    stale = Job.objects.filter(finished_at__lt=timezone.now() - older_than).exclude(output_file="")
    count = 0
    for job in stale:
        job.output_file.delete(save=False)
        job.save(update_fields=["output_file"])
        count += 1
    return count

"""A background job speaks the language of the request that started it: its message, summary and row errors are
stored as text, read later on the job's page (an English import must not report in Chinese)."""

from typing import Any

import pytest
from django.utils import translation

from ningju.core.jobs import LANGUAGE_PARAM, job_run, job_start
from ningju.core.models import Job, JobKind
from tests.conftest import World

pytestmark = pytest.mark.django_db


def language_seen(job: Job, progress: Any) -> dict[str, Any]:
    return {"language": translation.get_language(), "message": translation.gettext("已完成")}


def start(world: World, language: str) -> Job:
    with translation.override(language):
        return job_start(kind=JobKind.ROLLUPS, handler=language_seen, user=world.admin, params={"street": 1})


def test_a_job_started_in_english_runs_in_english(world: World) -> None:
    job = start(world, "en")
    assert job.params == {"street": 1, LANGUAGE_PARAM: "en"}
    job_run(job.pk)  # the worker has no request: its own language is the default
    job.refresh_from_db()
    assert job.result["language"] == "en"
    assert translation.get_language() == "zh-hans"  # the worker's language is left as it was


def test_a_job_started_in_chinese_keeps_its_params_as_given(world: World) -> None:
    job = start(world, "zh-hans")
    assert job.params == {"street": 1}
    job_run(job.pk)
    job.refresh_from_db()
    assert job.result["language"] == "zh-hans"


def test_a_forged_language_parameter_falls_back_to_the_default(world: World) -> None:
    job = start(world, "zh-hans")
    job.params[LANGUAGE_PARAM] = "xx-evil"
    job.save()
    job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result["language"] == "zh-hans"

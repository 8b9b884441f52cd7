"""Background planning: a whole street's walks as a Job with progress (kind "visit_plan"), for the pages; the nightly
rolling re-plan of every street and the re-plan after each logged visit (see planner/rolling.py)."""

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from ningju.core.errors import ApplicationError
from ningju.core.jobs import Progress, job_run, job_start
from ningju.core.models import Job, JobKind, User
from ningju.core.scoping import require_street_admin
from ningju.registry.models import Street
from ningju.visits.models import Pairing, Visit

JOB_KIND = JobKind.VISIT_PLAN


def visit_plan_start(*, user: User, street: Street, start: date, days: int) -> Job:
    """Queue a plan of the street's walks for [start, start + days). Only a street administrator of the street
    re-plans a whole street (it replaces every cadre's coming routes)."""
    require_street_admin(user)
    if user.street_id != street.pk:
        raise ApplicationError(_("只能规划本街道的走访路线。"))
    return job_start(
        kind=JOB_KIND,
        handler=visit_plan_job,
        user=user,
        params={"street": street.code, "start": start.isoformat(), "days": days},
    )


def visit_plan_job(job: Job, progress: Progress) -> dict[str, Any]:
    """The job handler: plan the street named in the job's parameters, reporting progress per cadre."""
    from ningju.visits.planner import plan_street  # the solver loads only in the worker that plans

    params = job.params
    street = Street.objects.filter(code=str(params.get("street", ""))).first()
    if street is None:
        raise ApplicationError(_("没有代码为 %(code)s 的街道。") % {"code": params.get("street", "")})
    try:
        start = date.fromisoformat(str(params.get("start", "")))
        days = int(params.get("days", 0))
    except ValueError as error:
        raise ApplicationError(_("规划参数不正确：%(error)s") % {"error": error}) from error
    plan = plan_street(street=street, start=start, days=days, user=job.created_by, progress=progress)
    stats = plan.stats
    return {
        "message": _("已生成 %(routes)d 条走访路线（%(cadres)d 名干部，%(start)s 起 %(days)d 天）")
        % {"routes": stats["routes"], "cadres": stats["cadres"], "start": start.isoformat(), "days": days},
        "plan": plan.pk,
        "routes": stats["routes"],
        "household_visits": stats["household_visits"],
        "walk_m": stats["walk_m"],
    }


# -- rolling routes ----------------------------------------------------------------------------------------------

log = logging.getLogger("ningju.visits")

# The nightly re-plan runs at this local (Asia/Shanghai) time, before anyone walks: huey matches its crontabs in UTC.
NIGHTLY_AT = (0, 20)


def at_local_time(hour: int, minute: int) -> Callable[[datetime], bool]:
    """A huey schedule that fires once a day at hour:minute of the project's time zone, whatever huey's clock."""

    def validate(timestamp: datetime) -> bool:
        moment = timestamp.replace(tzinfo=UTC) if HUEY.utc else timezone.make_aware(timestamp)
        local = timezone.localtime(moment)
        return (local.hour, local.minute) == (hour, minute)

    return validate


def visit_replan_job(job: Job, progress: Progress) -> dict[str, Any]:
    """Job handler (kind "visit_plan", params street code and today): the rolling re-plan of one street."""
    from ningju.visits.planner.rolling import replan_street, replan_summary

    street = Street.objects.filter(code=str(job.params.get("street", ""))).first()
    if street is None:
        raise ApplicationError(_("没有代码为 %(code)s 的街道。") % {"code": job.params.get("street", "")})
    try:
        today = date.fromisoformat(str(job.params.get("today", "")))
    except ValueError as error:
        raise ApplicationError(_("规划参数不正确：%(error)s") % {"error": error}) from error
    summary = replan_summary(replan_street(street=street, today=today, user=job.created_by, progress=progress))
    return summary | {
        "message": _("已滚动更新 %(routes)d 条走访路线（%(cadres)d 名干部，%(start)s 起）")
        % {"routes": summary["routes"], "cadres": summary["cadres"], "start": today.isoformat()}
    }


def replan_streets(*, today: date, streets: list[Street] | None = None) -> list[Job]:
    """Re-plan each street (every street with a current pairing by default) as a VISIT_PLAN job run here, one after
    another: a street that fails (say, an office without coordinates) does not stop the others."""
    if streets is None:
        with_pairings = Pairing.objects.current().values("area__street_id")
        streets = list(Street.objects.filter(pk__in=with_pairings).order_by("code"))
    jobs = []
    for street in streets:
        job = Job.objects.create(
            kind=JOB_KIND,
            handler=f"{visit_replan_job.__module__}.{visit_replan_job.__qualname__}",
            params={"street": street.code, "today": today.isoformat(), "rolling": True},
            message=_("排队等待处理…"),
        )
        job_run(job.pk)
        job.refresh_from_db()
        jobs.append(job)
    return jobs


@db_periodic_task(at_local_time(*NIGHTLY_AT))
def replan_streets_nightly_task() -> None:
    """Nightly: every street's coming working days re-planned from the visit log."""
    replan_streets(today=timezone.localdate())


@db_task()
def replan_after_visit_task(visit_id: str) -> None:
    """After a visit is saved: re-plan the coming days of the cadres it concerns. Never raises: the visit is saved
    already, and the nightly run re-plans anyway."""
    from ningju.visits.planner.rolling import replan_after_visit

    try:
        visit = Visit.objects.select_related("household").filter(pk=visit_id).first()
        if visit is not None:
            replan_after_visit(visit=visit, today=timezone.localdate())
    except Exception:
        log.exception("re-plan after visit %s failed", visit_id)

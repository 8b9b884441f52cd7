"""Background planning: a whole street's walks as a Job with progress (kind "visit_plan"), for the pages."""

from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.core.jobs import Progress, job_start
from ningju.core.models import Job, JobKind, User
from ningju.core.scoping import require_street_admin
from ningju.registry.models import Street

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

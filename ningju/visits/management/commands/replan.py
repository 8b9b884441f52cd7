"""`ningju replan [--street CODE] [--today YYYY-MM-DD]`: the nightly rolling re-plan now — every street's coming
working days (or one street's) re-planned from the visit log, as VISIT_PLAN jobs."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core.models import JobStatus
from ningju.registry.models import Street
from ningju.visits.tasks import replan_streets


class Command(BaseCommand):
    help = _("滚动更新走访路线：按走访记录重新规划今后的工作日（每晚自动运行）")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--street", default="", help=_("街道代码（省略：所有街道）"))
        parser.add_argument("--today", default="", help=_("今天的日期 YYYY-MM-DD（省略：今天）"))

    def handle(self, *args: Any, street: str, today: str, **options: Any) -> None:
        try:
            on = date.fromisoformat(today) if today else timezone.localdate()
        except ValueError as error:
            raise CommandError(_("日期应为 YYYY-MM-DD：%(value)s") % {"value": today}) from error
        streets = None
        if street:
            found = Street.objects.filter(code=street).first()
            if found is None:
                raise CommandError(_("没有代码为 %(code)s 的街道。") % {"code": street})
            streets = [found]
        failed = False
        for job in replan_streets(today=on, streets=streets):
            line = f"{job.params['street']}: {job.message}"
            if job.status == JobStatus.SUCCEEDED:
                seconds = job.result.get("seconds", {}).get("total")
                self.stdout.write(self.style.SUCCESS(line + (f" ({seconds} s)" if seconds is not None else "")))
            else:
                failed = True
                self.stderr.write(self.style.ERROR(line))
        if failed:
            raise CommandError(_("有街道未能重新规划。"))

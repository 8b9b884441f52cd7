"""`ningju rollup [--street CODE] [--start YYYY-MM-DD] [--end YYYY-MM-DD]`: rebuild the dashboards' daily rollups.

Without dates it rebuilds the past year up to today; without a street, every street. Used after an import, after the
demo and by operators; the nightly task does the same for the recent days."""

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.insights.rollups import rollups_refresh
from ningju.registry.models import Street


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("日期“%(d)s”无效，格式为 YYYY-MM-DD。") % {"d": text}) from None


class Command(BaseCommand):
    help = _("重新计算看板和报告使用的每日汇总（默认：过去一年，全部街道）。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--street", default="", help=_("街道代码，如 310106006"))
        parser.add_argument("--start", default="", help=_("开始日期 YYYY-MM-DD（默认：一年前）"))
        parser.add_argument("--end", default="", help=_("结束日期 YYYY-MM-DD（默认：今天）"))

    def handle(self, *args: Any, street: str, start: str, end: str, **options: Any) -> None:
        last = _day(end) if end else timezone.localdate()
        first = _day(start) if start else last - timedelta(days=365)
        streets = Street.objects.order_by("code")
        if street:
            streets = streets.filter(code=street)
            if not streets.exists():
                raise CommandError(_("街道“%(c)s”不存在。") % {"c": street})
        for each in streets:
            try:
                result = rollups_refresh(street=each, start=first, end=last)
            except ApplicationError as error:
                raise CommandError(error.message) from None
            self.stdout.write(f"{each.name}：{result.message}（{result.seconds:.1f}s）")

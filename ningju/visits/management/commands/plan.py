"""`ningju plan --street CODE --start YYYY-MM-DD --days N --output plan.json [--dry-run]` plans the street's walks
and writes them (database and JSON); `ningju plan check plan.json` lists every rule the plan breaks."""

import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from ningju.core import workdays
from ningju.core.errors import ApplicationError
from ningju.registry.models import Street
from ningju.visits.planner import check_plan, plan_json, plan_street


class _DryRun(Exception):
    """Raised inside the transaction to roll the written plan back."""


class Command(BaseCommand):
    help = _(
        "规划走访路线：ningju plan --street 街道代码 --start 日期 --days 天数 --output plan.json；检查：ningju plan check plan.json"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="*", help=_("省略：规划；check 文件：检查计划文件"))
        parser.add_argument("--street", default="", help=_("街道代码（9位）"))
        parser.add_argument("--start", default="", help=_("开始日期 YYYY-MM-DD"))
        parser.add_argument("--days", type=int, default=0, help=_("天数（含非工作日）"))
        parser.add_argument("--output", default="", help=_("写入的 JSON 文件"))
        parser.add_argument("--dry-run", action="store_true", help=_("只写 JSON 文件，不保存到数据库"))
        parser.add_argument("--workers", type=int, default=None, help=_("并行进程数（默认按数据量自动选择）"))

    def handle(self, *args: Any, action: list[str], **options: Any) -> None:
        if action and action[0] == "check":
            if len(action) != 2:
                raise CommandError(_("用法：ningju plan check plan.json"))
            self._check(Path(action[1]))
        elif action:
            raise CommandError(_("未知的子命令：%(action)s（只有 check）") % {"action": " ".join(action)})
        else:
            self._plan(**options)

    def _plan(
        self,
        *,
        street: str,
        start: str,
        days: int,
        output: str,
        dry_run: bool,
        workers: int | None,
        **options: Any,
    ) -> None:
        if not street or not start or not days or not output:
            raise CommandError(_("请给出 --street、--start、--days 和 --output。"))
        try:
            first = date.fromisoformat(start)
        except ValueError as error:
            raise CommandError(_("开始日期应为 YYYY-MM-DD：%(value)s") % {"value": start}) from error
        found = Street.objects.filter(code=street).first()
        if found is None:
            raise CommandError(_("没有代码为 %(code)s 的街道。") % {"code": street})
        warning = workdays.calendar_warning(first, first + timedelta(days=max(days - 1, 0)))
        if warning:
            self.stderr.write(self.style.WARNING(warning))
        started = time.perf_counter()
        try:
            with transaction.atomic():
                plan = plan_street(street=found, start=first, days=days, workers=workers)
                data = plan_json(plan)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        except ApplicationError as error:
            raise CommandError(error.message) from error
        Path(output).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        seconds = time.perf_counter() - started
        stats = plan.stats
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "已规划 %(routes)d 条路线（%(cadres)d 名干部，%(households)d 次入户、%(patrols)d 次巡查），用时 %(seconds).1f 秒%(saved)s。"
                )
                % {
                    "routes": stats["routes"],
                    "cadres": stats["cadres"],
                    "households": stats["household_visits"],
                    "patrols": stats["patrol_visits"],
                    "seconds": seconds,
                    "saved": _("，未保存到数据库") if dry_run else _("，已保存到数据库"),
                }
            )
        )
        self.stdout.write(
            _(
                "  步行 %(km).1f 公里，平均每次入户 %(per).0f 米；求解器排序 %(solved)d 条；各阶段（秒）：%(seconds)s"
            )
            % {
                "km": stats["walk_m"] / 1000,
                "per": stats["walk_m_per_visit"],
                "solved": stats["solver_tours"],
                "seconds": stats["seconds"],
            }
        )
        self.stdout.write(_("  已写入 %(file)s") % {"file": output})

    def _check(self, path: Path) -> None:
        started = time.perf_counter()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(
                _("无法读取计划文件 %(file)s：%(error)s") % {"file": path, "error": error}
            ) from error
        try:
            violations = check_plan(data)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        for violation in violations:
            self.stdout.write(str(violation))
        seconds = time.perf_counter() - started
        routes = len(data.get("routes", []))
        if violations:
            raise CommandError(
                _("发现 %(n)d 处违反规则（%(routes)d 条路线，检查用时 %(seconds).1f 秒）。")
                % {"n": len(violations), "routes": routes, "seconds": seconds}
            )
        self.stdout.write(
            self.style.SUCCESS(
                _("未发现违反规则（%(routes)d 条路线，检查用时 %(seconds).1f 秒）。")
                % {"routes": routes, "seconds": seconds}
            )
        )

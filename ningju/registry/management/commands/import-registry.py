"""`ningju import-registry FILE [--user USERNAME]`: import a registry sheet from the command line.

Prints progress and every error with its row and column, and exits non-zero (having written nothing) when the
sheet has errors. Without --user the run is audited as the system actor and is not limited to one scope.
"""

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.registry.imports import SYSTEM_ACTOR, actor_named, import_registry


class Command(BaseCommand):
    help = _("从 xlsx 或 CSV 文件导入居民信息：先逐行校验，有错误则列出全部错误且不写入任何数据。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("要导入的 .xlsx 或 .csv 文件"))
        parser.add_argument(
            "--user", help=_("以该用户的身份和管理范围导入（记入历史和审计）；省略时记为 %s") % SYSTEM_ACTOR
        )

    def handle(self, *args: Any, file: str, user: str | None = None, **options: Any) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("文件不存在：%(f)s") % {"f": file})
        shown = -10

        def progress(done: int, total: int, message: str = "") -> None:
            nonlocal shown
            percent = int(100 * done / total) if total else 0
            if percent >= shown + 10 or percent == 100:
                shown = percent
                self.stdout.write(f"{percent:3d}% {message}")

        try:
            importer = actor_named(user)
            result = import_registry(source=path, filename=path.name, user=importer, progress=progress)
        except PermissionDenied as refused:
            raise CommandError(str(refused)) from refused
        except ApplicationError as failure:
            for error in failure.extra.get("errors", []):
                where = _("第 %(row)s 行") % {"row": error["row"]} if error.get("row") else _("表头")
                self.stderr.write(f"{where} [{error['column']}]: {error['message']}")
            for line in failure.extra.get("summary", []):
                self.stderr.write(line)
            raise CommandError(failure.message) from failure
        for line in result.summary:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(result.as_job_result()["message"]))

"""`ningju import-hotline FILE --street CODE --user USERNAME [--dry-run]`: import a 12345 export from the command line.

Prints the counts, or every error with its row and column and exits non-zero having written nothing. The user must
be a street administrator of that street: demands need a first-contact owner, and the import is audited as theirs.
"""

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.core.models import User
from ningju.demands.hotline import import_hotline


class Command(BaseCommand):
    help = _("从 xlsx 或 CSV 文件导入12345工单为诉求：先逐行校验，有错误则列出全部错误且不写入任何数据。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("要导入的 .xlsx 或 .csv 文件"))
        parser.add_argument("--street", required=True, help=_("街道代码，如 310106006"))
        parser.add_argument("--user", required=True, help=_("以该街道管理员的身份导入（记入审计）"))
        parser.add_argument("--dry-run", action="store_true", help=_("只校验，不写入"))

    def handle(self, *args: Any, file: str, street: str, user: str, dry_run: bool = False, **options: Any) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("文件不存在：%(f)s") % {"f": file})
        importer = User.objects.select_related("street").filter(username=user).first()
        if importer is None:
            raise CommandError(_("用户“%(u)s”不存在。") % {"u": user})
        if importer.street is None or importer.street.code != street:
            raise CommandError(_("用户“%(u)s”不是街道 %(s)s 的管理员。") % {"u": user, "s": street})

        def progress(done: int, total: int, message: str = "") -> None:
            if options.get("verbosity", 1) > 1:
                self.stdout.write(f"{int(100 * done / total) if total else 0:3d}% {message}")

        try:
            result = import_hotline(
                source=path, filename=path.name, user=importer, progress=progress, dry_run=dry_run
            )
        except PermissionDenied as refused:
            raise CommandError(str(refused)) from refused
        except ApplicationError as failure:
            for item in failure.extra.get("errors", []):
                where = _("第%(row)d行") % {"row": item["row"]} if item.get("row") else _("表头")
                self.stderr.write(f"{where} {item['column']}：{item['message']}")
            for line in failure.extra.get("summary", []):
                self.stderr.write(line)
            raise CommandError(failure.message) from failure
        for line in result.summary:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(result.as_job_result()["message"]))

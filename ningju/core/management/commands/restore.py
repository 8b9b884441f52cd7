"""`ningju restore BACKUP_DIR [--keys] [--force]`: check a backup's manifest and restore it (see core/backup.py)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ningju.core.backup import backup_restore
from ningju.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Restore a backup made by `ningju backup` into the configured database, then compare row counts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup_dir")
        parser.add_argument(
            "--keys", action="store_true", help="install the backup's key files into var/ (made with --with-keys)"
        )
        parser.add_argument("--force", action="store_true", help="overwrite a database that is not empty")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup_restore(
                folder=Path(options["backup_dir"]), use_backup_keys=options["keys"], force=options["force"]
            )
        except ApplicationError as error:
            raise CommandError(str(error)) from error
        for table, (expected, found) in sorted(result.mismatches.items()):
            self.stderr.write(
                _("%(table)s：清单 %(expected)d 行，恢复后 %(found)d 行")
                % {"table": table, "expected": expected, "found": found}
            )
        if result.keys_installed:
            self.stdout.write(
                _("已安装密钥文件：%(keys)s；请重启服务。") % {"keys": ", ".join(result.keys_installed)}
            )
        if result.mismatches:
            raise CommandError(_("恢复后有 %(count)d 张表的行数与清单不符。") % {"count": len(result.mismatches)})
        self.stdout.write(
            _("恢复完成：%(tables)d 张表的行数与清单一致（%(seconds).1f 秒）。")
            % {"tables": len(result.row_counts), "seconds": result.seconds}
        )

"""`ningju backup [--dir D] [--with-keys]`: a consistent copy of the database with its manifest (see core/backup.py)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ningju.core.backup import backup_create
from ningju.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Back up the database (SQLite online backup or pg_dump -Fc) with a manifest; --with-keys adds the key files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", default=settings.NINGJU_BACKUP_DIR or str(Path(settings.VAR_DIR) / "backups"))
        parser.add_argument(
            "--with-keys",
            action="store_true",
            help="also copy the key files (field, secret, look-up key) into the backup's keys/ folder (0600)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup_create(target_dir=Path(options["dir"]), with_keys=options["with_keys"])
        except ApplicationError as error:
            raise CommandError(str(error)) from error
        manifest = result.manifest
        self.stdout.write(
            _("备份完成：%(folder)s（%(size).1f MB，%(tables)d 张表，%(seconds).1f 秒）")
            % {
                "folder": result.folder,
                "size": manifest["size"] / 1e6,
                "tables": len(manifest["row_counts"]),
                "seconds": result.seconds,
            }
        )
        if options["with_keys"]:
            self.stdout.write(
                _("密钥文件在 %(keys)s：请与数据库备份分开保管。") % {"keys": result.folder / "keys"}
            )

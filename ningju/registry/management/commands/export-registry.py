"""`ningju export-registry FILE [--area CODE] [--unmasked --reason R --user U]`: export the registry to xlsx.

Masked unless --unmasked is given with a street administrator's --user and a --reason. Every run is audited; without
--user it is audited as the system actor.
"""

from io import BytesIO
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.registry.exports import export_registry
from ningju.registry.imports import SYSTEM_ACTOR, actor_named


class Command(BaseCommand):
    help = _("把居民信息导出为 xlsx（默认脱敏），列与导入模板一致。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("要写入的 .xlsx 文件"))
        parser.add_argument("--area", default="", help=_("只导出该居民区（12位代码）"))
        parser.add_argument(
            "--unmasked", action="store_true", help=_("导出完整身份证号和手机号（须 --user 与 --reason）")
        )
        parser.add_argument("--reason", default="", help=_("导出事由（记入审计）"))
        parser.add_argument("--user", help=_("以该用户的身份和管理范围导出；省略时记为 %s") % SYSTEM_ACTOR)

    def handle(
        self,
        *args: Any,
        file: str,
        area: str,
        unmasked: bool,
        reason: str,
        user: str | None = None,
        **options: Any,
    ) -> None:
        path = Path(file)
        if path.suffix.lower() != ".xlsx":
            raise CommandError(_("导出文件名须以 .xlsx 结尾。"))
        buffer = BytesIO()
        try:
            exporter = actor_named(user)
            result = export_registry(
                user=exporter, target=buffer, area_code=area, unmasked=unmasked, reason=reason
            )
        except ApplicationError as failure:
            raise CommandError(failure.message) from failure
        except PermissionDenied as refused:
            raise CommandError(str(refused)) from refused
        path.write_bytes(buffer.getvalue())
        masked = _("已脱敏") if result.masked else _("未脱敏")
        self.stdout.write(
            self.style.SUCCESS(
                _("已导出 %(n)d 位居民（%(scope)s，%(masked)s）到 %(file)s")
                % {"n": result.rows, "scope": result.scope, "masked": masked, "file": path}
            )
        )

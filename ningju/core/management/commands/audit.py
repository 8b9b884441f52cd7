"""`ningju audit verify|seal|purge`: check the audit log's hash chain, seal rows written before it, apply retention."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core.audit import audit_purge, audit_seal, audit_verify

PROBLEMS = {
    "edited": gettext_lazy("内容被修改（哈希不符）"),
    "link": gettext_lazy("与前一条不衔接：其前有记录被删除或插入"),
    "missing_before": gettext_lazy("链的开头不衔接：最早的记录被删除，且没有保留期清理的记录"),
    "unsealed": gettext_lazy("没有哈希（未封存或被清空）"),
}


class Command(BaseCommand):
    help = "Verify the audit log's hash chain (verify), seal rows written before the chain (seal), purge old rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "seal", "purge"])

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "seal":
            head = audit_seal()
            self.stdout.write(_("审计记录已封存，链尾哈希：%(head)s") % {"head": head or "-"})
        elif action == "purge":
            deleted = audit_purge()
            self.stdout.write(_("已清理超过保留期的审计记录 %(count)d 条。") % {"count": deleted})
        else:
            report = audit_verify()
            if not report.intact:
                raise CommandError(
                    _("审计链在第 %(id)d 条记录处断开：%(problem)s。此前 %(checked)d 条完好。")
                    % {"id": report.broken_id, "problem": PROBLEMS[report.problem], "checked": report.checked}
                )
            self.stdout.write(
                _("审计链完好：%(checked)d 条记录，链尾哈希 %(head)s")
                % {"checked": report.checked, "head": report.head or "-"}
            )

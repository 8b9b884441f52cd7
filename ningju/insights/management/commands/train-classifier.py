"""`ningju train-classifier --street 310106006`: train a street's category classifier now, as the hourly task or the
model page's button does, and print how it went.

    ningju train-classifier --street 310106006
    ningju train-classifier --street 310106006 --bootstrap F.xlsx --text-cols 诉求内容 --label-col 分类
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.insights.training import classifier_bootstrap, classifier_train
from ningju.registry.models import Street


class Command(BaseCommand):
    help = _("训练街道的诉求分类模型")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--street", required=True, help=_("街道代码，如 310106006"))
        parser.add_argument("--bootstrap", default="", help=_("已分类的诉求表（.csv 或 .xlsx），用于起步"))
        parser.add_argument("--text-cols", default="诉求内容", help=_("文本列，逗号分隔"))
        parser.add_argument("--label-col", default="分类", help=_("分类列"))

    def handle(self, *args: Any, **options: Any) -> None:
        street = Street.objects.filter(code=options["street"].strip()).first()
        if street is None:
            raise CommandError(_("没有代码为 %(code)s 的街道。") % {"code": options["street"]})
        started = time.monotonic()
        try:
            if options["bootstrap"]:
                columns = [c.strip() for c in options["text_cols"].replace("，", ",").split(",") if c.strip()]
                model = classifier_bootstrap(
                    street=street, file=options["bootstrap"], text_cols=columns, label_col=options["label_col"]
                )
            else:
                model = classifier_train(street=street)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        f1 = f"{model.macro_f1:.3f}" if model.macro_f1 is not None else "—"
        self.stdout.write(
            _("样本 %(samples)s 条，分类 %(labels)s 个，宏平均F1 %(f1)s，用时 %(seconds)s 秒，模型文件 %(file)s")
            % {
                "samples": model.samples,
                "labels": model.labels,
                "f1": f1,
                "seconds": f"{time.monotonic() - started:.1f}",
                "file": model.file,
            }
        )

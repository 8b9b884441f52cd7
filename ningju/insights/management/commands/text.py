"""`ningju text train|classify|cluster`: the text engine on CSV/xlsx files (bootstrapping and benchmarks).

    ningju text train --input F --text-cols 留言主题,留言详情 --label-col 一级标签 --model M
    ningju text classify --model M --input F --text-cols 留言主题,留言详情 --id-col 留言编号 --output P.csv
    ningju text cluster --input F --id-col 留言编号 --text-cols 留言主题,留言详情 [--time-col 留言时间] --output C.csv

Output is UTF-8 CSV: `id,label,score` one row per input row in input order; `id,cluster` every id once. Bad input
(a missing column, a duplicate id, an unreadable model) stops with a Chinese message and writes nothing.
"""

import csv
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.insights.text.io import DemandRows, read_demands


def _columns(value: str) -> list[str]:
    return [c.strip() for c in value.replace("，", ",").split(",") if c.strip()]


class Command(BaseCommand):
    help = _("文本引擎：训练分类模型（train）、批量分类（classify）、相似聚类（cluster）")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="train|classify|cluster")
        train = actions.add_parser("train", help=_("从带标签的文件训练分类模型"))
        classify = actions.add_parser("classify", help=_("用模型为文件中的每一行分类"))
        cluster = actions.add_parser("cluster", help=_("把相似的留言归为一类"))
        for sub in (train, classify, cluster):
            sub.add_argument("--input", required=True, help=_("输入文件（.csv 或 .xlsx）"))
            sub.add_argument("--text-cols", required=True, help=_("文本列，逗号分隔"))
        train.add_argument("--label-col", required=True, help=_("标签列"))
        train.add_argument("--model", required=True, help=_("模型文件（写入）"))
        classify.add_argument("--model", required=True, help=_("模型文件（读取）"))
        for sub in (classify, cluster):
            sub.add_argument("--id-col", required=True, help=_("编号列"))
            sub.add_argument("--output", required=True, help=_("输出 CSV 文件"))
        cluster.add_argument("--time-col", default="", help=_("时间列（可选：只在时间窗口内归类）"))
        cluster.add_argument("--window-days", type=int, default=30, help=_("时间窗口（天）"))

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        started = time.perf_counter()
        try:
            if action == "train":
                self._train(**options)
            elif action == "classify":
                self._classify(**options)
            else:
                self._cluster(**options)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(_("用时 %(seconds).1f 秒。") % {"seconds": time.perf_counter() - started})

    def _read(self, options: dict[str, Any], **columns: str) -> DemandRows:
        path = Path(options["input"])
        if not path.is_file():
            raise CommandError(_("找不到输入文件：%(path)s") % {"path": path})
        text_cols = _columns(options["text_cols"])
        if not text_cols:
            raise CommandError(_("请用 --text-cols 给出至少一个文本列。"))
        return read_demands(path, text_cols=text_cols, **columns)

    def _train(self, **options: Any) -> None:
        from ningju.insights.text.classifier import train

        rows = self._read(options, label_col=options["label_col"])
        usable = sum(1 for t, y in zip(rows.texts, rows.labels, strict=True) if t and y)
        skipped = len(rows.texts) - usable
        # several text columns: the first one (the subject) is also read on its own
        several = len(_columns(options["text_cols"])) > 1
        model = train(rows.fields if several else rows.texts, rows.labels)
        model.save(options["model"])
        self.stdout.write(
            self.style.SUCCESS(
                _("已训练分类模型：%(rows)d 行，%(labels)d 个标签，已写入 %(model)s。")
                % {"rows": usable, "labels": len(model.classes), "model": options["model"]}
            )
        )
        if skipped:
            self.stdout.write(_("  跳过 %(count)d 行（文本或标签为空）。") % {"count": skipped})

    def _classify(self, **options: Any) -> None:
        from ningju.insights.text.classifier import TextClassifier

        model = TextClassifier.load(options["model"])
        rows = self._read(options, id_col=options["id_col"])
        results = model.predict(rows.fields)
        with open(options["output"], "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["id", "label", "score"])
            for identifier, text, (label, score) in zip(rows.ids, rows.texts, results, strict=True):
                # an empty text still gets its row (the contract is one row per input row), with no label
                writer.writerow([identifier, label if text else "", f"{score:.4f}" if text else "0"])
        counts: dict[str, int] = {}
        for (label, _score), text in zip(results, rows.texts, strict=True):
            if text:
                counts[label] = counts.get(label, 0) + 1
        summary = "、".join(f"{label} {count}" for label, count in sorted(counts.items(), key=lambda i: -i[1]))
        self.stdout.write(
            self.style.SUCCESS(
                _("已分类 %(rows)d 行，写入 %(output)s：%(summary)s")
                % {"rows": len(rows.texts), "output": options["output"], "summary": summary or _("（无）")}
            )
        )

    def _cluster(self, **options: Any) -> None:
        from ningju.insights.text.cluster import cluster

        rows = self._read(options, id_col=options["id_col"], time_col=options["time_col"])
        seen: set[str] = set()
        for number, identifier in zip(rows.row_numbers, rows.ids, strict=True):
            if not identifier:
                raise CommandError(_("第 %(row)d 行没有编号。") % {"row": number})
            if identifier in seen:
                raise CommandError(_("第 %(row)d 行的编号 %(id)s 重复。") % {"row": number, "id": identifier})
            seen.add(identifier)
        times = rows.times if options["time_col"] else None
        labels = cluster(rows.ids, rows.texts, times, window_days=options["window_days"])
        with open(options["output"], "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["id", "cluster"])
            for identifier in rows.ids:
                writer.writerow([identifier, labels[identifier]])
        sizes: dict[str, int] = {}
        for label in labels.values():
            sizes[label] = sizes.get(label, 0) + 1
        grouped = [s for s in sizes.values() if s > 1]
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "已聚类 %(rows)d 条留言：%(clusters)d 类，其中 %(groups)d 类含多条（共 %(grouped)d 条），写入 %(output)s。"
                )
                % {
                    "rows": len(rows.ids),
                    "clusters": len(sizes),
                    "groups": len(grouped),
                    "grouped": sum(grouped),
                    "output": options["output"],
                }
            )
        )
        if options["time_col"]:
            undated = sum(1 for t in rows.times if t is None)
            if undated:
                self.stdout.write(_("  %(count)d 行的时间无法识别，只按文本归类。") % {"count": undated})

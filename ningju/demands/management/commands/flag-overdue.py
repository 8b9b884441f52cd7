"""`ningju flag-overdue`: flag yellow and red demand deadlines now and notify, as the 15-minute task does."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import translation
from django.utils.translation import gettext as _

from ningju.demands.overdue import demands_flag_overdue


class Command(BaseCommand):
    help = "Flag demands whose deadline is near (yellow) or past (red) and notify the people concerned."

    def handle(self, *args: Any, **options: Any) -> None:
        result = demands_flag_overdue()
        with translation.override("zh-hans"):
            self.stdout.write(
                _(
                    "检查在办诉求%(checked)d条：黄色预警%(yellow)d条，红色预警%(red)d条，"
                    "解除预警%(cleared)d条，新发通知%(notified)d条。"
                )
                % {
                    "checked": result.checked,
                    "yellow": result.yellow,
                    "red": result.red,
                    "cleared": result.cleared,
                    "notified": result.notified,
                }
            )

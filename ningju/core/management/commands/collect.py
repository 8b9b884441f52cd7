"""`ningju collect`: collect the static files whitenoise serves, with the one list of what is left out.

`ningju serve` runs it before it starts gunicorn, and the browser tests collect the same way, so what they test is
what ships.
"""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

# ECharts ships source maps and unminified builds beside echarts.min.js; only the minified build is served.
# Only ECharts' own files: other packages' source maps (the API docs' redoc) are referenced and must be collected.
STATIC_IGNORE = (
    "echarts*.map",
    "echarts*.mjs",
    "echarts.js",
    "echarts.common.js",
    "echarts.esm.js",
    "echarts.simple.js",
    "extension",
)


def collect_static() -> None:
    """Collect into STATIC_ROOT, with hashed names and the manifest when the storage keeps one."""
    try:
        call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=list(STATIC_IGNORE))
    except (OSError, ValueError) as error:  # an unwritable folder; a file a stylesheet refers to is missing
        raise CommandError(
            _("无法把静态文件收集到 %(root)s（%(error)s）。没有这些文件，每个页面都会出错，因此服务没有启动。")
            % {"root": settings.STATIC_ROOT, "error": error}
        ) from error


class Command(BaseCommand):
    help = "Collect the static files whitenoise serves into STATIC_ROOT (what `ningju serve` does first)."

    def handle(self, *args: Any, **options: Any) -> None:
        collect_static()

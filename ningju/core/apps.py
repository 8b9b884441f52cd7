"""The core app: users, roles, scoping, audit, jobs."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "ningju.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from ningju.core import signals  # noqa: F401  (connects the login audit receivers)

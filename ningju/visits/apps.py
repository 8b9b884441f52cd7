"""The visits app (四百走访)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "ningju.visits"
    label = "visits"
    verbose_name = _("四百走访")

    def ready(self) -> None:
        from ningju.visits import signals  # noqa: F401  (connects the re-plan after each logged visit)

"""The visits app (四百走访)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "ningju.visits"
    label = "visits"
    verbose_name = _("四百走访")

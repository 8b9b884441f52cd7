"""The insights app (数治化)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "ningju.insights"
    label = "insights"
    verbose_name = _("数治化")

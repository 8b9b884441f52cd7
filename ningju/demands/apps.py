"""The demands app (诉求与分级吹哨响应)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemandsConfig(AppConfig):
    name = "ningju.demands"
    label = "demands"
    verbose_name = _("诉求")

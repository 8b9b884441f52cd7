"""The registry app (数据底座)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "ningju.registry"
    label = "registry"
    verbose_name = _("数据底座")

"""The REST API under /api/v1/."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "ningju.api"
    label = "api"
    verbose_name = "API"

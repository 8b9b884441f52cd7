"""The REST API under /api/v1/."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "ningju.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from ningju.api import schema, tokens  # noqa: F401  # the token receivers and the schema's token scheme

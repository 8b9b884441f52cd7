"""The OpenAPI description of the API's token authentication (knox's hashed, expiring tokens)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <token>`, named `tokenAuth` as DRF's own token scheme was, so clients keep their
    configuration."""

    target_class = "ningju.api.tokens.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                'Token-based authentication with the prefix "Token": `Authorization: Token <token>`. '
                "Get a token from POST /api/v1/auth/token/; it expires after a period without use."
            ),
        }

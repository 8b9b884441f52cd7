"""Request middleware of the core app: the forced password change after an administrator's reset, and the
Permissions-Policy header."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from ningju.api.errors import error_body
from ningju.core.passwords import PASSWORD_CHANGE_REQUIRED, must_change_password

Handler = Callable[[HttpRequest], HttpResponseBase]


class PasswordChangeRequiredMiddleware:
    """A user whose password an administrator has reset reaches only the password change page (and can sign out)
    until they have chosen their own password: the temporary one was seen by someone else. API calls by such a
    session get the API's error body; the token endpoint gives them no token in the first place."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if must_change_password(getattr(request, "user", None)) and not self._allowed(request.path):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    error_body(str(PASSWORD_CHANGE_REQUIRED), "password_change_required"), status=403
                )
            return redirect("password_change")
        return self.get_response(request)

    @staticmethod
    def _allowed(path: str) -> bool:
        open_paths = (reverse("password_change"), reverse("logout"), reverse("set_language"), reverse("healthz"))
        static = "/" + settings.STATIC_URL.lstrip("/")
        # The second factor comes first (MFAMiddleware sends an unverified session to these pages): refusing them
        # here would send a reset street administrator back and forth between the two middlewares.
        second_factor = path.startswith("/accounts/mfa/")
        return path in open_paths or path.startswith(static) or second_factor


# Powerful browser features the pages may use: the visit form records where a visit took place (GPS) and takes
# photos; nothing uses the microphone, payments, USB or the other sensors, and no embedded page may use any.
PERMISSIONS_POLICY = ", ".join(
    [
        "geolocation=(self)",
        "camera=(self)",
        "microphone=()",
        "payment=()",
        "usb=()",
        "serial=()",
        "bluetooth=()",
        "hid=()",
        "midi=()",
        "magnetometer=()",
        "gyroscope=()",
        "accelerometer=()",
        "display-capture=()",
        "browsing-topics=()",
    ]
)


class PermissionsPolicyMiddleware:
    """Every response states which browser features the site may use (Django has no setting for this header)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response

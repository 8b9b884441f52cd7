"""Until the session has passed the second factor, a user who needs one sees only the verify or enrolment page."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from ningju.api.errors import error_body
from ningju.core import mfa

# Reachable before the second factor: the MFA pages themselves, leaving, static files, the language switch, the
# health check, and the API's token endpoint (which asks for its own code).
OPEN_NAMES = ("mfa_verify", "mfa_enrol", "logout", "healthz", "set_language", "api_token")


class MFAMiddleware:
    """A user with an authenticator (required or chosen) must enter a code after the password; a user for whom MFA
    is required and who has none must enrol first; /admin/ needs a verified session for any member of staff.
    Must follow django_otp's OTPMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not mfa.is_verified(user) and not self._is_open(request.path):
            enrolled = mfa.is_enrolled(user)
            admin_path = request.path.startswith(reverse("admin:index"))
            if enrolled or mfa.mfa_required(user) or (admin_path and user.is_staff):
                return self._refuse(request, "mfa_verify" if enrolled else "mfa_enrol")
        return self.get_response(request)

    @staticmethod
    def _is_open(path: str) -> bool:
        if path.startswith(settings.STATIC_URL or "/static/"):
            return True
        return any(path == reverse(name) for name in OPEN_NAMES)

    @staticmethod
    def _refuse(request: HttpRequest, page: str) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse(error_body(_("请先完成两步验证。"), "mfa_required"), status=403)
        url = reverse(page)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return redirect(url)

"""The request type of signed-in pages: `request.user` is our User, `request.htmx` is set by django-htmx."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from ningju.core.models import User


class AuthedRequest(HttpRequest):
    """Annotate views behind @login_required with this, so the type checker knows the user is a real User."""

    user: User
    htmx: HtmxDetails

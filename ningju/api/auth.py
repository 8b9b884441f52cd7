"""Issuing API tokens through the same authentication path as the sign-in page: django-axes lockout, audit log."""

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction


def lockout_message() -> str:
    cool_off = get_cool_off()
    if cool_off is None:
        return _("连续登录失败次数过多，该账号已被锁定。请联系街道管理员解锁。")
    minutes = max(1, round(cool_off.total_seconds() / 60))
    return _("连续登录失败次数过多，该账号已被暂时锁定。请%(minutes)d分钟后再试，或联系街道管理员解锁。") % {
        "minutes": minutes
    }


def token_obtain(*, request: Request, username: str, password: str) -> Token:
    """The API token of the user with these credentials (made on first use).

    `authenticate()` runs every configured backend, axes first: a locked account is refused even with the right
    password, each failure counts towards the lockout and fires `user_login_failed` (which the audit log
    records). It gets DRF's request, as DRF's own token view does, so that axes marks the lockout on it and the
    answer stays this endpoint's JSON rather than the sign-in page's HTML lockout page.
    """
    user = authenticate(request=request, username=username, password=password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            raise PermissionDenied(lockout_message())
        raise ApplicationError(_("用户名或密码不正确。"))
    # What a successful sign-in does, without `user_logged_in`: its receivers expect a browser session (axes
    # would create one), and a token client has none.
    if settings.AXES_RESET_ON_SUCCESS:
        AxesProxyHandler.reset_attempts(username=user.get_username())
    update_last_login(type(user), user)
    audit(user=user, action=AuditAction.LOGIN, detail={"via": "api_token"}, request=request._request)
    token, _created = Token.objects.get_or_create(user=user)
    return token
